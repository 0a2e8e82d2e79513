/**
 * Model ensembles (docs/training.md "Ensembles"): K models trained on the same snapshots with
 * different seeds, written as ONE model file whose score and energy are the members' means,
 *   s(x, σ) = (1/K) Σₖ sₖ(x, σ),   E(x, σ) = (1/K) Σₖ Eₖ(x, σ)   (so s = −∇ₓE still holds).
 * Why: the learned small-σ energy's basin balance differs from seed to seed by as much as between
 * training recipes (bench/RESULTS.md); its seed-to-seed part is random, and the mean of K members
 * has 1/K of its variance. The cost is K network evaluations per call.
 */
import { Graph, type Tensor } from './graph'
import type { ModelCard } from './card'
import { inlineOnnx } from './inline'
import { decodeModel } from './onnx-proto'
import { SIGMA_DIM } from '../score/onnx-score'

export interface EnsembleMember {
  bytes: Uint8Array
  card: ModelCard
  /** file name for error messages */
  file: string
}

const same = (a: number[] | undefined, b: number[] | undefined, tol: number): boolean =>
  a === undefined || b === undefined ? a === b : a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(v)))

/** a one-line reason when the members cannot be averaged (different molecule, data or alignment), else undefined */
export function ensembleProblem(members: EnsembleMember[]): string | undefined {
  if (members.length < 2) return `an ensemble needs at least 2 models (got ${members.length})`
  const [a] = members
  for (const m of members.slice(1)) {
    const c = m.card
    if (c.dim !== a!.card.dim) return `${m.file}: d = ${c.dim}, but ${a!.file} has d = ${a!.card.dim}; members must model the same atoms`
    if (c.aligned !== a!.card.aligned) return `${m.file}: aligned = ${c.aligned}, but ${a!.file} has aligned = ${a!.card.aligned}`
    if (!same(c.reference, a!.card.reference, 1e-6)) return `${m.file}: its alignment reference differs from ${a!.file}'s; train the members on the same dataset`
    if (JSON.stringify(c.atoms?.indices) !== JSON.stringify(a!.card.atoms?.indices)) return `${m.file}: its atom selection differs from ${a!.file}'s`
    const hasE = (x: EnsembleMember) => x.card.onnx.outputs.includes('energy')
    if (hasE(m) !== hasE(a!)) return `${m.file}: ${hasE(m) ? 'has' : 'lacks'} an energy output and ${a!.file} does not; members must be all energy models or all score models`
  }
  return undefined
}

/** the ensemble's ONNX bytes: inputs x[B, d], sigma[B] (or [B_or_1] when every member takes sigma[1]) → score[B, d] (and energy[B] when every member has one) */
export function buildEnsembleBytes(members: EnsembleMember[], opts: { producerVersion?: string } = {}): Uint8Array {
  return buildEnsemble(members, opts).bytes
}

/** the ensemble's ONNX bytes with the opset and outputs its card records */
export function buildEnsemble(members: EnsembleMember[], opts: { producerVersion?: string } = {}): { bytes: Uint8Array; opset: number; outputs: string[] } {
  const why = ensembleProblem(members)
  if (why) throw new Error(`ensemble: ${why}`)
  const d = members[0]!.card.dim
  const g = new Graph('diffmd-ensemble', 'float32')
  const x = g.input('x', 'float32', ['B', d])
  const inlined = members.map((m, k) => inlineOnnx(decodeModel(m.bytes), `m${k}/`, `ensemble (${m.file})`))
  // sigma[1] for a batch that shares its σ when every member takes it (docs/speed.md "One σ for the whole batch")
  const sigma = g.input('sigma', 'float32', [inlined.every((inl) => inl.sharedSigma) ? SIGMA_DIM : 'B'])
  let opset = 13
  const scores: Tensor[] = []
  const energies: Tensor[] = []
  inlined.forEach((inl) => {
    opset = Math.max(opset, inl.opset)
    const out = inl.emit(g, x, sigma)
    scores.push(out.get('score')!)
    const e = out.get('energy')
    if (e) energies.push(e)
  })
  const mean = (ts: Tensor[]) => g.mul(ts.slice(1).reduce((acc, t) => g.add(acc, t), ts[0]!), g.scalar(1 / ts.length, 'float32'))
  g.output(mean(scores), 'score')
  if (energies.length === members.length) g.output(mean(energies), 'energy')
  const bytes = g.toBytes({
    opset,
    producerVersion: opts.producerVersion,
    docString: `DiffMD Studio ensemble of ${members.length} models (mean score${energies.length ? ' and energy' : ''}): x[B,d] Å, sigma[B] Å → score[B,d] Å⁻¹${energies.length ? ', energy[B]' : ''}`,
  })
  return { bytes, opset, outputs: energies.length ? ['score', 'energy'] : ['score'] }
}

/** the ensemble's card: the first member's, with the architecture, training and onnx fields describing the ensemble */
export function ensembleCard(members: EnsembleMember[], onnx: ModelCard['onnx'], meta: { name?: string; appVersion: string; createdAt: string }): ModelCard {
  const first = members[0]!.card
  const { selfCheck: _stale, ...base } = first
  const arch = first.architecture
  const parameters = members.reduce((s, m) => s + ('parameters' in m.card.architecture ? m.card.architecture.parameters : 0), 0)
  const lo = Math.max(...members.map((m) => m.card.sigmaRange?.[0] ?? 0))
  const hi = Math.min(...members.map((m) => m.card.sigmaRange?.[1] ?? Infinity))
  return {
    ...base,
    name: meta.name ?? `${first.name} (ensemble of ${members.length})`,
    architecture: arch.arch === 'imported' ? arch : { ...arch, parameters },
    ...(Number.isFinite(hi) && hi > lo ? { sigmaRange: [lo, hi] as [number, number] } : {}),
    ensemble: members.map((m) => ({
      file: m.file,
      sha256: m.card.onnx.sha256,
      ...(m.card.training ? { seed: m.card.training.seed, steps: m.card.training.stepsRun, valLoss: m.card.training.valLoss } : {}),
    })),
    onnx,
    appVersion: meta.appVersion,
    createdAt: meta.createdAt,
  }
}
