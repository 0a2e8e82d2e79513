/**
 * Fidelity of learned dynamics on real data (docs/science.md "Measured against GROMACS", "Comparing like with like"): alanine dipeptide, bridge adapter
 * steps with Δt = 5 ps, D = 0.0498868 Å²/ps, T = 300 K, compared with GROMACS Brownian dynamics
 * (data/ala2/gromacs_bd_reference.json): Ramachandran JSD (60×60), C5 share of C5+C7eq,
 * core-to-core C5⇄C7eq rates, τ_int of the φ/ψ unit vectors.
 * Targets: JSD ≤ 0.02, C5 share within 0.05, rates within 25 %.
 *
 *   npm run bench:fidelity -- [--model FILE.onnx] [--train-steps N] [--replicas R] [--ns NS]
 *                             [--denoise-steps M] [--sigma-min Å] [--seed S] [--threads T] [--json FILE]
 * Without --model it uses resources/models/ala2-default.onnx when present, else trains one
 * (--train-steps, default 20000, ≈ 10 min on 2 cores) into out/bench/.
 */
import { findRoot } from './root'
import { promises as fs, existsSync } from 'node:fs'
import path from 'node:path'
import { openModelFile, trustRegionOf } from '../src/services/models/open'
import { loadTrainingFrames } from '../src/services/models/training-data'
import { startTrainingJob } from '../src/services/models/train-job'
import { sha256Hex } from '../src/services/models/hash'
import { buildCard } from '../src/core/nn/card'
import { VERSION } from '../src/core/version'
import { runTrajectory } from '../src/core/sampler/runner'
import { fillUniforms } from '../src/core/nn/random'
import { backboneDihedrals, seriesOf } from '../src/core/analysis/observables'
import { ramachandran } from '../src/core/analysis/histogram'
import { jsd } from '../src/core/analysis/jsd'
import { basinPopulations, transitionRates, type DihedralTrajectory } from '../src/core/analysis/basins'
import { replicaAcf } from '../src/core/analysis/acf'
import { tauInt } from '../src/core/analysis/tau-int'
import type { Topology } from '../src/core/topology'

const root = findRoot()
const argv = process.argv.slice(2)
const arg = (name: string, fallback?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : fallback
}
const D = 0.0498868
const DT = 5
const T = 300

const dataCandidates = [path.join(root, 'resources/examples/ala2')]
const dataDir = dataCandidates.find((d) => existsSync(path.join(d, 'ala2_snapshots_all.pdb.gz')))!
const refFile = [path.join(dataDir, 'gromacs_bd_reference.json')].find((f) => existsSync(f))
if (!refFile) throw new Error('gromacs_bd_reference.json not found (looked in resources/examples/ala2)')
const snapshots = path.join(dataDir, 'ala2_snapshots_all.pdb.gz')

interface Reference {
  ramachandran: { probability: number[][] }
  basin_populations_4: Record<string, number>
  transition_rates_4: Record<string, { rate_per_ns: number; rate_rel_stderr: number | null }>
  tau_int: Record<string, { tau_int_ps: number; replica_stderr_ps: number }>
}

async function ensureModel(): Promise<string> {
  const given = arg('model')
  if (given) return given
  const def = path.join(root, 'resources/models/ala2-default.onnx')
  if (existsSync(def) && !arg('train-steps')) return def
  const out = path.join(root, 'out/bench/ala2-fidelity.onnx')
  const steps = Number(arg('train-steps', '20000'))
  console.log(`training a score-mlp (66→256×3→66) for ${steps} steps on ${path.basename(snapshots)} …`)
  const loaded = await loadTrainingFrames(snapshots, { select: 'all' })
  const job = startTrainingJob(
    { data: { frames: loaded.frames, nFrames: loaded.nFrames, dim: loaded.dim }, options: { arch: 'score-mlp', steps, seed: Number(arg('seed', '0')), threads: Number(arg('threads', '1')) } },
    { onLog: (l) => console.log('  ' + l) }
  )
  const res = await job.done
  const card = buildCard(
    res.result,
    {
      name: 'ala2 fidelity bench',
      sources: [snapshots],
      atoms: { selection: 'all', indices: loaded.indices!, records: loaded.topology!.atoms },
      aligned: true,
      reference: loaded.reference,
      temperature: T,
      appVersion: VERSION,
      createdAt: new Date().toISOString(),
    },
    { sha256: sha256Hex(res.onnx), bytes: res.onnx.length }
  )
  await fs.mkdir(path.dirname(out), { recursive: true })
  await fs.writeFile(out, res.onnx)
  await fs.writeFile(out.replace(/\.onnx$/, '.card.json'), JSON.stringify(card, null, 2))
  return out
}

