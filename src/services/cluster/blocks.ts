/**
 * Blocks of replicas (docs/cluster.md "Why the frames are bit-identical"): how a run's R replicas
 * split into worker-thread blocks and Slurm shards so every block's frames equal those rows of the
 * single-process run bit for bit.
 */

/**
 * Replicas per block quantum of a learned model. onnxruntime's CPU GEMM computes rows in tiles
 * (4 rows with AVX2/FMA) and the rows of a last, partial tile with another kernel whose rounding
 * differs in the last bit, and element-wise kernels run in 8- or 16-float vectors: a row's result
 * depends on where it sits in the batch. Blocks that start at multiples of 16 replicas see every
 * row in the same tile position as the whole run does (the tail block ends where the run ends), so
 * the frames are bit-identical; analytic systems compute row by row (quantum 1). docs/cluster.md
 */
export const MODEL_REPLICA_QUANTUM = 16
/**
 * The fewest replicas a learned model's last block holds (else it joins the block before): the
 * tweedie step calls the network on 2n rows [x; x'], and a block of n < T/2 replicas would put x
 * rows in the partial last tile of T rows where the whole run has them in full tiles
 */
export const MODEL_MIN_TAIL = 8

/** the last block joins the one before when it holds fewer than minTail replicas */
function foldTail(blocks: [number, number][], minTail: number): [number, number][] {
  if (blocks.length > 1 && blocks[blocks.length - 1]![1] < minTail) {
    const last = blocks.pop()!
    blocks[blocks.length - 1]![1] += last[1]
  }
  return blocks
}

/** blocks of `size` replicas (a multiple of quantum) covering 0 … n−1; the last takes the rest */
export function blocksOfSize(n: number, size: number, quantum = 1): [number, number][] {
  const out: [number, number][] = []
  for (let a = 0; a < n; a += size) out.push([a, Math.min(size, n - a)])
  return quantum > 1 ? foldTail(out, MODEL_MIN_TAIL) : out
}

/**
 * [start, count] of at most `parts` blocks of n replicas starting at `base`, every start a multiple
 * of `quantum` past base, as even as the quantum allows (the last block takes the remainder)
 */
export function splitReplicas(base: number, n: number, parts: number, quantum = 1): [number, number][] {
  const units = Math.ceil(n / quantum)
  const p = Math.max(1, Math.min(parts, units))
  const q = Math.floor(units / p)
  const extra = units % p
  const out: [number, number][] = []
  let a = base
  for (let i = 0; i < p; i++) {
    const c = Math.min((q + (i < extra ? 1 : 0)) * quantum, base + n - a)
    out.push([a, c])
    a += c
  }
  return quantum > 1 ? foldTail(out, MODEL_MIN_TAIL) : out
}
