/**
 * rebuildModelBytes (src/core/nn/export.ts): an exported model written again by this version's
 * export keeps its weights bit for bit, and the shipped default model rebuilt gives the stored
 * file's score and energy to float32 rounding (docs/speed.md "The energy model's gradient").
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { exportModelBytes, rebuildModelBytes } from '../../../src/core/nn/export'
import { initParams, type ArchConfig } from '../../../src/core/nn/arch'
import { ort, values } from './helpers'

const root = path.resolve(__dirname, '../../..')

async function run(bytes: Uint8Array, x: Float32Array, sigma: Float32Array, d: number): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 })
  try {
    const o = await s.run({ x: new ort.Tensor('float32', x, [sigma.length, d]), sigma: new ort.Tensor('float32', sigma, [sigma.length]) })
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.data as Float32Array]))
  } finally {
    await s.release()
  }
}

describe('rebuildModelBytes', () => {
  it('writes a freshly exported model again byte for byte (weights read back exactly)', () => {
    const cfg: ArchConfig = { arch: 'energy-mlp', dim: 6, width: 8, depth: 2, embDim: 4 }
    const stats = { mean: Float32Array.from(values(6, 3)), sigmaData: 0.7 }
    const bytes = exportModelBytes(cfg, initParams(cfg, 5), stats)
    expect(Buffer.from(rebuildModelBytes(bytes, cfg, stats)).equals(Buffer.from(bytes))).toBe(true)
  })

  it('refuses weights that do not fit the architecture, naming the weight', () => {
    const cfg: ArchConfig = { arch: 'energy-mlp', dim: 6, width: 8, depth: 2, embDim: 4 }
    const stats = { mean: new Float32Array(6), sigmaData: 0.7 }
    const bytes = exportModelBytes(cfg, initParams(cfg, 5), stats)
    expect(() => rebuildModelBytes(bytes, { ...cfg, width: 16 }, stats)).toThrow(/no float32 weight w1 of shape \[6, 16\]/)
    expect(() => rebuildModelBytes(bytes, { ...cfg, depth: 3 }, stats)).toThrow(/weight w3/)
  })

  it('the shipped model rebuilt gives its score and energy to float32 rounding', async () => {
    const file = path.join(root, 'resources/models/ala2-default.onnx')
    const card = JSON.parse(readFileSync(file.replace(/\.onnx$/, '.card.json'), 'utf8'))
    const a = card.architecture
    const cfg: ArchConfig = { arch: a.arch, dim: card.dim, width: a.width, depth: a.depth, embDim: a.embDim }
    const stored = new Uint8Array(readFileSync(file))
    const rebuilt = rebuildModelBytes(stored, cfg, { mean: Float32Array.from(card.mean), sigmaData: card.sigmaData })
    const B = 32
    const d = card.dim as number
    // training-like frames: the mean structure plus 0.3 Å noise, σ from 0.02 to 2 Å
    const x = Float32Array.from(values(B * d, 7, -0.3, 0.3), (v, i) => v + card.mean[i % d])
    const sigma = Float32Array.from({ length: B }, (_, i) => 0.02 * Math.pow(100, i / (B - 1)))
    const [o1, o2] = [await run(stored, x, sigma, d), await run(rebuilt, x, sigma, d)]
    // float32 rounding of a 3-layer MLP's gradient: relative 1e-4 of the row's largest score is ample
    // (measured differences between the two graph forms: ~3e-7 relative)
    for (let b = 0; b < B; b++) {
      const row = (o: Float32Array) => o.subarray(b * d, (b + 1) * d)
      const scale = Math.max(...Array.from(row(o1.score!), Math.abs))
      for (let i = 0; i < d; i++) expect(Math.abs(row(o1.score!)[i]! - row(o2.score!)[i]!)).toBeLessThan(1e-4 * scale)
      expect(Math.abs(o1.energy![b]! - o2.energy![b]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(o1.energy![b]!)))
    }
  })
})
