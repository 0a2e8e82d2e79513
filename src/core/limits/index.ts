/**
 * What DiffMD Studio supports, and how long training and sampling will take, said before they start
 * (docs/peptides.md "Larger molecules"). Pure functions of the sizes; the constants are fitted to
 * `npm run bench:molecules` (bench/RESULTS.md: 210–3,312 atoms, default recipe, 1 onnxruntime thread
 * on a shared 2-core AMD EPYC), good to about ±30 % there. Another CPU scales them all alike.
 */

/** the most atoms a model is trained or sampled for; beyond, select fewer (e.g. `name CA`, `backbone`) */
export const MAX_ATOMS = 5000
/** the atoms DiffMD Studio has been validated on (alanine di- and tripeptide: 22 and 32 atoms) */
export const VALIDATED_ATOMS = 32

export interface NetSize {
  atoms: number
  arch?: 'energy-mlp' | 'score-mlp'
  width?: number
  depth?: number
  embDim?: number
}

/** parameters of the MLP (src/core/nn/arch.ts paramDefs): per layer W, E, b; the output layer */
export function paramCount(n: NetSize): number {
  const dim = 3 * n.atoms
  const width = n.width ?? 256
  const depth = n.depth ?? 3
  const emb = n.embDim ?? 32
  const out = (n.arch ?? 'energy-mlp') === 'score-mlp' ? dim : 1
  return dim * width + (depth - 1) * width * width + depth * (emb * width + width) + width * out + out
}

// Training: seconds per Adam step ≈ T0 · (B·P / BP0)^ALPHA — fitted through the 214-atom (0.106 s at
// B·P = 1.64e8) and 3,312-atom (1.94 s at 1.38e9) energy-mlp runs; the 1,656-atom run (0.69 s)
// lies 18 % under the curve. Fixed start-up (reading, graph building, export): STARTUP_S.
const T0 = 0.106
const BP0 = 1.64e8
const ALPHA = 1.36
const STARTUP_S = 4
// Memory of training: a base plus a part proportional to batch × 3N (activations and their
// gradients), fitted to 337 / 743 / 1213 MiB at 214 / 1,656 / 3,312 atoms, batch 512.
const MEM_BASE_MIB = 272
const MEM_PER_BATCH_DIM_MIB = 1.85e-4
// Sampling: seconds per network evaluation ≈ EVAL0 + EVAL_PER_PARAM · P; a bridge adapter step with
// the tweedie scheme makes 2 evaluations per reverse level (M levels) per replica. Upper envelope of
// the 214 / 1,656 / 3,312-atom runs (0.027 / 0.064 / 0.30 s per frame at 4 replicas, M = 10).
const EVAL0 = 1e-4
const EVAL_PER_PARAM = 1.3e-9

export interface TrainingEstimate {
  params: number
  secondsPerStep: number
  seconds: number
  memoryMiB: number
}

export function estimateTraining(n: NetSize & { steps: number; batch?: number }): TrainingEstimate {
  const params = paramCount(n)
  const batch = n.batch ?? 512
  // measured for energy-mlp (the default); score-mlp (no second derivative) is not measured at these
  // sizes and is given the same figure, an upper bound
  const secondsPerStep = T0 * Math.pow((batch * params) / BP0, ALPHA)
  return { params, secondsPerStep, seconds: STARTUP_S + n.steps * secondsPerStep, memoryMiB: MEM_BASE_MIB + MEM_PER_BATCH_DIM_MIB * batch * 3 * n.atoms }
}

export interface SamplingEstimate {
  evaluations: number
  seconds: number
}

export function estimateSampling(n: NetSize & { replicas: number; frames: number; denoiseSteps?: number; innerSteps?: number }): SamplingEstimate {
  const params = paramCount(n)
  const perEval = EVAL0 + EVAL_PER_PARAM * params
  const evaluations = n.replicas * Math.max(0, n.frames - 1) * (n.innerSteps ?? 1) * (n.denoiseSteps ?? 10) * 2
  return { evaluations, seconds: 1 + evaluations * perEval }
}

/** "45 s", "12 min", "3.4 h", "2.1 days" */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '–'
  if (s < 90) return `${Math.max(1, Math.round(s))} s`
  if (s < 5400) return `${Math.round(s / 60)} min`
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86400).toFixed(1)} days`
}

export type Verdict = 'ok' | 'slow' | 'hopeless' | 'unsupported'

/** ok under an hour, slow up to a day, hopeless beyond; unsupported above MAX_ATOMS whatever the time */
export function verdictOf(atoms: number, seconds: number): Verdict {
  if (atoms > MAX_ATOMS) return 'unsupported'
  if (seconds > 86400) return 'hopeless'
  if (seconds > 3600) return 'slow'
  return 'ok'
}

/**
 * The one line shown before a job starts: size, estimated time and memory, and what to do when it is
 * slow, hopeless or unsupported. `what` names the job ("training", "sampling").
 */
export function describeEstimate(
  what: 'training' | 'sampling',
  atoms: number,
  seconds: number,
  memoryMiB?: number,
  /** the advice to select fewer atoms, worded for where the line is shown (default: the CLI's flag) */
  fewer = "select fewer atoms (e.g. --select 'name CA' or 'backbone'; docs/selection.md)"
): { verdict: Verdict; line: string } {
  const verdict = verdictOf(atoms, seconds)
  const mem = memoryMiB !== undefined ? `, about ${memoryMiB >= 1024 ? `${(memoryMiB / 1024).toFixed(1)} GiB` : `${Math.round(memoryMiB / 10) * 10} MiB`} of memory` : ''
  const base = `${what} ${atoms.toLocaleString('en-US')} atoms: about ${formatDuration(seconds)} on one CPU thread of the benchmark machine${mem}`
  switch (verdict) {
    case 'unsupported':
      return { verdict, line: `${base}; DiffMD Studio supports at most ${MAX_ATOMS.toLocaleString('en-US')} atoms: ${fewer}` }
    case 'hopeless':
      return { verdict, line: `${base} — more than a day: ${fewer}, or fewer steps/frames` }
    case 'slow':
      return { verdict, line: `${base} — over an hour${atoms > VALIDATED_ATOMS ? `; validated on peptides of up to ${VALIDATED_ATOMS} atoms (docs/peptides.md)` : ''}` }
    default:
      return { verdict, line: base }
  }
}
