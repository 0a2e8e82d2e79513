/**
 * `diffmd analyze`: normalised ACF (mean over replicas ± standard error across replicas), τ_int with
 * Sokal's window, mean and variance of one observable of a JSON trajectory (docs/science.md "Observables and autocorrelation").
 * Frame interval: meta.frameIntervalPs (ps) when the run knew Δt, else η·innerSteps (meta.frameEta),
 * i.e. reduced time with D = 1; the output says which.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Command } from '../main'
import type { Observable } from '../../core/analysis/observables'
import type { Trajectory } from '../../core/trajectory'
import { parseArgs } from '../args'
import { UserError } from '../../core/errors'
import { trajectoryFromJson } from '../../core/trajectory'
import { replicaAcf } from '../../core/analysis/acf'
import { tauInt } from '../../core/analysis/tau-int'
import { backboneDihedrals, seriesOf } from '../../core/analysis/observables'
import { readPdb } from '../../core/formats/pdb'
import { analyseResidues, peptideResidues, residueSeries } from '../../core/analysis/residues'
import { select } from '../../core/selection'
import { checkSelection } from '../../services/datasets/selection'

/**
 * `--observable residues`: per residue with φ and ψ (docs/peptides.md) the basin populations,
 * C5/β ⇄ C7eq core-to-core rates and the τ_int of φ and ψ (unit-vector ACF, Sokal window).
 */
function analyseResiduesCli(traj: Trajectory, skip: number, F: number, maxLag: number, topology: ReturnType<typeof readPdb>, file: string, json: boolean): number {
  const d = traj.dim
  const residues = peptideResidues(topology.topology, topology.frames.subarray(0, d))
  if (residues.length === 0) fail('--observable residues: the topology has no residue with both φ and ψ (names N, CA, C bonded to neighbours; docs/peptides.md)')
  const replicas: Float32Array[] = []
  for (let r = 0; r < traj.replicas; r++) replicas.push(traj.data.subarray((r * traj.frames + skip) * d, (r * traj.frames + traj.frames) * d))
  const { dt, dtUnit } = frameInterval(traj.meta)
  const analysed = analyseResidues(residueSeries(replicas, d / 3, F, residues), dt, maxLag)
  const rows = analysed.map((a) => ({
    residue: a.label,
    populations: a.populations,
    rates: Object.fromEntries(Object.entries(a.rates.pairs).filter(([k, p]) => p.count > 0 || k === 'C5_beta->C7eq' || k === 'C7eq->C5_beta').map(([k, p]) => [k, { count: p.count, ratePerNs: p.ratePerNs, timeNs: p.timeNs }])),
    phi: { tauInt: a.phi.tauInt, tauIntConverged: a.phi.tauIntConverged, acf: a.phi.acf },
    psi: { tauInt: a.psi.tauInt, tauIntConverged: a.psi.tauIntConverged, acf: a.psi.acf },
  }))
  const result = { observable: 'residues', residues: rows, frames: F, skipped: skip, replicas: traj.replicas, dt, dtUnit, file: path.basename(file) }
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n')
    return 0
  }
  const fmt = (x: number | null): string => (x !== null && Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : '–')
  const pct = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–')
  const timeIsPs = dtUnit === 'ps'
  const lines = [`${result.file}: ${residues.length} residue(s) with φ and ψ, ${traj.replicas} replicas × ${F} frames, Δt per frame = ${fmt(dt)} ${dtUnit}`]
  lines.push(`residue  C5/β    C7eq    α_R     α_L/C7ax  τ_int φ   τ_int ψ   ${timeIsPs ? 'C5→C7eq /ns  C7eq→C5 /ns' : '(rates need a run that knew Δt in ps)'}`)
  for (const a of analysed) {
    const p = a.populations
    const f = a.rates.pairs['C5_beta->C7eq']!
    const b = a.rates.pairs['C7eq->C5_beta']!
    const tau = (t: { tauInt: number; tauIntConverged: boolean }): string => `${fmt(t.tauInt)}${t.tauIntConverged ? '' : '≥'}`
    lines.push(
      [a.label.padEnd(8), pct(p.C5_beta).padEnd(7), pct(p.C7eq).padEnd(7), pct(p.alpha_R).padEnd(7), pct(p.alpha_L_C7ax).padEnd(9), tau(a.phi).padEnd(9), tau(a.psi).padEnd(9), timeIsPs ? `${fmt(f.ratePerNs)} (${f.count})`.padEnd(12) + ` ${fmt(b.ratePerNs)} (${b.count})` : ''].join(' ')
    )
  }
  lines.push(`τ_int in ${timeIsPs ? 'ps' : dtUnit}; ≥: the window did not close (a lower bound; raise --max-lag)`)
  process.stdout.write(lines.join('\n') + '\n')
  return 0
}

