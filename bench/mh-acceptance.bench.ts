/**
 * The Metropolis-corrected adapter step (mode bridge-mh; docs/sampler-integrators.md §2) on a
 * learned energy model: the distribution of its log acceptance ratio ln α over one step from B
 * training snapshots, for several numbers M of reverse steps and Δt. If ln α scales as 1/M the
 * rejections come from the discretised down kernel, not from the model's inconsistency (which does
 * not shrink with M). Ziggurat noise, seed 3, replica b on stream b; D = 0.0498868 Å²/ps.
 *
 * --kernels em,covariance also runs the preconditioned down kernel with the covariance of all the
 * training frames (metropolis.ts covariancePreconditioner).
 *
 *   npm run bench:mh -- [--model FILE.onnx] [--data SNAPSHOTS] [--ms 10,20,40,80,160] [--dts 0.5,1,2,5] [--batch 256] [--kernels em]
 * Without --model: resources/models/ala2-default.onnx with its ala2 snapshots.
 */
import path from 'node:path'
import { findRoot } from './root'
import { openModelFile } from '../src/services/models/open'
import { loadTrainingFrames } from '../src/services/models/training-data'
import { AdapterStep } from '../src/core/sampler/adapter-step'
import { fillNormalsOf } from '../src/core/rng/normals'
import { covariancePreconditioner } from '../src/core/sampler/metropolis'

const root = findRoot()
const argv = process.argv.slice(2)
const arg = (name: string, dflt?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const modelFile = path.resolve(arg('model', path.join(root, 'resources/models/ala2-default.onnx'))!)
const dataFile = path.resolve(arg('data', path.join(root, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz'))!)
const Ms = arg('ms', '10,20,40,80,160')!.split(',').map(Number)
const dts = arg('dts', '0.5,1,2,5')!.split(',').map(Number)
const B = Number(arg('batch', '256'))
const kernels = arg('kernels', 'em')!.split(',')
const D = 0.0498868

const o = await openModelFile(modelFile)
const card = o.card
if (!card?.sigmaData) throw new Error(`${modelFile}: needs a card with sigmaData`)
const lf = await loadTrainingFrames(dataFile, { indices: card.atoms?.indices, align: card.aligned, reference: o.model.reference })
const d = card.dim
const stride = Math.max(1, Math.floor(lf.nFrames / B))
const y = new Float32Array(B * d)
for (let b = 0; b < B; b++) y.set(lf.frames.subarray(((b * stride) % lf.nFrames) * d, (((b * stride) % lf.nFrames) + 1) * d), b * d)
console.log(`bridge-mh, one step from ${B} snapshots (every ${stride}th) of ${path.basename(dataFile)}, model ${path.basename(modelFile)}, σ_min = 0.05·σ_data`)
const pre = kernels.includes('covariance') ? covariancePreconditioner(lf.frames, lf.nFrames, d) : undefined
console.log('| kernel | M | Δt ps | ln α 10 % | ln α median | ln α 90 % | mean min(1, α) | accepted |')
console.log('|---|---|---|---|---|---|---|---|')
for (const kernel of kernels) for (const M of Ms) {
  for (const dt of dts) {
    const st = new AdapterStep(o.model, { mode: 'bridge-mh', eta: D * dt, denoiseSteps: M, sigmaMin: 0.05 * card.sigmaData, ...(kernel === 'covariance' ? { mhPreconditioner: pre } : {}) }, B)
    const P = st.noiseSize
    const noise = new Float32Array(B * P)
    for (let b = 0; b < B; b++) fillNormalsOf('ziggurat', noise, 3, b, 0, b * P, P)
    await st.step(y, noise, B, new Float32Array(B * d))
    const la = Array.from(st.logAlpha).sort((a, b) => a - b)
    const q = (p: number): string => la[Math.floor(p * (la.length - 1))]!.toFixed(1)
    const mean = la.reduce((a, v) => a + Math.min(1, Math.exp(v)), 0) / la.length
    console.log(`| ${kernel} | ${M} | ${dt} | ${q(0.1)} | ${q(0.5)} | ${q(0.9)} | ${mean.toFixed(3)} | ${st.accepted.reduce((a, v) => a + v, 0)}/${B} |`)
  }
}
await o.model.dispose()
