/**
 * mmCIF / PDBx (text CIF, as the PDB archive distributes it): the first data block's `_atom_site`
 * table (a loop, or single key–value pairs for one atom) and `_cell`. Residue numbering, chain, and
 * names come from the author fields (auth_seq_id, auth_asym_id, auth_comp_id, auth_atom_id) when
 * present, as MDTraj and the PDB format do, else from the label_* fields; insertion codes from
 * pdbx_PDB_ins_code. Each pdbx_PDB_model_num is a frame; alternate locations and models that list
 * different atoms go through ensemble.ts. See docs/formats.md.
 */
import { UserError } from '../errors'
import type { Topology, UnitCell } from '../topology'
import { inferElement, isStandardResidue, normalizeElement } from './elements'
import { buildEnsemble, type EnsembleOptions, type EnsembleResult, type RawAtom } from './ensemble'

/** tokens as parallel arrays (no object per token: a PDB-archive file has millions of them) */
interface Tokens {
  text: string[]
  /** 1 when quoted or a text field: never a keyword or tag */
  quoted: Uint8Array
  line: Int32Array
  count: number
}

/** CIF 1.1 tokens: unquoted words, 'single' / "double" quoted strings (closed by a quote then space), ;text fields; # comments */
function tokenize(text: string, file: string): Tokens {
  const lines = text.split(/\r\n|\r|\n/)
  const out: string[] = []
  let quoted = new Uint8Array(1024)
  let lineOf = new Int32Array(1024)
  const push = (t: string, q: number, ln: number): void => {
    if (out.length === quoted.length) {
      const q2 = new Uint8Array(quoted.length * 2)
      q2.set(quoted)
      quoted = q2
      const l2 = new Int32Array(lineOf.length * 2)
      l2.set(lineOf)
      lineOf = l2
    }
    quoted[out.length] = q
    lineOf[out.length] = ln
    out.push(t)
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.charCodeAt(0) === 59 /* ; */) {
      const parts = [line.slice(1)]
      const start = i
      for (;;) {
        i++
        if (i >= lines.length) throw new UserError(`${file}: line ${start + 1}: a text field opened with ';' is never closed`, 'parse')
        if (lines[i]!.charCodeAt(0) === 59) break
        parts.push(lines[i]!)
      }
      push(parts.join('\n').trim(), 1, start + 1)
      continue
    }
    let p = 0
    const n = line.length
    while (p < n) {
      const c = line.charCodeAt(p)
      if (c === 32 || c === 9) {
        p++
        continue
      }
      if (c === 35 /* # */) break
      if (c === 39 || c === 34 /* ' " */) {
        let q = p + 1
        while (q < n && !(line.charCodeAt(q) === c && (q + 1 === n || line.charCodeAt(q + 1) === 32 || line.charCodeAt(q + 1) === 9))) q++
        if (q >= n) throw new UserError(`${file}: line ${i + 1}: a string opened with ${String.fromCharCode(c)} is not closed on its line`, 'parse')
        push(line.slice(p + 1, q), 1, i + 1)
        p = q + 1
        continue
      }
      let q = p
      while (q < n && line.charCodeAt(q) !== 32 && line.charCodeAt(q) !== 9) q++
      push(line.slice(p, q), 0, i + 1)
      p = q
    }
  }
  return { text: out, quoted, line: lineOf, count: out.length }
}

const RESERVED = /^(loop_|data_|save_|global_|stop_)/i

interface Table {
  columns: string[]
  /** row-major values */
  values: string[]
  line: number
}

/** the `_atom_site` table and `_cell` items of the first data block */
function scan(text: string, file: string): { atomSite?: Table; cell: Map<string, string>; blocks: number } {
  const cell = new Map<string, string>()
  let atomSite: Table | undefined
  let blocks = 0
  const tk = tokenize(text, file)
  const T = tk.text
  const isTag = (i: number): boolean => tk.quoted[i] === 0 && T[i]!.charCodeAt(0) === 95 /* _ */
  const isReserved = (i: number): boolean => tk.quoted[i] === 0 && (T[i]!.charCodeAt(0) === 95 || (T[i]!.length >= 5 && RESERVED.test(T[i]!)))
  let i = 0
  while (i < tk.count) {
    const t = T[i]!
    if (tk.quoted[i] === 0 && /^data_/i.test(t)) {
      blocks++
      if (blocks > 1) break
      i++
      continue
    }
    if (tk.quoted[i] === 0 && t.toLowerCase() === 'loop_') {
      const loopLine = tk.line[i]!
      i++
      const columns: string[] = []
      while (i < tk.count && isTag(i)) columns.push(T[i++]!)
      const from = i
      while (i < tk.count && !isReserved(i)) i++
      // mmCIF names its columns _atom_site.x; small-molecule CIF (CIF 1) _atom_site_x
      if (columns.length > 0 && /^_atom_site[._]/i.test(columns[0]!) && !/^_atom_site_(aniso|type)/i.test(columns[0]!)) {
        const values = T.slice(from, i)
        if (values.length % columns.length !== 0) {
          throw new UserError(`${file}: line ${loopLine}: the _atom_site loop has ${values.length} values for ${columns.length} columns (not a whole number of rows); the file is truncated or damaged`, 'parse')
        }
        atomSite ??= { columns, values, line: loopLine }
      }
      continue
    }
    if (isTag(i)) {
      if (i + 1 >= tk.count || isReserved(i + 1)) throw new UserError(`${file}: line ${tk.line[i]}: item ${t} has no value`, 'parse')
      const v = T[i + 1]!
      const key = t.toLowerCase()
      if (key.startsWith('_cell.')) cell.set(key, v)
      if (key.startsWith('_atom_site.')) {
        atomSite ??= { columns: [], values: [], line: tk.line[i]! }
        if (atomSite.values.length === atomSite.columns.length) {
          atomSite.columns.push(t)
          atomSite.values.push(v)
        }
      }
      i += 2
      continue
    }
    i++
  }
  return { atomSite, cell, blocks }
}

