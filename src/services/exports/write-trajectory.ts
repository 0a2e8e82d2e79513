/**
 * Writes a trajectory to a file chosen by extension:
 *   .pdb   multi-model PDB (MODEL/ENDMDL per frame; replicas one after another, REMARKs say which)
 *   .dcd   CHARMM DCD + a topology PDB beside it with the same basename (x.dcd → x.pdb), so
 *          `mdtraj.load('x.dcd', top='x.pdb')` opens the pair
 *   .xyz   multi-frame XYZ, comment line `frame=<f> replica=<r> [time_ps=<t>] source=diffmd`
 *   .json  the JSON trajectory format of src/core/trajectory.ts
 * plus `<file>.provenance.json` (app, version, time, provenance, trajectory meta). Provenance also
 * goes into REMARK lines (PDB) and DCD titles. Frames are written one by one through a file handle
 * (never the whole file in memory); every file goes to a temporary sibling and all are renamed into
 * place at the end, so an error leaves no partial output.
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
import { AtomicOutput } from './atomic-output'

export interface WriteTrajectoryOptions {
  /** topology for PDB/DCD/XYZ atom names; analytic systems have none (XYZ then uses 'X' atoms, 3 coordinates each, zero-padded) */
  topology?: Topology
  /** only this replica (0-based; default: all) */
  replica?: number
  /** provenance for REMARK lines and the sidecar JSON */
  provenance?: Record<string, unknown>
}

