/**
 * A small ala2-sized score model built with src/core/nn for the sampler tests: score-MLP
 * 66 → 64×2 → 66 with random (seeded) weights everywhere, the output layer included, so the
 * network really contributes to the score (an untrained zero output layer would make it analytic).
 */
import { exportModelBytes } from '../../core/nn/export'
import { initParams, paramDefs, type ArchConfig } from '../../core/nn/arch'
import { fillNormals } from '../../core/rng/normals'

export function tinyModel(reference: Float32Array): { bytes: Uint8Array; card: Record<string, unknown> } {
  const dim = reference.length
  const cfg: ArchConfig = { arch: 'score-mlp', dim, width: 64, depth: 2, embDim: 16 }
  const params = initParams(cfg, 11)
  const defs = paramDefs(cfg)
  defs.forEach((d, i) => {
    if (d.name === 'wo') {
      const w = params[i]!
      fillNormals(w, 12, 0, 0)
      for (let k = 0; k < w.length; k++) w[k]! *= 0.3 / Math.sqrt(d.fanIn)
    }
  })
  const sigmaData = 0.5
  const bytes = exportModelBytes(cfg, params, { mean: reference, sigmaData })
  const card = {
    format: 'diffmd-model-card',
    version: 1,
    name: 'tiny-test-model',
    architecture: { arch: 'score-mlp', width: 64, depth: 2, embDim: 16, parameters: 0 },
    dim,
    aligned: true,
    mean: Array.from(reference),
    reference: Array.from(reference),
    sigmaData,
    sigmaRange: [0.005, 5],
  }
  return { bytes, card }
}
