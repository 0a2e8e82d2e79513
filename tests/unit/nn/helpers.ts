import * as ort from 'onnxruntime-node'
import type { Graph } from '../../../src/core/nn/graph'

export { ort }

export type Feed = Float64Array | Float32Array
export interface FeedSpec {
  data: Feed
  dims: number[]
}

/** runs a built graph once in onnxruntime-node (1 thread: deterministic) and returns its outputs as Float64Arrays */
export async function runGraph(g: Graph, feeds: Record<string, FeedSpec>): Promise<Record<string, Float64Array>> {
  const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
  try {
    const f: Record<string, ort.Tensor> = {}
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.data instanceof Float64Array ? 'float64' : 'float32', v.data, v.dims)
    const out = await session.run(f)
    const res: Record<string, Float64Array> = {}
    for (const [k, v] of Object.entries(out)) res[k] = Float64Array.from(v.data as Float64Array)
    return res
  } finally {
    await session.release()
  }
}

/** deterministic pseudo-random values in [lo, hi) (a tiny LCG; test inputs only) */
export function values(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  let s = (seed * 2654435761) >>> 0 || 1
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo)
  }
  return out
}
