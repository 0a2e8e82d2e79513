/**
 * The worker's sampling engine (src/renderer/src/sampler/engine.ts) on onnxruntime-node: the fused
 * K-step path and the step-by-step path give the frames of the core sampler (runTrajectory over
 * OnnxScoreModel, the CLI's path) for the same seed — with rigid-body re-alignment, with K > 1, with
 * trust-region rejections — and checkpoints resume to the same frames.
 */
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { FrameBatcher, cardInfo, fusedStepsPerCall, openEngine, type EngineInput, type EngineResult } from '../../../src/renderer/src/sampler/engine'
import { tinyModel } from '../../../src/renderer/harness/tiny-model'
import { OnnxScoreModel } from '../../../src/core/score/onnx-score'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { SamplerParams } from '../../../src/core/sampler/params'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import type { ClientSamplerParams } from '../../../src/renderer/src/sampler/protocol'
import { maxAbsDiff } from './helpers'

const rt = ort as unknown as OrtRuntime
const pdb = readFileSync(path.resolve('resources/examples/ala2/ala2_reference.pdb'), 'utf8')

function reference(): Float32Array {
  const xs: number[] = []
  for (const l of pdb.split('\n')) if (l.startsWith('ATOM') || l.startsWith('HETATM')) xs.push(Number(l.slice(30, 38)), Number(l.slice(38, 46)), Number(l.slice(46, 54)))
  const x = Float32Array.from(xs)
  const n = x.length / 3
  const c = [0, 0, 0]
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) c[k]! += x[3 * i + k]! / n
  return x.map((v, i) => v - c[i % 3]!)
}

const ref = reference()
const d = ref.length
const { bytes, card } = tinyModel(ref)
const freeCard = { ...card, aligned: false, reference: undefined }
const R = 3

function initOf(replicas = R): Float32Array {
  const x = new Float32Array(replicas * d)
  for (let r = 0; r < replicas; r++) x.set(ref, r * d)
  return x
}

const base: ClientSamplerParams = { mode: 'bridge', eta: 0.01, innerSteps: 2, denoiseSteps: 3, sigmaMin: 0.02, replicas: R, frames: 7, seed: 5 }

async function coreRun(c: Record<string, unknown>, p: SamplerParams, init: Float32Array): Promise<{ frames: Float32Array; rejections: number[] }> {
  const session = await ort.InferenceSession.create(bytes)
  const model = OnnxScoreModel.wrap(rt, session, { name: c.name as string, dim: d, reference: c.reference ? Float32Array.from(c.reference as number[]) : undefined })
  const out: number[] = []
  const res = await runTrajectory(model, p, init, { onFrame: (_f, x) => void out.push(...x) })
  await session.release()
  return { frames: Float32Array.from(out), rejections: res.rejections }
}

async function engineRun(input: Partial<EngineInput> & { card: Record<string, unknown>; params: ClientSamplerParams }, signal = new AbortController().signal) {
  const eng = await openEngine(rt, { model: bytes, init: initOf(input.params.replicas), ...input }, {})
  const frames = new Map<number, Float32Array>()
  const starts: number[] = []
  const checkpoints: string[] = []
  let result: EngineResult
  try {
    result = await eng.run({
      signal,
      flushMs: 0,
      emitFrames: (s, n, data) => {
        starts.push(s)
        const row = data.length / n
        for (let k = 0; k < n; k++) frames.set(s + k, data.slice(k * row, (k + 1) * row))
      },
      emitCheckpoint: (j) => checkpoints.push(j),
    })
  } finally {
    await eng.release()
  }
  const idx = [...frames.keys()].sort((a, b) => a - b)
  const flat = new Float32Array(idx.length * input.params.replicas * d)
  idx.forEach((f, i) => flat.set(frames.get(f)!, i * input.params.replicas * d))
  return { engine: eng.engine, result, frames: flat, first: idx[0], last: idx[idx.length - 1], starts, checkpoints }
}

