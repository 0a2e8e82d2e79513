/**
 * Blocks of replicas (docs/cluster.md "Why the frames are bit-identical"): how a run's R replicas
 * split into worker-thread blocks and Slurm shards so every block's frames equal those rows of the
 * single-process run bit for bit.
 */

/**
 * Replicas per block quantum of a learned model of d coordinates. A row's result must not depend on
 * where it sits in the batch. onnxruntime's CPU kernels run in 4-row GEMM tiles and 8- or 16-float
 * vectors, and their transcendental functions round differently in the vector body and in the
 * scalar tail, so a block must start on a 4-row boundary and, in every [rows, d] tensor, on a
 * 16-float (64-byte) boundary: 8 replicas when d is even (8·d is then a multiple of 16), 16 when d
 * is odd. Measured on the shipped ala2 model (d = 66, bridge and tweedie layouts, 3 σ): blocks
 * starting at any even replica gave the whole batch's rows bit for bit, odd starts did not
 * (bench/RESULTS.md "Smaller replica blocks"). Analytic systems compute row by row (quantum 1).
 * docs/cluster.md
 */
export function modelReplicaQuantum(dim: number): number {
  return dim % 2 === 0 ? 8 : 16
}
/**
 * The fewest replicas a learned model's last block holds (else it joins the block before): the
 * tweedie step calls the network on 2n rows [x; x'], and a block of n < T/2 replicas would put x
 * rows in the partial last tile of T rows where the whole run has them in full tiles. Kept as a
 * margin: on the machine measured for modelReplicaQuantum a partial tile did not change a row.
 */
export const MODEL_MIN_TAIL = 8

/** the quantum of a run's blocks: a learned model's (modelReplicaQuantum), 1 for analytic systems */
export function replicaQuantum(kind: 'model' | 'analytic', dim: number): number {
  return kind === 'model' ? modelReplicaQuantum(dim) : 1
}

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