const usage = `diffmd analyze — autocorrelation, τ_int, mean and variance of an observable

  diffmd analyze --in FILE.json --observable x0|x1|…|phi|psi|rmsd|rg|residues --max-lag L
                 [--topology ref.pdb] [--atoms EXPR] [--skip N] [--json]

  --in FILE         a JSON trajectory written by diffmd simulate
  --observable      xK: coordinate K (Å); phi, psi: first backbone dihedral (radians; needs --topology),
                    phi:I / psi:I for the I-th (0-based), phi:ALA3 / psi:ALA3 for a residue by name;
                    rmsd: RMSD after Kabsch to the --topology structure (else to replica 0, frame 0)
                    (Å); rg: radius of gyration (Å); residues: every residue with φ and ψ (needs
                    --topology; docs/peptides.md): basin populations, core-to-core rates, τ_int of
                    φ and ψ per residue
  --atoms EXPR      rmsd / rg over a selection only (docs/selection.md; needs --topology), e.g. 'backbone'
  --max-lag L       largest lag of the ACF, in saved frames
  --topology FILE   PDB of the same atoms (names for φ/ψ, reference for rmsd)
  --skip N          drop the first N frames of every replica (equilibration; default 0)
  --json            print { observable, acf, stderr, tauInt, mean, variance, frames, replicas, dt, dtUnit, … }
Angles use the unit-vector ACF; their mean is the circular mean and their variance 1 − |⟨(cos θ, sin θ)⟩|.`

const spec = { in: 'string', observable: 'string', 'max-lag': 'int', topology: 'string', atoms: 'string', skip: 'int', json: 'boolean' } as const

