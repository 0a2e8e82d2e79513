/** Pieces several benchmarks share: a calls-per-second timer and the bench:nn model's weights. */
import { initParams, paramDefs, type ArchConfig } from '../src/core/nn/arch'
import { fillNormals } from '../src/core/rng/normals'

/** calls per second of an async function, after two warm-up calls, over ≥ `seconds` and ≥ 3 calls */
export async function callsPerSecond(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  await fn()
  await fn()
  let n = 0
  const t0 = performance.now()
  for (;;) {
    await fn()
    n++
    const t = (performance.now() - t0) / 1000
    if (t >= seconds && n >= 3) return n / t
  }
}

/**
 * The benchmark model's weights: the default initialisation (seed 1) with the output layer small but
 * non-zero (a trained model is not all-zero there), from its own normal stream (seed 2).
 */
export function benchModelParams(cfg: ArchConfig): Float32Array[] {
  const defs = paramDefs(cfg)
  return initParams(cfg, 1).map((p, i) => {
    if (defs[i]!.name !== 'wo') return p
    const q = new Float32Array(p.length)
    fillNormals(q, 2, 0, 0)
    return q.map((v) => 0.01 * v)
  })
}