function dihedralSeries(frames: Float32Array, nFrames: number, top: Topology): { phi: Float64Array; psi: Float64Array } {
  const bb = backboneDihedrals(top)
  const phiDef = bb.phi[0]
  const psiDef = bb.psi[0]
  if (!phiDef || !psiDef) throw new Error('no φ/ψ found in the topology')
  const n = top.atoms.length
  return { phi: seriesOf(frames, n, nFrames, { kind: 'dihedral', atoms: phiDef.atoms }), psi: seriesOf(frames, n, nFrames, { kind: 'dihedral', atoms: psiDef.atoms }) }
}

const modelFile = await ensureModel()
const ref = JSON.parse(await fs.readFile(refFile, 'utf8')) as Reference
const refRama = Float64Array.from(ref.ramachandran.probability.flat())
const opened = await openModelFile(modelFile, { threads: Number(arg('threads', '1')) })
const { model, card } = opened
if (!card?.atoms?.records || !card.reference) throw new Error(`${modelFile}: the card has no atoms/reference (train on the ala2 PDB)`)
const top: Topology = { atoms: card.atoms.records }
const d = model.dim
const R = Number(arg('replicas', '16'))
const ns = Number(arg('ns', '10'))
const F = Math.round((ns * 1000) / DT) + 1
const M = Number(arg('denoise-steps', '20'))
const sigmaMin = Number(arg('sigma-min', String(0.05 * card.sigmaData!)))
const seed = Number(arg('seed', '1'))

// initial frames: random training snapshots aligned to the model reference
const pool = await loadTrainingFrames(snapshots, { indices: card.atoms.indices, reference: Float32Array.from(card.reference) })
const pick = new Float64Array(R)
fillUniforms(pick, seed, 0xfffffff0, 0)
const init = new Float32Array(R * d)
for (let r = 0; r < R; r++) {
  const f = Math.floor(pick[r]! * pool.nFrames)
  init.set(pool.frames.subarray(f * d, (f + 1) * d), r * d)
}

console.log(`model ${path.relative(root, modelFile)} (${card.architecture.arch}, val loss ${card.training?.valLoss?.toFixed(4) ?? '—'}); bridge Δt = ${DT} ps, D = ${D} Å²/ps (η = ${(D * DT).toFixed(4)} Å², σ_K = ${Math.sqrt(D * DT).toFixed(3)} Å), M = ${M}, σ_min = ${sigmaMin.toFixed(4)} Å; ${R} replicas × ${ns} ns`)
const t0 = Date.now()
let lastPct = -1
const run = await runTrajectory(
  model,
  { mode: 'bridge', eta: D * DT, innerSteps: 1, denoiseSteps: M, sigmaMin, replicas: R, frames: F, seed, trustRegion: trustRegionOf(card) },
  init,
  {
    onProgress: (done, total) => {
      const p = Math.floor((10 * done) / total)
      if (p !== lastPct) {
        lastPct = p
        process.stdout.write(`\r  sampling ${10 * p}%`)
      }
    },
  }
)
const wall = (Date.now() - t0) / 1000
process.stdout.write('\n')
const traj = run.trajectory
const reps: DihedralTrajectory[] = []
const allPhi: number[] = []
const allPsi: number[] = []
for (let r = 0; r < R; r++) {
  const s = dihedralSeries(traj.data.subarray(r * traj.frames * d, (r + 1) * traj.frames * d), traj.frames, top)
  reps.push(s)
  for (let f = 1; f < traj.frames; f++) {
    allPhi.push(s.phi[f]!)
    allPsi.push(s.psi[f]!)
  }
}
const rama = ramachandran(allPhi, allPsi)
const pops = basinPopulations(allPhi, allPsi)
const rates = transitionRates(reps, DT)
const acfPhi = replicaAcf(reps.map((s) => s.phi), Math.min(2000, traj.frames - 1), 'angle')
const acfPsi = replicaAcf(reps.map((s) => s.psi), Math.min(2000, traj.frames - 1), 'angle')
const tauPhi = tauInt(acfPhi.mean, DT)
const tauPsi = tauInt(acfPsi.mean, DT)
// the training snapshots themselves, for scale
const data = dihedralSeries(pool.frames, pool.nFrames, top)
const dataJsd = jsd(ramachandran(data.phi, data.psi), refRama)
const dataPops = basinPopulations(data.phi, data.psi)

