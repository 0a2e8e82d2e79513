/**
 * Conformational basins of alanine dipeptide on the Ramachandran plane and core-to-core
 * transition rates, exactly as defined in data/ala2/gromacs_bd_reference.json ("basins"), so
 * generated trajectories can be compared number-for-number with the GROMACS BD reference.
 * Inputs φ, ψ in radians (any branch; converted to degrees in [−180, 180)).
 *
 * partition_4 (every point has a basin):
 *   alpha_L_C7ax: 0 ≤ φ < 120
 *   alpha_R:      (φ < 0 or φ ≥ 120) and −120 ≤ ψ < 0
 *   otherwise (φ < 0 or φ ≥ 120, ψ ≥ 0 or ψ < −120): with φ' = φ − 360 when φ ≥ 120 ("wrap") and
 *   ψ' = ψ + 360 when ψ < −120, C5_beta when 70(φ' + 115) − 90(ψ' − 115) < 0 — the side of the
 *   perpendicular bisector of (−150, 160)–(−80, 70) nearer to C5 — and C7eq otherwise.
 * partition_3: C7eq_beta = C5_beta ∪ C7eq; alpha_R, alpha_L_C7ax as above.
 * cores_4 (disjoint; points in none are between cores):
 *   C5_beta:      (φ < −110 or φ ≥ 150) and (ψ ≥ 130 or ψ < −150)
 *   C7eq:         −110 ≤ φ < −50 and 30 ≤ ψ < 100
 *   alpha_R:      −120 ≤ φ < −30 and −90 ≤ ψ < −15
 *   alpha_L_C7ax: 20 ≤ φ < 100 (any ψ)
 * cores_3: C7eq_beta = core C5_beta or core C7eq.
 */

export const BASINS_4 = ['C5_beta', 'C7eq', 'alpha_R', 'alpha_L_C7ax'] as const
export const BASINS_3 = ['C7eq_beta', 'alpha_R', 'alpha_L_C7ax'] as const
export type Basin4 = (typeof BASINS_4)[number]
export type Basin3 = (typeof BASINS_3)[number]
export type BasinScheme = 4 | 3

const DEG = 180 / Math.PI

/** angle in radians → degrees in [−180, 180) */
function toDeg(a: number): number {
  const d = a * DEG
  const w = d - 360 * Math.floor((d + 180) / 360)
  return w >= 180 ? w - 360 : w
}

/** partition_4 basin index (into BASINS_4) of a point given in degrees in [−180, 180) */
function basin4Deg(phi: number, psi: number): number {
  if (phi >= 0 && phi < 120) return 3
  if (psi >= -120 && psi < 0) return 2
  const phiW = phi >= 120 ? phi - 360 : phi
  const psiW = psi < -120 ? psi + 360 : psi
  return 70 * (phiW + 115) - 90 * (psiW - 115) < 0 ? 0 : 1
}

/** cores_4 index (into BASINS_4) of a point in degrees, −1 when in no core */
function core4Deg(phi: number, psi: number): number {
  if ((phi < -110 || phi >= 150) && (psi >= 130 || psi < -150)) return 0
  if (phi >= -110 && phi < -50 && psi >= 30 && psi < 100) return 1
  if (phi >= -120 && phi < -30 && psi >= -90 && psi < -15) return 2
  if (phi >= 20 && phi < 100) return 3
  return -1
}

/** scheme-4 index → scheme-3 index (C5_beta, C7eq → C7eq_beta) */
const TO3 = [0, 0, 1, 2]

/** basin index of (φ, ψ) in radians for the scheme (index into BASINS_4 or BASINS_3); −1 for non-finite input */
export function basinIndexOf(phi: number, psi: number, scheme: BasinScheme = 4): number {
  if (!Number.isFinite(phi) || !Number.isFinite(psi)) return -1
  const b = basin4Deg(toDeg(phi), toDeg(psi))
  return scheme === 4 ? b : TO3[b]!
}

/** core index of (φ, ψ) in radians for the scheme, −1 when in no core */
export function coreIndexOf(phi: number, psi: number, scheme: BasinScheme = 4): number {
  if (!Number.isFinite(phi) || !Number.isFinite(psi)) return -1
  const c = core4Deg(toDeg(phi), toDeg(psi))
  return c < 0 || scheme === 4 ? c : TO3[c]!
}

/** partition_4 basin of (φ, ψ) in radians */
export function basinOf(phi: number, psi: number): Basin4 {
  const b = basinIndexOf(phi, psi, 4)
  if (b < 0) throw new RangeError(`basinOf: non-finite angle (${phi}, ${psi})`)
  return BASINS_4[b]!
}

/** cores_4 core of (φ, ψ) in radians, or null between cores */
export function coreOf(phi: number, psi: number): Basin4 | null {
  const c = coreIndexOf(phi, psi, 4)
  return c < 0 ? null : BASINS_4[c]!
}

function namesOf(scheme: BasinScheme): readonly string[] {
  return scheme === 4 ? BASINS_4 : BASINS_3
}