describe('sampler worker engine', () => {
  it('fused (rigid-body model, K > 1 steps per call, superposed inside the graph) and step-by-step runs equal runTrajectory', async () => {
    expect(fusedStepsPerCall({ ...base } as SamplerParams, 100)).toBe(21) // ⌊128 / (2·M = 6 evaluations)⌋
    expect(fusedStepsPerCall({ ...base } as SamplerParams, 5)).toBe(5)
    const core = await coreRun(card, base as SamplerParams, initOf())
    const fused = await engineRun({ card, params: base })
    const step = await engineRun({ card, params: base, engine: 'stepwise' })
    expect(fused.engine).toBe('fused')
    expect(step.engine).toBe('stepwise')
    expect(fused.first).toBe(0)
    expect(fused.last).toBe(base.frames - 1)
    expect(fused.result.framesMade).toBe(base.frames - 1)
    expect(maxAbsDiff(step.frames, core.frames)).toBe(0)
    expect(maxAbsDiff(fused.frames, core.frames)).toBeLessThan(1e-5)
    // all 12 steps in one call (K = 12): one read of its saved frames, one of the counters (explosion marks) with them, one at the end
    expect(fused.result.readBacks).toBe(2 + 1)
    expect(fused.result.stateLocation).toBe('cpu') // onnxruntime-node: host tensors, passed on without copying
    // and the run moved: not a comparison of constants
    expect(maxAbsDiff(core.frames.subarray(-R * d), initOf())).toBeGreaterThan(0.05)
  })

  it('fused with K > 1 steps per call (model without alignment) equals runTrajectory, also in tied and clean mode', async () => {
    for (const mode of ['bridge', 'tied', 'clean'] as const) {
      const p = { ...base, mode, eta: mode === 'bridge' ? 0.01 : 0.002 }
      expect(fusedStepsPerCall(p as SamplerParams, 12)).toBeGreaterThan(1)
      const core = await coreRun(freeCard, p as SamplerParams, initOf())
      const fused = await engineRun({ card: freeCard, params: p })
      expect(fused.engine).toBe('fused')
      expect(maxAbsDiff(fused.frames, core.frames), mode).toBeLessThan(1e-5)
    }
  })

  it('trust-region rejections are counted and applied like the core sampler, inside a K-step call', async () => {
    const scale = Array.from(ref, () => 0.1)
    // radius: the median whitened distance of unguarded frames, so some steps are rejected
    const free = await coreRun(freeCard, base as SamplerParams, initOf())
    const dist: number[] = []
    for (let k = R; k < free.frames.length / d; k++) {
      let s = 0
      for (let i = 0; i < d; i++) s += ((free.frames[k * d + i]! - ref[i]!) / 0.1) ** 2
      dist.push(Math.sqrt(s))
    }
    dist.sort((a, b) => a - b)
    // midway between two sorted distances: no frame sits exactly on the wall (a coin flip between paths ~1e-6 Å apart)
    const tr = { mean: Array.from(ref), scale, radius: (dist[(dist.length >> 1) - 1]! + dist[dist.length >> 1]!) / 2 }
    const p = { ...base, trustRegion: tr }
    const core = await coreRun(freeCard, { ...p, trustRegion: { mean: Float32Array.from(tr.mean), scale: Float32Array.from(scale), radius: tr.radius } } as SamplerParams, initOf())
    const total = core.rejections.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(0)
    expect(total).toBeLessThan(R * (base.frames - 1) * base.innerSteps)
    const fused = await engineRun({ card: freeCard, params: p })
    expect(fused.result.rejections).toEqual(core.rejections)
    expect(maxAbsDiff(fused.frames, core.frames)).toBeLessThan(1e-5)
    // the card's trust region is used when the request has none
    const viaCard = await engineRun({ card: { ...freeCard, trustRegion: tr }, params: base })
    expect(viaCard.result.rejections).toEqual(core.rejections)
  })

  it('an unstable run stops where the core sampler stops, with its message and the frames before it (marks carried in the graph)', async () => {
    // clean mode at η = 3 Å² on the tiny model diverges within a few steps (the core sampler's explosion rule)
    const p = { ...base, mode: 'clean' as const, eta: 3, frames: 40 }
    const session = await ort.InferenceSession.create(bytes)
    const model = OnnxScoreModel.wrap(rt, session, { name: 'tiny', dim: d })
    const out: number[] = []
    const core = await runTrajectory(model, p as SamplerParams, initOf(), { onFrame: (_f, x) => void out.push(...x) })
    await session.release()
    expect(core.stopped?.reason).toBe('unstable')
    const fused = await engineRun({ card: freeCard, params: p })
    expect(fused.engine).toBe('fused')
    expect(fused.result.unstable).toBe(core.stopped!.message)
    expect(fused.result.unstable).toMatch(/^simulation became unstable at adapter step \d+ \(making frame \d+\), replica \d: .* kept the \d+ frames before it; use a smaller Δt/)
    expect(fused.frames.length).toBe(out.length)
    // relative: the last kept frames are already far out (float32 carries ~1e-7 of each value)
    let rel = 0
    for (let i = 0; i < out.length; i++) rel = Math.max(rel, Math.abs(fused.frames[i]! - out[i]!) / Math.max(1, Math.abs(out[i]!)))
    expect(rel).toBeLessThan(1e-4)
    expect(Math.max(...out.map(Math.abs))).toBeGreaterThan(100) // it was diverging
  })

  it('checkpoints resume to the same frames (fused → fused, fused → step by step)', async () => {
    const p = { ...base, frames: 9 }
    const full = await engineRun({ card, params: p, checkpointEvery: 4 })
    expect(full.checkpoints.map((j) => (JSON.parse(j) as { framesDone: number }).framesDone)).toEqual([5, 9])
    const cp = full.checkpoints[0]!
    for (const engine of ['fused', 'stepwise'] as const) {
      const resumed = await engineRun({ card, params: p, resumeFrom: cp, engine })
      expect(resumed.first).toBe(5)
      expect(resumed.last).toBe(8)
      const tail = full.frames.subarray(5 * R * d)
      expect(maxAbsDiff(resumed.frames, tail), engine).toBeLessThan(engine === 'fused' ? 1e-7 : 1e-5)
    }
  })

  it('step by step in chunks (bounded memory) gives the frames and checkpoints of one long run', async () => {
    const p = { ...base, frames: 12 }
    const whole = await engineRun({ card, params: p, engine: 'stepwise', checkpointEvery: 4 })
    const core = await coreRun(card, p as SamplerParams, initOf())
    expect(maxAbsDiff(whole.frames, core.frames)).toBe(0)
    for (const chunkFrames of [1, 3, 5]) {
      const chunked = await engineRun({ card, params: p, engine: 'stepwise', checkpointEvery: 4, chunkValues: chunkFrames * R * d })
      expect(chunked.first).toBe(0)
      expect(chunked.last).toBe(11)
      expect(maxAbsDiff(chunked.frames, core.frames), `chunks of ${chunkFrames}`).toBe(0)
      expect(chunked.checkpoints).toEqual(whole.checkpoints)
      const noCp = await engineRun({ card, params: p, engine: 'stepwise', chunkValues: chunkFrames * R * d })
      expect(maxAbsDiff(noCp.frames, core.frames)).toBe(0)
      expect(noCp.result.framesMade).toBe(11)
    }
    // resumed from a checkpoint, in chunks
    const resumed = await engineRun({ card, params: p, engine: 'stepwise', resumeFrom: whole.checkpoints[0]!, chunkValues: 2 * R * d })
    expect(resumed.first).toBe(5)
    expect(maxAbsDiff(resumed.frames, core.frames.subarray(5 * R * d))).toBe(0)
    // one frame: just the initial state
    const one = await engineRun({ card, params: { ...p, frames: 1 }, engine: 'stepwise' })
    expect([one.first, one.last]).toEqual([0, 0])
  })

  it('stops on the signal with the frames made so far; rejects bad requests with one-line errors', async () => {
    const ac = new AbortController()
    const eng = await openEngine(rt, { model: bytes, card, init: initOf(), params: { ...base, frames: 10_000 } }, {})
    let got = 0
    const res = await eng.run({
      signal: ac.signal,
      flushMs: 0,
      emitFrames: (_s, n) => {
        got += n
        if (got >= 3) ac.abort()
      },
    })
    await eng.release()
    expect(res.stopped).toBe(true)
    expect(got).toBeGreaterThanOrEqual(3)
    expect(got).toBeLessThan(100)
    await expect(openEngine(rt, { model: bytes, card, init: new Float32Array(5), params: base }, {})).rejects.toThrow(/^initial positions hold 5 numbers, expected replicas × d = 3 × 66 = 198$/)
    expect(() => cardInfo({ dim: 0 })).toThrow(/"dim" must be a positive whole number/)
    expect(() => cardInfo({ dim: 2, reference: [1] })).toThrow(/"reference" must be 2 finite numbers/)
    // settings the sampler refuses reach the caller as the sampler's one-line error (σ_min = 0 has no geometric grid)
    const eng2 = await openEngine(rt, { model: bytes, card, init: initOf(), params: { ...base, sigmaMin: 0 } }, {})
    await expect(eng2.run({ signal: new AbortController().signal, emitFrames: () => undefined })).rejects.toThrow(/= 0 only works with one denoising step/)
    await eng2.release()
  })

  it('FrameBatcher sends consecutive frames in batches and never holds one back at flush', () => {
    const got: [number, number, number[]][] = []
    const b = new FrameBatcher(2, (s, n, data) => got.push([s, n, Array.from(data)]), 1e9, 3)
    const row = (v: number) => Float32Array.of(v, -v)
    for (let f = 0; f < 4; f++) b.push(f, row(f))
    b.push(10, row(10)) // a gap starts a new batch
    b.flush()
    b.flush()
    expect(got).toEqual([
      [0, 3, [0, -0, 1, -1, 2, -2]],
      [3, 1, [3, -3]],
      [10, 1, [10, -10]],
    ])
  })
})
