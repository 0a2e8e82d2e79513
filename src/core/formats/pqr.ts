/**
 * PQR (PDB2PQR, APBS): ATOM/HETATM lines like PDB but whitespace-separated, ending in x y z (Å),
 * charge and radius — "ATOM serial name resName [chain] resSeq x y z q r" — so columns are not
 * fixed. MODEL/ENDMDL separate models. Charges and radii are not kept (the occupancy and B-factor
 * of the topology are set to 1 and 0). See docs/formats.md.
 */
import { UserError } from '../errors'
import type { Topology } from '../topology'
import { inferElement } from './elements'
import { buildEnsemble, type EnsembleOptions, type EnsembleResult, type RawAtom } from './ensemble'

const NUM = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

export function readPqr(text: string, file: string, opts: EnsembleOptions = {}): EnsembleResult {
  if (text.trim().length === 0) throw new UserError(`${file}: the file is empty; expected PQR ATOM lines`, 'parse')
  const lines = text.split(/\r\n|\r|\n/)
  const models: RawAtom[][] = []
  let atoms: RawAtom[] = []
  const close = (): void => {
    if (atoms.length > 0) models.push(atoms)
    atoms = []
  }
  lines.forEach((line, i) => {
    const fail = (msg: string): never => {
      throw new UserError(`${file}: line ${i + 1}: ${msg}`, 'parse')
    }
    if (/^(MODEL|ENDMDL|END\s*$)/.test(line)) {
      close()
      return
    }
    const m = /^(ATOM|HETATM)/.exec(line)
    if (!m) return
    const record = m[1] as 'ATOM' | 'HETATM'
    const f = line.slice(record.length).trim().split(/\s+/)
    // serial name resName [chain] resSeq[iCode] x y z q r
    if (f.length < 9) fail(`expected "${record} serial name resName [chain] resSeq x y z charge radius", got ${f.length} fields`)
    const nums = f.slice(-5)
    for (const [k, s] of nums.entries()) if (!NUM.test(s)) fail(`${['x', 'y', 'z', 'charge', 'radius'][k]} '${s.slice(0, 20)}' is not a number`)
    const head = f.slice(0, -5)
    if (head.length < 4 || head.length > 5) fail(`expected serial, atom name, residue name, optional chain and residue number before the coordinates, got ${head.length} fields`)
    const chainId = head.length === 5 ? head[3]! : ''
    const seqField = head[head.length - 1]!
    const sm = /^(-?\d+)([A-Za-z]?)$/.exec(seqField)
    if (!sm) fail(`residue number '${seqField.slice(0, 12)}' is not an integer`)
    const [x, y, z] = nums.slice(0, 3).map((s) => Math.fround(Number(s)))
    if (![x, y, z].every((v) => Number.isFinite(v))) fail('a coordinate is out of range')
    const name = head[1]!
    const resName = head[2]!
    atoms.push({
      record,
      serial: Number(head[0]) || atoms.length + 1,
      name,
      altLoc: '',
      resName,
      chainId,
      resSeq: Number(sm![1]),
      iCode: sm![2]!,
      occupancy: 1,
      bFactor: 0,
      element: inferElement(name.length < 4 ? ` ${name}` : name, resName),
      x: x!,
      y: y!,
      z: z!,
    })
  })
  close()
  if (models.length === 0) throw new UserError(`${file}: no ATOM/HETATM lines; expected a PQR file`, 'parse')
  return buildEnsemble(models, file, undefined, opts)
}

/** PQR text (PDB2PQR layout, whitespace-separated; charge and radius as given, default 0 and 1.5 Å), MODEL per frame */
export function writePqr(topology: Topology, frames: Float32Array, nFrames: number, charges?: number[], radii?: number[]): string {
  const n = topology.atoms.length
  const out: string[] = []
  for (let f = 0; f < nFrames; f++) {
    if (nFrames > 1) out.push(`MODEL ${String(f + 1).padStart(8)}`)
    topology.atoms.forEach((a, i) => {
      const o = f * 3 * n + 3 * i
      const c = (v: number): string => v.toFixed(3).padStart(8)
      const chain = a.chainId ? ` ${a.chainId}` : ''
      out.push(`${a.record.padEnd(6)}${String(i + 1).padStart(5)} ${a.name.padEnd(4)} ${a.resName.padEnd(4)}${chain}${String(a.resSeq).padStart(5)}${a.iCode}   ${c(frames[o]!)}${c(frames[o + 1]!)}${c(frames[o + 2]!)} ${(charges?.[i] ?? 0).toFixed(4).padStart(7)} ${(radii?.[i] ?? 1.5).toFixed(4).padStart(6)}`)
    })
    if (nFrames > 1) out.push('ENDMDL')
  }
  return out.join('\n') + '\nEND\n'
}
