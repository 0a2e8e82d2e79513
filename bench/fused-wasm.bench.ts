/**
 * Why the fused sampler graph is slower than step-by-step calls on onnxruntime-web WASM but not on
 * onnxruntime-node (issue 12, docs/speed.md): the same model, the same batch, timed per network
 * evaluation in both runtimes, with the fused graph at K = 1 (what the renderer runs for a
 * rigid-body model) and larger K, several graph-optimisation levels, and onnxruntime's own
 * per-node profile of one fused call.
 *
 *   node scripts/run-ts.mjs bench/fused-wasm.bench.ts [--model resources/models/ala2-default.onnx]
 *        [--M 10] [--scheme tweedie|em] [--B 1] [--seconds S] [--runtimes node,web] [--levels all,basic,disabled]
 *        [--wasm-threads N] [--profile]
 */
import { readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as ortNode from 'onnxruntime-node'
import * as ortWeb from 'onnxruntime-web'
import { findRoot } from './root'
import { callsPerSecond } from './support'
import { FusedSampler, onnxEmitter, type FusedScheme } from '../src/core/nn/fused-sampler'
import { bridgeGrid, noisePerStep } from '../src/core/sampler/adapter-step'
import { fillNormals } from '../src/core/rng/normals'
import type { OrtRuntime } from '../src/core/nn/runtime'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const root = findRoot()
const modelFile = path.resolve(root, arg('model', 'resources/models/ala2-default.onnx'))
const M = Number(arg('M', '10'))
const scheme = arg('scheme', 'tweedie') as FusedScheme
const B = Number(arg('B', '1'))
const seconds = Number(arg('seconds', '1.5'))
const bytes = new Uint8Array(readFileSync(modelFile))
const d = 66
const rowsPerCall = scheme === 'tweedie' ? 2 * B : B

const rate = (fn: () => Promise<unknown>): Promise<number> => callsPerSecond(fn, seconds)

const wasmThreads = Number(arg('wasm-threads', '1'))
ortWeb.env.wasm.numThreads = wasmThreads
const which = arg('runtimes', 'node,web').split(',')
const levels = arg('levels', 'all,basic,disabled').split(',') as ('all' | 'basic' | 'disabled')[]
const runtimes = ([
  ['onnxruntime-node', ortNode as unknown as OrtRuntime, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' }],
  [`onnxruntime-web WASM ${wasmThreads} thread(s)`, ortWeb as unknown as OrtRuntime, { executionProviders: ['wasm'] }],
] as [string, OrtRuntime, Record<string, unknown>][]).filter((_, i) => which.includes(i === 0 ? 'node' : 'web'))

const x = new Float32Array(rowsPerCall * d)
fillNormals(x, 1, 0, 0)
const sigma = new Float32Array(rowsPerCall).fill(0.2)
const tau = bridgeGrid(0.5, 0.025, M)
console.log(`model ${path.basename(modelFile)}, bridge ${scheme} M = ${M}, B = ${B}; µs per model call of ${rowsPerCall} rows (the fused graph: its time / (K·M)) — lower is better\n`)
console.log('| runtime | graph optimisation | stepwise µs/call | fused K=1 µs/call | fused K=4 µs/call | fused/stepwise (K=1) |')
console.log('|---|---|---|---|---|---|')
for (const [label, ort, base] of runtimes) {
  for (const level of levels) {
    const opts = { ...base, graphOptimizationLevel: level }
    const s = await ort.InferenceSession.create(bytes, opts as never)
    const T = ort.Tensor
    const stepRate = await rate(() => s.run({ x: new T('float32', x, [rowsPerCall, d]), sigma: new T('float32', sigma, [rowsPerCall]) }))
    await s.release()
    const fusedUs: number[] = []
    for (const K of [1, 4]) {
      const fused = await FusedSampler.create(ort, { mode: 'bridge', scheme, dim: d, K, M, score: onnxEmitter(bytes).emit, opset: Math.max(onnxEmitter(bytes).opset, 18) }, opts as never)
      const noise = new Float32Array(B * K * noisePerStep('bridge', d, M))
      fillNormals(noise, 2, 0, 0)
      const fr = await rate(() => fused.run(x, B, noise, tau))
      // the fused graph does M model calls' work per adapter step (each of rowsPerCall rows, as one stepwise call)
      fusedUs.push(1e6 / (fr * K * M))
      await fused.dispose()
    }
    const stepUs = 1e6 / stepRate
    console.log(`| ${label} | ${level} | ${stepUs.toFixed(0)} | ${fusedUs[0]!.toFixed(0)} | ${fusedUs[1]!.toFixed(0)} | ×${(fusedUs[0]! / stepUs).toFixed(2)} |`)
  }
}

if (argv.includes('--profile')) {
  // onnxruntime-node's per-node profile of one fused call (K = 1) and of one stepwise call
  const dir = mkdtempSync(path.join(tmpdir(), 'ortprof-'))
  for (const [what, make] of [
    ['stepwise', async () => {
      const s = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, enableProfiling: true, profileFilePrefix: path.join(dir, 'step') })
      for (let i = 0; i < 20; i++) await s.run({ x: new ortNode.Tensor('float32', x, [rowsPerCall, d]), sigma: new ortNode.Tensor('float32', sigma, [rowsPerCall]) })
      s.endProfiling()
      await s.release()
    }],
    ['fused', async () => {
      const fused = await FusedSampler.create(ortNode as unknown as OrtRuntime, { mode: 'bridge', scheme, dim: d, K: 1, M, score: onnxEmitter(bytes).emit, opset: 18 }, { intraOpNumThreads: 1, enableProfiling: true, profileFilePrefix: path.join(dir, 'fused') } as never)
      const noise = new Float32Array(B * noisePerStep('bridge', d, M))
      for (let i = 0; i < 5; i++) await fused.run(x, B, noise, tau)
      ;(fused.session as unknown as { endProfiling(): void }).endProfiling()
      await fused.dispose()
    }],
  ] as const) {
    await make()
    const file = readdirSync(dir).find((f) => f.startsWith(what === 'stepwise' ? 'step' : 'fused'))!
    const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[]
    const byOp = new Map<string, number>()
    for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur)
    const total = [...byOp.values()].reduce((a, b) => a + b, 0)
    console.log(`\n${what}: kernel time by op (onnxruntime-node profile): ${[...byOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`).join(', ')}`)
  }
  rmSync(dir, { recursive: true, force: true })
}
