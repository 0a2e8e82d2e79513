/**
 * Writes a trajectory to a file chosen by extension:
 *   .pdb   multi-model PDB (MODEL/ENDMDL per frame; replicas one after another, REMARKs say which)
 *   .dcd   CHARMM DCD + a topology PDB beside it, `x.dcd` → `x.top.pdb` (never `x.pdb`, which may be
 *          a PDB trajectory exported before), so `mdtraj.load('x.dcd', top='x.top.pdb')` opens the pair
 *   .xyz   multi-frame XYZ, comment line `frame=<f> replica=<r> [time_ps=<t>] source=diffmd`
 *   .json  the JSON trajectory format of src/core/trajectory.ts
 *   .xtc   GROMACS XTC (compressed, nm, precision 0.001 nm; step = frame index, time = frame ·
 *          interval in ps, or the frame index when the interval is unknown) + `x.top.pdb` like DCD
 * plus `<file>.provenance.json` beside each trajectory file (app, version, time, its own file name
 * and format, the replicas it holds and where each begins, provenance, trajectory meta). Provenance
 * also goes into REMARK lines (PDB) and DCD titles. A file holding several replicas is a
 * CONCATENATION of independent trajectories, not one continuous run: its REMARKs / titles say so
 * and the sidecar lists the replica boundaries (`concatenated`, `replicaBoundaries`).
 *
 * The steps: pick the replicas, resolve the atoms, choose the names (`existing: 'unique'` never
 * replaces a file: the stem gets -2, -3, … until no name of the set exists), write every file to a
 * temporary sibling frame by frame (never the whole file in memory), then move them into place
 * together — so an error leaves no partial output, and with 'unique' a file that appeared meanwhile
 * is never replaced (the move refuses to clobber).
 *
 * Without a topology (analytic systems) PDB/DCD/XYZ use dummy atoms: ⌈d/3⌉ atoms named X
 * (residue DUM, element X), 3 coordinates per atom, the last atom padded with zeros when d is not a
 * multiple of 3. JSON keeps the d coordinates as they are.
 */
import path from 'node:path'
import type { Trajectory } from '../../core/trajectory'
import type { AtomRecord, Topology } from '../../core/topology'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { pdbHeaderText, pdbModelText } from '../../core/formats/pdb'
import { xyzFrameText } from '../../core/formats/xyz'
import { DcdWriter } from '../../core/formats/dcd'
import { XtcWriter, boxFromCell } from '../../core/formats/xtc'
import { AtomicOutput } from './atomic-output'
import { isDiskFull, writeError } from '../fs/atomic'
import { exists } from '../fs/paths'

export interface WriteTrajectoryOptions {
  /** topology for PDB/DCD/XYZ atom names; analytic systems have none (XYZ then uses 'X' atoms, 3 coordinates each, zero-padded) */
  topology?: Topology
  /** only this replica (0-based; default: all, one after another in one file) */
  replica?: number
  /** provenance for REMARK lines and the sidecar JSON */
  provenance?: Record<string, unknown>
  /** 'overwrite' (default; a name the user gave): the set replaces those files; 'unique': never replace a file, add -2, -3, … to the name */
  existing?: 'overwrite' | 'unique'
}

