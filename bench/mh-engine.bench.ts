/**
 * bridge-mh (the Metropolis-corrected step) through the renderer's sampler engine
 * (src/renderer/src/sampler/engine.ts): the fused graph, where the whole test runs inside one
 * session call per K steps, against step by step (M + 2 session calls and the float64 test in
 * JavaScript per step), on onnxruntime-node and on onnxruntime-web's WASM build (under Node, as
 * bench/fused-wasm.bench.ts runs it). The shipped model, the covariance kernel from the shipped
 * training snapshots, Δt 0.5 ps. Prints adapter steps per second of the run itself and the time to
 * open the engine (session creation; the fused graph is large), and checks that both engines took
 * the same accept decisions.
 *
 *   node scripts/run-ts.mjs bench/mh-engine.bench.ts [--replicas 1,16] [--steps 40] [--M 10]
 *        [--runtimes node,web] [--kernel covariance|em]
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as ortNode from 'onnxruntime-node'
import * as ortWeb from 'onnxruntime-web'
import { findRoot } from './root'
import { openEngine, type EngineInput } from '../src/renderer/src/sampler/engine'
import { loadTrainingFrames } from '../src/services/models/training-data'
import type { OrtRuntime } from '../src/core/nn/runtime'
import type { ClientSamplerParams } from '../src/renderer/src/sampler/protocol'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const root = findRoot()
const replicaList = arg('replicas', '1,16').split(',').map(Number)
const steps = Number(arg('steps', '40'))
const M = Number(arg('M', '10'))
const kernel = arg('kernel', 'covariance') as 'covariance' | 'em'
const which = arg('runtimes', 'node,web').split(',')
ortWeb.env.wasm.numThreads = 1

const modelFile = path.join(root, 'resources', 'models', 'ala2-default.onnx')
const bytes = new Uint8Array(readFileSync(modelFile))
const card = JSON.parse(readFileSync(modelFile.replace(/\.onnx$/, '.card.json'), 'utf8')) as Record<string, unknown>
const runtimes = ([
  ['onnxruntime-node', ortNode as unknown as OrtRuntime, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' }],
  ['onnxruntime-web WASM, 1 thread', ortWeb as unknown as OrtRuntime, { executionProviders: ['wasm'] }],
] as [string, OrtRuntime, Record<string, unknown>][]).filter((_, i) => which.includes(i === 0 ? 'node' : 'web'))

async function main(): Promise<void> {
  const snaps = await loadTrainingFrames(path.join(root, 'resources', 'examples', 'ala2', 'ala2_snapshots_all.pdb.gz'))
  const d = card.dim as number
  const mhFrames = Float32Array.from(snaps.frames.subarray(0, 512 * d))
  console.log(`# bridge-mh through the sampler engine: fused vs step by step (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, Node ${process.version})`)
  console.log(`shipped model, ${kernel} kernel, M = ${M}, Δt 0.5 ps (η = 0.02494 Å²), σ_min 0.026 Å, ${steps} adapter steps, one frame per step\n`)
  console.log('| runtime | R | engine | open s | adapter steps/s | fused / stepwise | acceptance |')
  console.log('|---|---|---|---|---|---|---|')
  for (const [name, ort, options] of runtimes) {
    for (const R of replicaList) {
      const init = new Float32Array(R * d)
      for (let r = 0; r < R; r++) init.set(snaps.frames.subarray(((1000 + 97 * r) % snaps.nFrames) * d, (((1000 + 97 * r) % snaps.nFrames) + 1) * d), r * d)
      const params: ClientSamplerParams = { mode: 'bridge-mh', mhKernel: kernel, eta: 0.0499 * 0.5, innerSteps: 1, denoiseSteps: M, sigmaMin: 0.026, replicas: R, frames: steps + 1, seed: 5 }
      const rates: Record<string, number> = {}
      const acceptance: Record<string, number[]> = {}
      for (const engine of ['stepwise', 'fused'] as const) {
        const input: EngineInput = { model: bytes, card, init, params, engine, mhFrames }
        const t0 = performance.now()
        const eng = await openEngine(ort, input, options)
        const open = (performance.now() - t0) / 1000
        const t1 = performance.now()
        const res = await eng.run({ signal: new AbortController().signal, emitFrames: () => undefined })
        const wall = (performance.now() - t1) / 1000
        await eng.release()
        rates[engine] = steps / wall
        acceptance[engine] = res.acceptance ?? []
        const mean = acceptance[engine]!.reduce((a, b) => a + b, 0) / R
        const ratio = engine === 'fused' ? `×${(rates.fused! / rates.stepwise!).toFixed(2)}` : ''
        console.log(`| ${name} | ${R} | ${engine} | ${open.toFixed(1)} | ${rates[engine]!.toFixed(2)} | ${ratio} | ${mean.toFixed(3)} |`)
      }
      const same = JSON.stringify(acceptance.fused) === JSON.stringify(acceptance.stepwise)
      if (!same) console.log(`(R = ${R} on ${name}: the engines' acceptance differs: ${JSON.stringify(acceptance)})`)
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
