/**
 * A real third-party model: a tiny score-MLP exported from PyTorch (torch.onnx.export, opset 17,
 * dynamic batch; fixture made by `python3 bench/nn_torch.py --export-onnx …`, with PyTorch's own
 * outputs on a probe batch). It passes the contract check, gives PyTorch's numbers through the
 * ScoreModel interface, imports into a project, and inlines into the fused K-step sampler graph.
 */
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OnnxScoreModel, probeModel } from '../../../src/core/score/onnx-score'
import { onnxEmitter, FusedSampler, noisePerStep } from '../../../src/core/nn/fused-sampler'
import { AdapterStep, bridgeGrid } from '../../../src/core/sampler/adapter-step'
import { fillNormals } from '../../../src/core/rng/normals'
import { importModel, listModels } from '../../../src/services/models/registry'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import { ort } from './helpers'

const file = path.join(__dirname, 'fixtures/torch-score-mlp.onnx')

describe('model exported from PyTorch', () => {
  it('passes the contract and reproduces PyTorch’s scores (float32, 1e-5 relative)', async () => {
    const ref = JSON.parse(await fs.readFile(file + '.json', 'utf8')) as { x: number[]; sigma: number[]; score: number[] }
    const session = await ort.InferenceSession.create(await fs.readFile(file))
    const m = OnnxScoreModel.wrap(ort, session, { name: 'torch', file })
    expect(m.dim).toBe(4)
    const B = ref.sigma.length
    const out = new Float32Array(B * 4)
    await m.score(Float32Array.from(ref.x), Float32Array.from(ref.sigma), B, out)
    ref.score.forEach((v, i) => expect(Math.abs(out[i]! - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))))
    await probeModel(m, undefined, [0.01, 1, 10])
    await m.dispose()
  })

  it('imports into a project', async () => {
    const project = await fs.mkdtemp(path.join(os.tmpdir(), 'diffmd-torch-'))
    try {
      const e = await importModel(project, file)
      expect(e.card.architecture).toMatchObject({ arch: 'imported', output: 'score' })
      expect(e.card.architecture.arch === 'imported' && e.card.architecture.producer).toMatch(/pytorch/)
      expect((await listModels(project)).models.length).toBe(1)
    } finally {
      await fs.rm(project, { recursive: true, force: true })
    }
  })

  it('inlines into the fused sampler graph: 4 bridge steps in one call = 4 sequential steps', async () => {
    const d = 4
    const B = 2
    const K = 4
    const M = 3
    const eta = 0.3
    const sigmaMin = 0.05
    const inl = onnxEmitter(await fs.readFile(file))
    expect(inl.opset).toBe(17)
    const fused = await FusedSampler.create(ort as unknown as OrtRuntime, { mode: 'bridge', dim: d, K, M, score: inl.emit, opset: inl.opset })
    const P = noisePerStep('bridge', d, M)
    const noise = new Float32Array(B * K * P)
    for (let b = 0; b < B; b++) fillNormals(noise, 3, b, 0, b * K * P, K * P)
    const x0 = Float32Array.from([0.1, -0.2, 0.3, 0.5, -1, 0.2, 0.4, 0])
    const tau = bridgeGrid(Math.sqrt(eta + sigmaMin * sigmaMin), sigmaMin, M) // σ_K² = η + σ_min²
    const frames = await fused.run(x0, B, noise, tau)
    const session = await ort.InferenceSession.create(await fs.readFile(file))
    const model = OnnxScoreModel.wrap(ort, session, { name: 'torch' })
    const stepper = new AdapterStep(model, { mode: 'bridge', eta, denoiseSteps: M, sigmaMin }, B)
    const y = Float32Array.from(x0)
    const rows = new Float32Array(B * P)
    for (let k = 0; k < K; k++) {
      for (let b = 0; b < B; b++) rows.set(noise.subarray(b * K * P + k * P, b * K * P + (k + 1) * P), b * P)
      await stepper.step(y, rows, B, y)
      for (let i = 0; i < B * d; i++) expect(Math.abs(frames[k * B * d + i]! - y[i]!)).toBeLessThan(1e-5)
    }
    await fused.dispose()
    await model.dispose()
  })
})