export const EXPORT_FORMATS = ['pdb', 'dcd', 'xyz', 'json', 'xtc'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export function formatOfFile(file: string): ExportFormat | undefined {
  const ext = path.extname(file).toLowerCase().slice(1)
  return (EXPORT_FORMATS as readonly string[]).includes(ext) ? (ext as ExportFormat) : undefined
}

/** the topology PDB written beside a coordinates-only file: x.dcd → x.top.pdb */
export function topologyFileOf(file: string): string {
  return file.replace(/\.[^./\\]+$/, '') + '.top.pdb'
}

/** dummy topology for trajectories without one: ⌈d/3⌉ atoms X in residue DUM */
export function dummyTopology(dim: number): Topology {
  const n = Math.ceil(dim / 3)
  const atoms: AtomRecord[] = []
  for (let i = 0; i < n; i++) {
    atoms.push({ record: 'HETATM', serial: i + 1, name: 'X', altLoc: '', resName: 'DUM', chainId: 'A', resSeq: 1, iCode: '', occupancy: 1, bFactor: 0, element: 'X' })
  }
  return { atoms }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** time between saved frames in ps, when the trajectory says (meta.frameIntervalPs, else meta.dt) */
export function frameIntervalPs(meta: Record<string, unknown>): number | undefined {
  return num(meta.frameIntervalPs) ?? num(meta.dt)
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s
}

/** "key=value" lines of provenance then meta, values cut to 200 characters */
export function provenanceLines(provenance: Record<string, unknown> | undefined, meta: Record<string, unknown>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(provenance ?? {})) out.push(`${k}=${valueText(v).slice(0, 200)}`)
  for (const [k, v] of Object.entries(meta)) {
    if (provenance && k in provenance) continue
    out.push(`meta.${k}=${valueText(v).slice(0, 200)}`)
  }
  return out
}

// ------------------------------------------------------------------ step 1: replicas

/** the replicas to write: one (checked) or all */
export function selectReplicas(file: string, t: Trajectory, replica: number | undefined): number[] {
  if (replica === undefined) return Array.from({ length: t.replicas }, (_, r) => r)
  if (!Number.isInteger(replica) || replica < 0 || replica >= t.replicas) {
    throw new UserError(`${file}: replica ${replica} does not exist (the trajectory has replicas 0–${t.replicas - 1})`, 'bad-flag')
  }
  return [replica]
}

/** where each replica begins in a file that holds them one after another (frames counted from 0) */
export function replicaBoundaries(replicas: number[], frames: number): { replica: number; firstFrame: number; frames: number }[] {
  return replicas.map((replica, i) => ({ replica, firstFrame: i * frames, frames }))
}

// ------------------------------------------------------------------ step 2: atoms

interface Atoms {
  topology: Topology
  /** dummy atoms (no topology given) */
  analytic: boolean
  /** 3N > d: the last atom is zero-padded */
  padded: boolean
  /** coordinates of replica r frame f as 3N values (a view, or a zero-padded copy reused between calls) */
  frame(r: number, f: number): Float32Array
}

function resolveAtoms(file: string, t: Trajectory, given: Topology | undefined): Atoms {
  const d = t.dim
  if (given && 3 * given.atoms.length !== d) {
    throw new UserError(`${file}: the topology has ${given.atoms.length} atoms (${3 * given.atoms.length} coordinates) but the trajectory has ${d} coordinates per frame; give the topology of the same atoms`, 'topology-mismatch')
  }
  const topology = given ?? dummyTopology(d)
  const n3 = 3 * topology.atoms.length
  const padded = n3 !== d
  const scratch = new Float32Array(n3)
  return {
    topology,
    analytic: !given,
    padded,
    frame: (r, f) => {
      const off = (r * t.frames + f) * d
      if (!padded) return t.data.subarray(off, off + d)
      scratch.fill(0)
      scratch.set(t.data.subarray(off, off + d))
      return scratch
    },
  }
}

function dummyRemark(atoms: Atoms, d: number): string[] {
  return atoms.analytic ? [`dummy atoms: ${atoms.topology.atoms.length} atoms X for ${d} coordinates${atoms.padded ? ' (last atom zero-padded)' : ''}`] : []
}

// ------------------------------------------------------------------ step 3: one file's content

interface FileContent {
  t: Trajectory
  atoms: Atoms
  replicas: number[]
  /** header lines: app/version/time then provenance */
  header: string[]
  provLines: string[]
  created: string
  interval: number | undefined
}

function concatenationNote(c: FileContent): string[] {
  if (c.replicas.length < 2) return []
  return [`CONCATENATED: ${c.replicas.length} independent replicas, not one continuous run`]
}

async function writePdbBody(out: AtomicOutput, c: FileContent): Promise<void> {
  const remarks = [...c.header, ...dummyRemark(c.atoms, c.t.dim), ...concatenationNote(c)]
  c.replicas.forEach((r, i) => remarks.push(`replica ${r}: models ${i * c.t.frames + 1}-${(i + 1) * c.t.frames}`))
  await out.text(pdbHeaderText({ remarks, cell: c.atoms.topology.cell }))
  let model = 1
  for (const r of c.replicas) for (let f = 0; f < c.t.frames; f++) await out.text(pdbModelText(c.atoms.topology, c.atoms.frame(r, f), model++))
  await out.text('END\n')
}

async function writeDcdBody(out: AtomicOutput, c: FileContent): Promise<void> {
  const { t, replicas } = c
  const titles = [`Created by DiffMD Studio ${VERSION} ${c.created}`, `REMARKS replicas=${replicas.length} frames=${t.frames} dim=${t.dim}${replicas.length < t.replicas ? ` replica=${replicas[0]}` : ''}`]
  if (replicas.length > 1) titles.push(`REMARKS CONCATENATED: ${replicas.length} replicas of ${t.frames} frames, not one run`)
  for (const l of c.provLines.slice(0, 30)) titles.push(`REMARKS ${l}`)
  const w = new DcdWriter(out, { nAtoms: c.atoms.topology.atoms.length, titles, frameIntervalPs: c.interval, cell: c.atoms.topology.cell })
  for (const r of replicas) for (let f = 0; f < t.frames; f++) await w.writeFrame(c.atoms.frame(r, f))
  await w.finish()
}

async function writeXyzBody(out: AtomicOutput, c: FileContent): Promise<void> {
  const symbols = c.atoms.topology.atoms.map((a) => a.element || a.name.replace(/[^A-Za-z]/g, '').slice(0, 2) || 'X')
  for (const r of c.replicas) {
    for (let f = 0; f < c.t.frames; f++) {
      const time = c.interval !== undefined ? ` time_ps=${+(f * c.interval).toPrecision(12)}` : ''
      await out.text(xyzFrameText(symbols, c.atoms.frame(r, f), `frame=${f} replica=${r}${time} source=diffmd`))
    }
  }
}

async function writeJsonBody(out: AtomicOutput, c: FileContent): Promise<void> {
  const { t } = c
  const d = t.dim
  await out.text(`{"meta":${JSON.stringify(t.meta)},"frames":[`)
  for (let i = 0; i < c.replicas.length; i++) {
    const r = c.replicas[i]!
    await out.text(i === 0 ? '[' : ',[')
    for (let f = 0; f < t.frames; f++) {
      const off = (r * t.frames + f) * d
      const row = t.data.subarray(off, off + d)
      for (let k = 0; k < d; k++) if (!Number.isFinite(row[k]!)) throw new RangeError(`replica ${r} frame ${f} coordinate ${k} is not finite`)
      await out.text((f === 0 ? '[' : ',[') + Array.from(row, (x) => String(x)).join(',') + ']')
    }
    await out.text(']')
  }
  await out.text(']}\n')
}

async function writeXtcBody(out: AtomicOutput, c: FileContent): Promise<void> {
  const w = new XtcWriter(out, { nAtoms: c.atoms.topology.atoms.length })
  const cell = c.atoms.topology.cell
  const boxNm = cell ? boxFromCell(cell) : undefined
  for (const r of c.replicas) {
    for (let f = 0; f < c.t.frames; f++) await w.writeFrame(c.atoms.frame(r, f), { step: f, timePs: f * (c.interval ?? 1), ...(boxNm ? { boxNm } : {}) })
  }
}

/** per format: how its body is written, and whether it needs a topology PDB beside it (coordinates only) */
const FORMATS: Record<ExportFormat, { body: (out: AtomicOutput, c: FileContent) => Promise<void>; needsTopology: boolean }> = {
  pdb: { body: writePdbBody, needsTopology: false },
  dcd: { body: writeDcdBody, needsTopology: true },
  xyz: { body: writeXyzBody, needsTopology: false },
  json: { body: writeJsonBody, needsTopology: false },
  xtc: { body: writeXtcBody, needsTopology: true },
}

async function writeTopologyPdb(out: AtomicOutput, c: FileContent, forFiles: string[]): Promise<void> {
  const remarks = [...c.header, `topology for ${forFiles.map((f) => path.basename(f)).join(', ')}; coordinates of replica ${c.replicas[0]} frame 0`, ...dummyRemark(c.atoms, c.t.dim)]
  await out.text(pdbHeaderText({ remarks, cell: c.atoms.topology.cell }))
  await out.text(pdbModelText(c.atoms.topology, c.atoms.frame(c.replicas[0]!, 0)))
  await out.text('END\n')
}

function sidecarText(c: FileContent, file: string, format: ExportFormat, companions: string[], provenance: Record<string, unknown> | undefined): string {
  const sidecar = {
    app: 'DiffMD Studio',
    version: VERSION,
    created: c.created,
    file: path.basename(file),
    format,
    files: [file, ...companions].map((f) => path.basename(f)),
    replicas: c.replicas,
    concatenated: c.replicas.length > 1,
    replicaBoundaries: replicaBoundaries(c.replicas, c.t.frames),
    framesPerReplica: c.t.frames,
    dim: c.t.dim,
    atoms: c.atoms.topology.atoms.length,
    dummyAtoms: c.atoms.analytic,
    zeroPadded: c.atoms.padded,
    frameIntervalPs: c.interval ?? null,
    provenance: provenance ?? {},
    meta: c.t.meta,
  }
  return JSON.stringify(sidecar, null, 2) + '\n'
}

// ------------------------------------------------------------------ step 4: names

/**
 * The first suffix ('', '-2', '-3', …) for which no file of the set exists. `namesFor(suffix)`
 * gives every file the set would write.
 */
export async function freeSuffix(namesFor: (suffix: string) => string[]): Promise<string> {
  for (let n = 1; n < 10_000; n++) {
    const suffix = n === 1 ? '' : `-${n}`
    const names = namesFor(suffix)
    let taken = false
    for (const f of names) if (await exists(f)) taken = true
    if (!taken) return suffix
  }
  throw new UserError(`${namesFor('')[0]}: 10000 exports of this name already exist; delete some or rename the run`, 'io')
}

// ------------------------------------------------------------------ step 5: the set

export interface TrajectoryFilePlan {
  /** the trajectory file */
  file: string
  /** replicas it holds, one after another */
  replicas: number[]
}

/**
 * Writes trajectory files (each with its sidecar) and, for coordinates-only formats, ONE topology
 * PDB for all of them, then moves everything into place together. Returns the files written:
 * trajectories, topology, sidecars.
 */
export async function writeTrajectorySet(
  t: Trajectory,
  format: ExportFormat,
  plans: TrajectoryFilePlan[],
  opts: { topology?: Topology; provenance?: Record<string, unknown>; topologyFile?: string; noClobber?: boolean }
): Promise<string[]> {
  const first = plans[0]
  if (!first) throw new UserError('export: nothing to write', 'bad-input')
  if (t.frames < 1 || t.replicas < 1 || t.dim < 1) throw new UserError(`${first.file}: the trajectory holds no frames; nothing to export`, 'bad-input')
  const atoms = resolveAtoms(first.file, t, opts.topology)
  const created = new Date().toISOString()
  const provLines = provenanceLines(opts.provenance, t.meta)
  const base = { t, atoms, header: [`DiffMD Studio ${VERSION} trajectory export ${created}`, ...provLines], provLines, created, interval: frameIntervalPs(t.meta) }
  const spec = FORMATS[format]
  const topologyFile = spec.needsTopology ? (opts.topologyFile ?? topologyFileOf(first.file)) : undefined
  const outputs: AtomicOutput[] = []
  const open = async (f: string): Promise<AtomicOutput> => {
    const o = await AtomicOutput.open(f)
    outputs.push(o)
    return o
  }
  const current = first.file
  try {
    for (const plan of plans) {
      const c: FileContent = { ...base, replicas: plan.replicas }
      await spec.body(await open(plan.file), c)
      const side = await open(`${plan.file}.provenance.json`)
      await side.text(sidecarText(c, plan.file, format, topologyFile ? [topologyFile] : [], opts.provenance))
    }
    if (topologyFile) await writeTopologyPdb(await open(topologyFile), { ...base, replicas: first.replicas }, plans.map((p) => p.file))
    for (const o of outputs) await o.finish()
    const placed: AtomicOutput[] = []
    try {
      for (const o of outputs) {
        await o.commit({ noClobber: opts.noClobber === true })
        placed.push(o)
      }
    } catch (err) {
      // a file of the set appeared meanwhile: take back what was placed, keep theirs
      for (const o of placed) await o.uncommit()
      throw err
    }
  } catch (err) {
    for (const o of outputs) await o.abort()
    if (err instanceof UserError) throw err
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UserError(`${current}: a file of this export appeared while it was written; nothing was replaced, export again`, 'io')
    if (err instanceof RangeError) throw new UserError(`${current}: ${err.message}; nothing was written`, 'bad-input')
    if (isDiskFull(err)) throw writeError(err, current, 'nothing was written')
    throw new UserError(`${current}: could not write (${(err as Error).message}); nothing was written`, 'io')
  }
  // the order callers expect: each trajectory, then the topology, then the sidecars
  return [...plans.map((p) => p.file), ...(topologyFile ? [topologyFile] : []), ...plans.map((p) => `${p.file}.provenance.json`)]
}

/**
 * Writes one trajectory file (all replicas one after another, or one replica) with its sidecar and,
 * for DCD, its topology PDB. Returns the files written (the trajectory first).
 */
export async function writeTrajectory(file: string, t: Trajectory, opts: WriteTrajectoryOptions = {}): Promise<string[]> {
  const format = formatOfFile(file)
  if (!format) throw new UserError(`${file}: unknown export format '${path.extname(file) || '(no extension)'}'; use .pdb, .dcd, .xyz, .xtc or .json`, 'bad-flag')
  if (t.frames < 1 || t.replicas < 1 || t.dim < 1) throw new UserError(`${file}: the trajectory holds no frames; nothing to export`, 'bad-input')
  const replicas = selectReplicas(file, t, opts.replica)
  let target = file
  if (opts.existing === 'unique') {
    const ext = path.extname(file)
    const stem = file.slice(0, file.length - ext.length)
    const suffix = await freeSuffix((s) => {
      const f = `${stem}${s}${ext}`
      return [f, `${f}.provenance.json`, ...(FORMATS[format].needsTopology ? [topologyFileOf(f)] : [])]
    })
    target = `${stem}${suffix}${ext}`
  }
  return writeTrajectorySet(t, format, [{ file: target, replicas }], { topology: opts.topology, provenance: opts.provenance, noClobber: opts.existing === 'unique' })
}