export const EXPORT_FORMATS = ['pdb', 'dcd', 'xyz', 'json'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export function formatOfFile(file: string): ExportFormat | undefined {
  const ext = path.extname(file).toLowerCase().slice(1)
  return (EXPORT_FORMATS as readonly string[]).includes(ext) ? (ext as ExportFormat) : undefined
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

export async function writeTrajectory(file: string, t: Trajectory, opts: WriteTrajectoryOptions = {}): Promise<string[]> {
  const format = formatOfFile(file)
  if (!format) throw new UserError(`${file}: unknown export format '${path.extname(file) || '(no extension)'}'; use .pdb, .dcd, .xyz or .json`, 'bad-flag')
  if (t.frames < 1 || t.replicas < 1 || t.dim < 1) throw new UserError(`${file}: the trajectory holds no frames; nothing to export`, 'bad-input')
  let replicas: number[]
  if (opts.replica !== undefined) {
    if (!Number.isInteger(opts.replica) || opts.replica < 0 || opts.replica >= t.replicas) {
      throw new UserError(`${file}: replica ${opts.replica} does not exist (the trajectory has replicas 0–${t.replicas - 1})`, 'bad-flag')
    }
    replicas = [opts.replica]
  } else {
    replicas = Array.from({ length: t.replicas }, (_, r) => r)
  }
  const d = t.dim
  let topology = opts.topology
  if (topology && 3 * topology.atoms.length !== d) {
    throw new UserError(`${file}: the topology has ${topology.atoms.length} atoms (${3 * topology.atoms.length} coordinates) but the trajectory has ${d} coordinates per frame; give the topology of the same atoms`, 'topology-mismatch')
  }
  const analytic = !topology
  if (!topology) topology = dummyTopology(d)
  const n3 = 3 * topology.atoms.length
  const padded = n3 !== d
  const scratch = new Float32Array(n3)
  /** coordinates of one frame as 3N values (a view, or a zero-padded copy) */
  const frame = (r: number, f: number): Float32Array => {
    const off = (r * t.frames + f) * d
    if (!padded) return t.data.subarray(off, off + d)
    scratch.fill(0)
    scratch.set(t.data.subarray(off, off + d))
    return scratch
  }
  const interval = frameIntervalPs(t.meta)
  const created = new Date().toISOString()
  const provLines = provenanceLines(opts.provenance, t.meta)
  const header = [`DiffMD Studio ${VERSION} trajectory export ${created}`, ...provLines]
  const outputs: AtomicOutput[] = []
  const written: string[] = []
  const open = async (f: string): Promise<AtomicOutput> => {
    const o = await AtomicOutput.open(f)
    outputs.push(o)
    written.push(f)
    return o
  }
  try {
    if (format === 'pdb') {
      const out = await open(file)
      const remarks = [...header]
      if (analytic) remarks.push(`dummy atoms: ${topology.atoms.length} atoms X for ${d} coordinates${padded ? ' (last atom zero-padded)' : ''}`)
      replicas.forEach((r, i) => remarks.push(`replica ${r}: models ${i * t.frames + 1}-${(i + 1) * t.frames}`))
      await out.text(pdbHeaderText({ remarks, cell: topology.cell }))
      let model = 1
      for (const r of replicas) for (let f = 0; f < t.frames; f++) await out.text(pdbModelText(topology, frame(r, f), model++))
      await out.text('END\n')
    } else if (format === 'dcd') {
      const out = await open(file)
      const titles = [`Created by DiffMD Studio ${VERSION} ${created}`, `REMARKS replicas=${replicas.length} frames=${t.frames} dim=${d}${replicas.length < t.replicas ? ` replica=${replicas[0]}` : ''}`]
      for (const l of provLines.slice(0, 30)) titles.push(`REMARKS ${l}`)
      const w = new DcdWriter(out, { nAtoms: topology.atoms.length, titles, frameIntervalPs: interval, cell: topology.cell })
      for (const r of replicas) for (let f = 0; f < t.frames; f++) await w.writeFrame(frame(r, f))
      await w.finish()
      const topFile = file.replace(/\.dcd$/i, '.pdb')
      const top = await open(topFile)
      const remarks = [...header, `topology for ${path.basename(file)}; coordinates of replica ${replicas[0]} frame 0`]
      if (analytic) remarks.push(`dummy atoms: ${topology.atoms.length} atoms X for ${d} coordinates${padded ? ' (last atom zero-padded)' : ''}`)
      await top.text(pdbHeaderText({ remarks, cell: topology.cell }))
      await top.text(pdbModelText(topology, frame(replicas[0]!, 0)))
      await top.text('END\n')
    } else if (format === 'xyz') {
      const out = await open(file)
      const symbols = topology.atoms.map((a) => a.element || a.name.replace(/[^A-Za-z]/g, '').slice(0, 2) || 'X')
      for (const r of replicas) {
        for (let f = 0; f < t.frames; f++) {
          const time = interval !== undefined ? ` time_ps=${+(f * interval).toPrecision(12)}` : ''
          await out.text(xyzFrameText(symbols, frame(r, f), `frame=${f} replica=${r}${time} source=diffmd`))
        }
      }
    } else {
      const out = await open(file)
      await out.text(`{"meta":${JSON.stringify(t.meta)},"frames":[`)
      for (let i = 0; i < replicas.length; i++) {
        const r = replicas[i]!
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
    const side = await open(`${file}.provenance.json`)
    const sidecar = {
      app: 'DiffMD Studio',
      version: VERSION,
      created,
      file: path.basename(file),
      format,
      files: written.slice(0, -1).map((f) => path.basename(f)),
      replicas,
      framesPerReplica: t.frames,
      dim: d,
      atoms: topology.atoms.length,
      dummyAtoms: analytic,
      zeroPadded: padded,
      frameIntervalPs: interval ?? null,
      provenance: opts.provenance ?? {},
      meta: t.meta,
    }
    await side.text(JSON.stringify(sidecar, null, 2) + '\n')
    for (const o of outputs) await o.finish()
    for (const o of outputs) await o.commit()
    return written
  } catch (err) {
    for (const o of outputs) await o.abort()
    if (err instanceof UserError) throw err
    if (err instanceof RangeError) throw new UserError(`${file}: ${err.message}; nothing was written`, 'bad-input')
    throw new UserError(`${file}: could not write (${(err as Error).message}); nothing was written`, 'io')
  }
}
