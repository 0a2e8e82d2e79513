/**
 * Statistics of a dataset's coordinates (pure functions over [F, 3N] float32 arrays).
 */

export interface CoordinateStats {
  /** mean structure m, length 3N (Å) */
  mean: Float64Array
  /** per-atom RMSF_i = sqrt( (1/F) Σ_f |x_{f,i} − m_i|² ), length N (Å) */
  rmsf: Float64Array
  /**
   * σ_data = sqrt( (1/(F·3N)) Σ_f Σ_k (x_{f,k} − m_k)² ): the root-mean-square over all frames and
   * all 3N Cartesian coordinates of the (aligned) coordinates minus the mean structure (Å).
   * Equivalently σ_data² = mean_i(RMSF_i²) / 3.
   */
  sigmaData: number
}

export function coordinateStats(coords: Float32Array, nFrames: number, nAtoms: number): CoordinateStats {
  const d = 3 * nAtoms
  const mean = new Float64Array(d)
  for (let f = 0; f < nFrames; f++) {
    const o = f * d
    for (let k = 0; k < d; k++) mean[k]! += coords[o + k]!
  }
  for (let k = 0; k < d; k++) mean[k]! /= nFrames
  const sq = new Float64Array(d)
  for (let f = 0; f < nFrames; f++) {
    const o = f * d
    for (let k = 0; k < d; k++) {
      const v = coords[o + k]! - mean[k]!
      sq[k]! += v * v
    }
  }
  const rmsf = new Float64Array(nAtoms)
  let total = 0
  for (let i = 0; i < nAtoms; i++) {
    const s = sq[3 * i]! + sq[3 * i + 1]! + sq[3 * i + 2]!
    rmsf[i] = Math.sqrt(s / nFrames)
    total += s
  }
  return { mean, rmsf, sigmaData: Math.sqrt(total / (nFrames * d)) }
}

export interface DuplicateReport {
  /** frames whose stored coordinates are bit-for-bit equal to an earlier frame's */
  exact: number
  /** pairs (i < j) of frames that are not bit-identical with coordinate RMSD below thresholdA */
  nearPairs: number
  /** Å; RMSD = sqrt((1/N) Σ_i |x_i − y_i|²) of the stored (aligned) coordinates, no re-fit */
  thresholdA: number
  /** full RMSD evaluations made */
  comparisons: number
  /** true when the search stopped at maxComparisons (nearPairs is then a lower bound) */
  capped: boolean
}

/** deterministic pseudo-random unit vectors (xorshift32), so reports are reproducible */
function unitVectors(count: number, d: number): Float64Array[] {
  let s = 0x9e3779b9 | 0
  const next = (): number => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296 - 0.5
  }
  const out: Float64Array[] = []
  for (let c = 0; c < count; c++) {
    const v = new Float64Array(d)
    let norm = 0
    for (let k = 0; k < d; k++) {
      v[k] = next()
      norm += v[k]! * v[k]!
    }
    norm = Math.sqrt(norm)
    for (let k = 0; k < d; k++) v[k]! /= norm
    out.push(v)
  }
  return out
}

/**
 * Exact duplicates by hashing the float32 bits of each frame (collisions verified), and
 * near-duplicate pairs by locality-sensitive bucketing, not O(F²): RMSD < ε implies the 3N-vector
 * distance is < ε·√N, so every projection onto a unit vector differs by less than W = ε·√N. Frames
 * are bucketed on a grid of cell W over three fixed random projections; only frames in the 27
 * neighbouring cells whose three projections all lie within W are compared in full. Expected work
 * is O(F + pairs that are close in all three projections); at most `maxComparisons` full RMSD
 * evaluations are made (then `capped` is set).
 */
export function findDuplicates(coords: Float32Array, nFrames: number, nAtoms: number, thresholdA = 0.01, maxComparisons = 20_000_000): DuplicateReport {
  const d = 3 * nAtoms
  const bits = new Uint32Array(coords.buffer, coords.byteOffset, nFrames * d)
  // exact: FNV-1a over the bits
  const byHash = new Map<number, number[]>()
  let exact = 0
  for (let f = 0; f < nFrames; f++) {
    let h = 0x811c9dc5
    const o = f * d
    for (let k = 0; k < d; k++) {
      h ^= bits[o + k]!
      h = Math.imul(h, 0x01000193)
    }
    const list = byHash.get(h)
    if (!list) {
      byHash.set(h, [f])
      continue
    }
    let same = false
    for (const g of list) {
      const og = g * d
      let eq = true
      for (let k = 0; k < d; k++) {
        if (bits[o + k] !== bits[og + k]) {
          eq = false
          break
        }
      }
      if (eq) {
        same = true
        break
      }
    }
    if (same) exact++
    else list.push(f)
  }
  // near: grid bucketing on three random projections
  const W = thresholdA * Math.sqrt(nAtoms)
  const limit = thresholdA * thresholdA * nAtoms
  const dirs = unitVectors(3, d)
  const proj = new Float64Array(3 * nFrames)
  for (let f = 0; f < nFrames; f++) {
    const o = f * d
    for (let c = 0; c < 3; c++) {
      const u = dirs[c]!
      let p = 0
      for (let k = 0; k < d; k++) p += u[k]! * coords[o + k]!
      proj[3 * f + c] = p
    }
  }
  const grid = new Map<string, number[]>()
  let nearPairs = 0
  let comparisons = 0
  let capped = false
  outer: for (let f = 0; f < nFrames; f++) {
    const p0 = proj[3 * f]!
    const p1 = proj[3 * f + 1]!
    const p2 = proj[3 * f + 2]!
    const c0 = Math.floor(p0 / W)
    const c1 = Math.floor(p1 / W)
    const c2 = Math.floor(p2 / W)
    const o = f * d
    for (let a = -1; a <= 1; a++) {
      for (let b = -1; b <= 1; b++) {
        for (let c = -1; c <= 1; c++) {
          const cell = grid.get(`${c0 + a},${c1 + b},${c2 + c}`)
          if (!cell) continue
          for (const g of cell) {
            if (Math.abs(proj[3 * g]! - p0) >= W || Math.abs(proj[3 * g + 1]! - p1) >= W || Math.abs(proj[3 * g + 2]! - p2) >= W) continue
            if (comparisons >= maxComparisons) {
              capped = true
              break outer
            }
            comparisons++
            const og = g * d
            let ss = 0
            let identical = true
            for (let k = 0; k < d; k++) {
              if (bits[o + k] !== bits[og + k]) identical = false
              const v = coords[o + k]! - coords[og + k]!
              ss += v * v
              if (ss >= limit) break
            }
            if (ss < limit && !identical) nearPairs++
          }
        }
      }
    }
    const key = `${c0},${c1},${c2}`
    const cell = grid.get(key)
    if (cell) cell.push(f)
    else grid.set(key, [f])
  }
  return { exact, nearPairs, thresholdA, comparisons, capped }
}