const NUM = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\(\d+\))?$/
/** a CIF number, without its standard uncertainty "(12)" */
const num = (v: string): number => Number(v.charCodeAt(v.length - 1) === 41 ? v.replace(/\(\d+\)$/, '') : v)

export interface CifReadResult extends EnsembleResult {
  /** the model numbers, one per frame */
  modelNumbers: number[]
}

export function readCif(text: string, file: string, opts: EnsembleOptions = {}): CifReadResult {
  if (text.trim().length === 0) throw new UserError(`${file}: the file is empty; expected an mmCIF file (data_ block with an _atom_site table)`, 'parse')
  const { atomSite, cell: cellItems, blocks } = scan(text, file)
  if (blocks === 0) throw new UserError(`${file}: no data_ block; expected an mmCIF/PDBx file`, 'parse')
  if (!atomSite || atomSite.values.length === 0) {
    throw new UserError(`${file}: no _atom_site table (atomic coordinates); a CIF without it (e.g. a small-molecule CIF with fractional coordinates or a restraint dictionary) cannot be imported — convert it to PDB`, 'parse')
  }
  const cols = atomSite.columns.map((c) => c.toLowerCase().slice('_atom_site.'.length))  // '.' or '_' after _atom_site
  const col = (...names: string[]): number => {
    for (const n of names) {
      const i = cols.indexOf(n)
      if (i >= 0) return i
    }
    return -1
  }
  const cx = col('cartn_x')
  const cy = col('cartn_y')
  const cz = col('cartn_z')
  if (cx < 0 || cy < 0 || cz < 0) {
    const fract = col('fract_x') >= 0
    throw new UserError(`${file}: the _atom_site table has no Cartn_x/y/z columns${fract ? ' (it has fractional coordinates: a small-molecule CIF; convert it to PDB with Open Babel or Mercury)' : ''}`, 'parse')
  }
  const cName = col('auth_atom_id', 'label_atom_id')
  const cRes = col('auth_comp_id', 'label_comp_id')
  const cChain = col('auth_asym_id', 'label_asym_id')
  const cSeq = col('auth_seq_id', 'label_seq_id')
  const cIns = col('pdbx_pdb_ins_code')
  const cAlt = col('label_alt_id')
  const cOcc = col('occupancy')
  const cB = col('b_iso_or_equiv')
  const cEl = col('type_symbol')
  const cGroup = col('group_pdb')
  const cId = col('id')
  const cModel = col('pdbx_pdb_model_num')
  const w = cols.length
  const rows = atomSite.values.length / w
  const byModel = new Map<number, RawAtom[]>()
  const v = atomSite.values
  const coord = (r: number, c: number, d: number): number => {
    const s = v[r * w + c]!
    if (!NUM.test(s)) throw new UserError(`${file}: _atom_site row ${r + 1}: Cartn_${'xyz'[d]} '${s.slice(0, 20)}' is not a number`, 'parse')
    const val = Math.fround(num(s))
    if (!Number.isFinite(val)) throw new UserError(`${file}: _atom_site row ${r + 1}: Cartn_${'xyz'[d]} '${s.slice(0, 20)}' is out of range`, 'parse')
    return val
  }
  /** the value of column c in row r, or `absent` when the column is missing or the value is ? or . */
  const field = (r: number, c: number, absent: string): string => {
    if (c < 0) return absent
    const s = v[r * w + c]!
    return s === '?' || s === '.' ? absent : s
  }
  let lastModel = NaN
  let list: RawAtom[] = []
  for (let r = 0; r < rows; r++) {
    const x = coord(r, cx, 0)
    const y = coord(r, cy, 1)
    const z = coord(r, cz, 2)
    const name = field(r, cName, '')
    const resName = field(r, cRes, 'UNK')
    const seqS = field(r, cSeq, '')
    const resSeq = seqS === '' ? 0 : Number(seqS)
    if (!Number.isInteger(resSeq)) throw new UserError(`${file}: _atom_site row ${r + 1}: residue number '${seqS.slice(0, 20)}' is not an integer`, 'parse')
    const modelS = field(r, cModel, '1')
    const model = Number(modelS)
    if (!Number.isInteger(model)) throw new UserError(`${file}: _atom_site row ${r + 1}: pdbx_PDB_model_num '${modelS.slice(0, 20)}' is not an integer`, 'parse')
    if (model !== lastModel) {
      lastModel = model
      const existing = byModel.get(model)
      if (existing) list = existing
      else byModel.set(model, (list = []))
    }
    const occS = field(r, cOcc, '')
    const bS = field(r, cB, '')
    const group = field(r, cGroup, '')
    const element = normalizeElement(field(r, cEl, '')) || inferElement(name.length < 4 ? ` ${name}` : name, resName)
    list.push({
      record: group === 'ATOM' || group === 'HETATM' ? group : isStandardResidue(resName) ? 'ATOM' : 'HETATM',
      serial: Number(field(r, cId, '')) || list.length + 1,
      name,
      altLoc: field(r, cAlt, ''),
      resName,
      chainId: field(r, cChain, ''),
      resSeq,
      iCode: field(r, cIns, ''),
      occupancy: occS !== '' && NUM.test(occS) ? num(occS) : 1,
      bFactor: bS !== '' && NUM.test(bS) ? num(bS) : 0,
      element,
      x,
      y,
      z,
    })
  }
  const modelNumbers = [...byModel.keys()]
  let cell: UnitCell | undefined
  const cv = (k: string): number => {
    const s = cellItems.get(`_cell.${k}`)
    return s && NUM.test(s) ? num(s) : NaN
  }
  const c = { a: cv('length_a'), b: cv('length_b'), c: cv('length_c'), alpha: cv('angle_alpha'), beta: cv('angle_beta'), gamma: cv('angle_gamma') }
  if (Object.values(c).every((x) => Number.isFinite(x)) && !(c.a === 1 && c.b === 1 && c.c === 1)) cell = { ...c, spaceGroup: 'P 1', z: 1 }
  const res = buildEnsemble(modelNumbers.map((m) => byModel.get(m)!), file, cell, opts)
  return { ...res, modelNumbers }
}