/** fraction of frames in each partition basin (keys BASINS_4 or BASINS_3); non-finite frames left out */
export function basinPopulations(phi: ArrayLike<number>, psi: ArrayLike<number>, scheme: BasinScheme = 4): Record<string, number> {
  if (phi.length !== psi.length) throw new RangeError(`basinPopulations: ${phi.length} φ but ${psi.length} ψ values`)
  const names = namesOf(scheme)
  const counts = new Float64Array(names.length)
  let total = 0
  for (let t = 0; t < phi.length; t++) {
    const b = basinIndexOf(phi[t]!, psi[t]!, scheme)
    if (b >= 0) {
      counts[b]!++
      total++
    }
  }
  const out: Record<string, number> = {}
  names.forEach((name, b) => (out[name] = total > 0 ? counts[b]! / total : NaN))
  return out
}

/** one replica's φ/ψ series, frames equally spaced */
export interface DihedralTrajectory {
  phi: ArrayLike<number>
  psi: ArrayLike<number>
}

/** core-to-core statistics for one ordered pair A → B, summed over replicas */
export interface TransitionStats {
  /** number of A → B transitions (last-visited core A, first entry into core B) */
  count: number
  /** total time (ns) whose last-visited core is A */
  timeNs: number
  /** k_AB = count / timeNs (per ns); null when timeNs = 0 */
  ratePerNs: number | null
  /** relative standard error of the rate, 1/√count (Poisson); null when count = 0 */
  rateRelStderr: number | null
  /** when count = 0: 1/timeNs, the rate that would give one expected event; else null */
  upperRatePerNsIfZero: number | null
  /** 1/k_AB (ns); null when count = 0 */
  mfptNsFromRate: number | null
  /** mean duration (ns) of the A-sojourns that ended by entering B (from entering A to entering B) */
  meanFirstPassageNs: number | null
}

export interface TransitionTable {
  states: readonly string[]
  /** keyed "A->B" for every ordered pair A ≠ B of `states` */
  pairs: Record<string, TransitionStats>
  /** per state A: all transitions out of A, and their rate (per ns) over the time with last core A */
  fromState: Record<string, { count: number; timeNs: number; ratePerNs: number | null }>
}

/**
 * Core-to-core (milestoning) transition counting, as in the reference file: the trajectory is
 * labelled at each frame with the last core it visited (frames before the first core visit have no
 * label and are not counted). A transition A → B is counted when the label changes from A to B
 * (the frame first entering core B). Each frame interval [t, t+Δ) adds Δ to the time of the label
 * at frame t. Counts and times are summed over replicas; rates k_AB = N_AB / T_A per ns.
 * frameIntervalPs: time between frames in ps.
 */
export function transitionRates(replicas: readonly DihedralTrajectory[], frameIntervalPs: number, scheme: BasinScheme = 4): TransitionTable {
  if (!(frameIntervalPs > 0)) throw new RangeError(`transitionRates: frame interval must be > 0 ps, got ${frameIntervalPs}`)
  const names = namesOf(scheme)
  const S = names.length
  const count = new Float64Array(S * S)
  const passageSum = new Float64Array(S * S)
  const frames = new Float64Array(S) // frame intervals with last core A
  const dtNs = frameIntervalPs / 1000
  for (const { phi, psi } of replicas) {
    if (phi.length !== psi.length) throw new RangeError(`transitionRates: ${phi.length} φ but ${psi.length} ψ values`)
    let last = -1
    let enteredAt = 0
    for (let t = 0; t < phi.length; t++) {
      const c = coreIndexOf(phi[t]!, psi[t]!, scheme)
      if (c >= 0 && c !== last) {
        if (last >= 0) {
          count[last * S + c]!++
          passageSum[last * S + c]! += t - enteredAt
        }
        last = c
        enteredAt = t
      }
      if (last >= 0 && t + 1 < phi.length) frames[last]!++
    }
  }
  const pairs: Record<string, TransitionStats> = {}
  const fromState: Record<string, { count: number; timeNs: number; ratePerNs: number | null }> = {}
  for (let a = 0; a < S; a++) {
    const timeNs = frames[a]! * dtNs
    let out = 0
    for (let b = 0; b < S; b++) {
      if (a === b) continue
      const n = count[a * S + b]!
      out += n
      const rate = timeNs > 0 ? n / timeNs : null
      pairs[`${names[a]}->${names[b]}`] = {
        count: n,
        timeNs,
        ratePerNs: rate,
        rateRelStderr: n > 0 ? 1 / Math.sqrt(n) : null,
        upperRatePerNsIfZero: n === 0 && timeNs > 0 ? 1 / timeNs : null,
        mfptNsFromRate: n > 0 && rate ? 1 / rate : null,
        meanFirstPassageNs: n > 0 ? (passageSum[a * S + b]! * dtNs) / n : null,
      }
    }
    fromState[names[a]!] = { count: out, timeNs, ratePerNs: timeNs > 0 ? out / timeNs : null }
  }
  return { states: names, pairs, fromState }
}