function fail(message: string): never {
  throw new UserError(`analyze: ${message}`, 'bad-flag')
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    fail(`--${flag} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined
}

/** physical (ps) or reduced time per saved frame */
export function frameInterval(meta: Record<string, unknown>): { dt: number; dtUnit: string } {
  const ps = num(meta.frameIntervalPs)
  if (ps !== undefined) return { dt: ps, dtUnit: 'ps' }
  const frameEta = num(meta.frameEta) ?? (num(meta.eta) !== undefined ? num(meta.eta)! * (num(meta.innerSteps) ?? 1) : undefined)
  if (frameEta !== undefined) return { dt: frameEta, dtUnit: 'reduced (η·innerSteps in Å², i.e. time with D = 1)' }
  return { dt: 1, dtUnit: 'frames (the trajectory records no time step)' }
}

const cmd: Command = {
  summary: 'autocorrelation, τ_int, mean and variance of an observable',
  usage,
  async run(argv) {
    const { flags } = parseArgs('analyze', argv, spec)
    const file = flags.in as string | undefined
    if (file === undefined) fail('--in is required (a .json trajectory)')
    if (path.extname(file).toLowerCase() !== '.json') fail(`--in ${file}: only .json trajectories can be analysed (convert with diffmd export)`)
    const obsName = flags.observable as string | undefined
    if (obsName === undefined) fail('--observable is required (x0, x1, …, phi, psi, rmsd, rg or residues)')
    const maxLag = flags['max-lag']
    if (maxLag === undefined) fail('--max-lag is required (largest lag in frames)')
    if (typeof maxLag !== 'number' || !Number.isInteger(maxLag) || maxLag < 1) fail(`--max-lag must be a whole number ≥ 1 (got ${String(maxLag)})`)
    const skip = flags.skip === undefined ? 0 : (flags.skip as number)
    if (!(skip >= 0)) fail(`--skip must be ≥ 0 (got ${skip})`)

    const traj: Trajectory = trajectoryFromJson(await readText(file, 'in'), file)
    const d = traj.dim
    const F = traj.frames - skip
    if (F < 2) fail(`--skip ${skip} leaves ${F} frames per replica; at least 2 are needed`)
    if (maxLag > F - 1) fail(`--max-lag ${maxLag} exceeds the ${F - 1} lags available (${F} frames per replica)`)

    let topology: ReturnType<typeof readPdb> | undefined
    if (flags.topology !== undefined) {
      const top = flags.topology as string
      topology = readPdb(await readText(top, 'topology'), top)
      if (3 * topology.topology.atoms.length !== d) fail(`--topology ${top} has ${topology.topology.atoms.length} atoms, the trajectory ${d} coordinates (${d / 3} atoms)`)
    }

    // ---- the observable ----
    let kind: 'scalar' | 'angle' = 'scalar'
    let obs: Observable | undefined
    let coordinate: number | undefined
    let reference: Float32Array | undefined
    let label = obsName
    const m = /^x(\d+)$/.exec(obsName)
    const dih = /^(phi|psi)(?::(\d+|[A-Za-z0-9:]+))?$/.exec(obsName)
    if (flags.atoms !== undefined && obsName !== 'rmsd' && obsName !== 'rg') fail(`--atoms applies to rmsd and rg only (got --observable ${obsName})`)
    if (obsName === 'residues') {
      if (!topology) fail('--observable residues needs --topology ref.pdb (atom names and bonds find the residues)')
      return analyseResiduesCli(traj, skip, F, maxLag, topology, file, flags.json === true)
    }
    if (m) {
      coordinate = Number(m[1])
      if (coordinate >= d) fail(`--observable ${obsName}: the trajectory has coordinates x0 … x${d - 1}`)
    } else if (dih) {
      if (!topology) fail(`--observable ${obsName} needs --topology ref.pdb (atom names find the backbone)`)
      const which = dih[1] as 'phi' | 'psi'
      const list = backboneDihedrals(topology.topology, topology.frames.subarray(0, d))[which]
      const byName = dih[2] !== undefined && !/^\d+$/.test(dih[2])
      const def = byName ? list.find((x) => x.name.slice(2) === dih[2]) : list[dih[2] === undefined ? 0 : Number(dih[2])]
      if (!def) fail(`--observable ${obsName}: the topology has ${list.length} ${which} dihedral(s)${list.length ? ` (${list.map((x) => `${which}:${x.name.slice(2)}`).join(', ')})` : ''}`)
      obs = { kind: 'dihedral', atoms: def.atoms }
      kind = 'angle'
      label = `${obsName} (${def.name})`
    } else if (obsName === 'rmsd' || obsName === 'rg') {
      if (d % 3 !== 0) fail(`--observable ${obsName} needs 3-D atoms (d = 3N); this trajectory has d = ${d}`)
      let atoms: number[] | undefined
      if (flags.atoms !== undefined) {
        if (!topology) fail('--atoms needs --topology ref.pdb (atom names)')
        checkSelection(flags.atoms, 'analyze: --atoms')
        atoms = select(topology.topology, flags.atoms as string)
        if (atoms.length < (obsName === 'rmsd' ? 3 : 1)) fail(`--atoms '${String(flags.atoms)}' selects ${atoms.length} atom(s); ${obsName} needs at least ${obsName === 'rmsd' ? 3 : 1}`)
        label = `${obsName} (${String(flags.atoms)}, ${atoms.length} atoms)`
      }
      obs = obsName === 'rg' ? { kind: 'rg', ...(atoms ? { atoms } : {}) } : { kind: 'rmsd', ...(atoms ? { atoms } : {}) }
      if (obsName === 'rmsd') reference = topology ? topology.frames.slice(0, d) : traj.data.slice(0, d)
    } else {
      fail(`--observable must be x0 … x${d - 1}, phi, psi, rmsd, rg or residues (got '${obsName}')`)
    }

    const series: Float64Array[] = []
    for (let r = 0; r < traj.replicas; r++) {
      const frames = traj.data.subarray((r * traj.frames + skip) * d, (r * traj.frames + traj.frames) * d)
      if (coordinate !== undefined) {
        const s = new Float64Array(F)
        for (let f = 0; f < F; f++) s[f] = frames[f * d + coordinate]!
        series.push(s)
      } else {
        series.push(seriesOf(frames, d / 3, F, obs!, reference))
      }
    }

    // ---- statistics ----
    const { mean: acf, stderr } = replicaAcf(series, maxLag, kind)
    const { dt, dtUnit } = frameInterval(traj.meta)
    const tau = tauInt(acf, dt)
    let mean: number
    let variance: number
    const n = traj.replicas * F
    if (kind === 'angle') {
      let c = 0
      let s = 0
      for (const a of series) for (const v of a) { c += Math.cos(v); s += Math.sin(v) }
      c /= n
      s /= n
      mean = Math.atan2(s, c)
      variance = 1 - Math.hypot(c, s)
    } else {
      let s1 = 0
      for (const a of series) for (const v of a) s1 += v
      mean = s1 / n
      let s2 = 0
      for (const a of series) for (const v of a) s2 += (v - mean) ** 2
      variance = s2 / Math.max(1, n - 1)
    }
    const result = {
      observable: label,
      kind,
      acf: Array.from(acf),
      stderr: Array.from(stderr),
      tauInt: tau.tau,
      tauIntConverged: tau.converged,
      tauIntWindowLags: tau.windowLags,
      mean,
      variance,
      frames: F,
      skipped: skip,
      replicas: traj.replicas,
      dt,
      dtUnit,
      unit: kind === 'angle' ? 'rad' : 'Å',
      file: path.basename(file),
    }
    if (flags.json) {
      process.stdout.write(JSON.stringify(result) + '\n')
      return 0
    }
    const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(5)).toString() : 'n/a')
    const lines = [
      `${result.file}: ${label}, ${traj.replicas} replicas × ${F} frames, Δt per frame = ${fmt(dt)} ${dtUnit}`,
      `mean ${fmt(mean)} ${result.unit}${kind === 'angle' ? ' (circular)' : ''}, variance ${fmt(variance)}${kind === 'angle' ? ' (circular)' : ` ${result.unit}²`}`,
      `τ_int = ${fmt(tau.tau)} (${dtUnit}; window ${tau.windowLags} lags${tau.converged ? '' : ', not converged: a lower bound — raise --max-lag'})`,
      `ACF: ${Array.from(acf.subarray(0, Math.min(acf.length, 11)), (v, k) => `${k}:${fmt(v)}±${fmt(stderr[k]!)}`).join('  ')}${acf.length > 11 ? ' …' : ''}`,
    ]
    process.stdout.write(lines.join('\n') + '\n')
    return 0
  },
}
export default cmd