/** a value as a CIF token: '?' for empty, quoted when it has spaces or starts with a reserved character */
function cifValue(s: string): string {
  if (s === '') return '.'
  if (/[\s'"]/.test(s) || /^[_#$;[\]]/.test(s) || /^(loop_|data_|save_|global_|stop_)/i.test(s)) return s.includes("'") ? `"${s}"` : `'${s}'`
  return s
}

/**
 * mmCIF text with one `_atom_site` loop: a model (pdbx_PDB_model_num) per frame of [nFrames, 3N] Å,
 * auth_* and label_* fields equal (label_seq_id is the residue number). For round-trip tests and export.
 */
export function writeCif(topology: Topology, frames: Float32Array, nFrames: number, name = 'diffmd'): string {
  const cols = ['group_PDB', 'id', 'type_symbol', 'label_atom_id', 'label_alt_id', 'label_comp_id', 'label_asym_id', 'label_seq_id', 'pdbx_PDB_ins_code', 'Cartn_x', 'Cartn_y', 'Cartn_z', 'occupancy', 'B_iso_or_equiv', 'auth_seq_id', 'auth_comp_id', 'auth_asym_id', 'auth_atom_id', 'pdbx_PDB_model_num']
  const out = [`data_${name.replace(/\s+/g, '_') || 'diffmd'}`, '#', 'loop_', ...cols.map((c) => `_atom_site.${c}`)]
  const n = topology.atoms.length
  let serial = 0
  for (let f = 0; f < nFrames; f++) {
    topology.atoms.forEach((a, i) => {
      const o = f * 3 * n + 3 * i
      const chain = a.chainId || 'A'
      out.push(
        [a.record, ++serial, a.element || 'X', cifValue(a.name), cifValue(a.altLoc), cifValue(a.resName), chain, a.resSeq, cifValue(a.iCode), frames[o]!.toFixed(3), frames[o + 1]!.toFixed(3), frames[o + 2]!.toFixed(3), a.occupancy.toFixed(2), a.bFactor.toFixed(2), a.resSeq, cifValue(a.resName), chain, cifValue(a.name), f + 1].join(' ')
      )
    })
  }
  out.push('#')
  return out.join('\n') + '\n'
}