const c5 = (p: Record<string, number>) => p.C5_beta! / (p.C5_beta! + p.C7eq!)
const refC5 = c5(ref.basin_populations_4)
const kF = rates.pairs['C5_beta->C7eq']!.ratePerNs ?? NaN
const kB = rates.pairs['C7eq->C5_beta']!.ratePerNs ?? NaN
const refF = ref.transition_rates_4['C5_beta->C7eq']!.rate_per_ns
const refB = ref.transition_rates_4['C7eq->C5_beta']!.rate_per_ns
const result = {
  model: path.relative(root, modelFile),
  sampler: { mode: 'bridge', dtPs: DT, D, eta: D * DT, M, sigmaMin, replicas: R, nsPerReplica: ns, seed },
  wallSeconds: wall,
  nsPerSecond: (R * ns) / wall,
  rejections: run.rejections.reduce((a, b) => a + b, 0),
  jsd: jsd(rama, refRama),
  c5Share: c5(pops),
  refC5Share: refC5,
  populations: pops,
  rates: { 'C5->C7eq': kF, 'C7eq->C5': kB, counts: [rates.pairs['C5_beta->C7eq']!.count, rates.pairs['C7eq->C5_beta']!.count] },
  refRates: { 'C5->C7eq': refF, 'C7eq->C5': refB },
  tauInt: { phi: tauPhi.tau, psi: tauPsi.tau },
  refTauInt: { phi: ref.tau_int.phi_unitvector!.tau_int_ps, psi: ref.tau_int.psi_unitvector!.tau_int_ps },
  snapshots: { jsd: dataJsd, c5Share: c5(dataPops) },
}
const ok = {
  jsd: result.jsd <= 0.02,
  c5: Math.abs(result.c5Share - refC5) <= 0.05,
  kF: Math.abs(kF / refF - 1) <= 0.25,
  kB: Math.abs(kB / refB - 1) <= 0.25,
}
const mark = (b: boolean) => (b ? 'ok ' : 'MISS')
console.log(`
                      learned (bridge)   GROMACS BD     target
  Ramachandran JSD    ${result.jsd.toFixed(4).padEnd(18)} —              ≤ 0.02   ${mark(ok.jsd)}   (the ${pool.nFrames} snapshots: ${dataJsd.toFixed(4)})
  C5 share            ${result.c5Share.toFixed(3).padEnd(18)} ${refC5.toFixed(3).padEnd(14)} ±0.05    ${mark(ok.c5)}   (snapshots: ${c5(dataPops).toFixed(3)})
  k C5→C7eq (/ns)     ${kF.toFixed(2).padEnd(18)} ${refF.toFixed(2).padEnd(14)} ±25 %    ${mark(ok.kF)}   (${result.rates.counts[0]} transitions)
  k C7eq→C5 (/ns)     ${kB.toFixed(2).padEnd(18)} ${refB.toFixed(2).padEnd(14)} ±25 %    ${mark(ok.kB)}   (${result.rates.counts[1]} transitions)
  τ_int φ / ψ (ps)    ${`${tauPhi.tau.toFixed(0)} / ${tauPsi.tau.toFixed(0)}`.padEnd(18)} ${`${result.refTauInt.phi.toFixed(0)} / ${result.refTauInt.psi.toFixed(0)}`.padEnd(14)}
  α_R population      ${(pops.alpha_R ?? 0).toFixed(4).padEnd(18)} ${(ref.basin_populations_4.alpha_R ?? 0).toFixed(4)}
  ${R * ns} ns in ${wall.toFixed(1)} s (${result.nsPerSecond.toFixed(1)} ns/s), ${run.modelCalls} model calls, ${result.rejections} trust-region rejections`)
const jsonOut = arg('json')
if (jsonOut) await fs.writeFile(jsonOut, JSON.stringify({ ...result, pass: ok }, null, 2))
await model.dispose()
