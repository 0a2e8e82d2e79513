/**
 * mmCIF / PDBx (text CIF, as the PDB archive distributes it): the first data block's `_atom_site`
 * table (a loop, or single key–value pairs for one atom) and `_cell`. Residue numbering, chain, and
 * names come from the author fields (auth_seq_id, auth_asym_id, auth_comp_id, auth_atom_id) when
 * present, as MDTraj and the PDB format do, else from the label_* fields; insertion codes from
 * pdbx_PDB_ins_code. Each pdbx_PDB_model_num is a frame; alternate locations and models that list
 * different atoms go through ensemble.ts. See docs/formats.md.
 */
import { UserError } from '../errors'
import type { UnitCell } from '../topology'
import { inferElement, isStandardResidue, normalizeElement } from './elements'
import { buildEnsemble, type EnsembleOptions, type EnsembleResult, type RawAtom } from './ensemble'

interface Token {
  text: string
  line: number
  /** quoted or a text field: never a keyword or tag */
  quoted: boolean
}

/** CIF 1.1 tokens: unquoted words, 'single' / "double" quoted strings (closed by a quote then space), ;text fields; # comments */
function* tokens(text: string, file: string): Generator<Token> {
  const lines = text.split(/\r\n|\r|\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith(';')) {
      const parts = [line.slice(1)]
      const start = i
      for (;;) {
        i++
        if (i >= lines.length) throw new UserError(`${file}: line ${start + 1}: a text field opened with ';' is never closed`, 'parse')
        if (lines[i]!.startsWith(';')) break
        parts.push(lines[i]!)
      }
      yield { text: parts.join('\n').trim(), line: start + 1, quoted: true }
      continue
    }
    let p = 0
    const n = line.length
    while (p < n) {
      const c = line[p]!
      if (c === ' ' || c === '\t') {
        p++
        continue
      }
      if (c === '#') break
      if (c === "'" || c === '"') {
        let q = p + 1
        while (q < n && !(line[q] === c && (q + 1 === n || line[q + 1] === ' ' || line[q + 1] === '\t'))) q++
        if (q >= n) throw new UserError(`${file}: line ${i + 1}: a string opened with ${c} is not closed on its line`, 'parse')
        yield { text: line.slice(p + 1, q), line: i + 1, quoted: true }
        p = q + 1
        continue
      }
      let q = p
      while (q < n && line[q] !== ' ' && line[q] !== '\t') q++
      yield { text: line.slice(p, q), line: i + 1, quoted: false }
      p = q
    }
  }
}

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
  const it = tokens(text, file)
  let pending: Token | undefined
  const next = (): Token | undefined => {
    if (pending) {
      const t = pending
      pending = undefined
      return t
    }
    const r = it.next()
    return r.done ? undefined : r.value
  }
  const isReserved = (t: Token): boolean => !t.quoted && (t.text.startsWith('_') || /^(loop_|data_|save_|global_|stop_)/i.test(t.text))
  for (let t = next(); t; t = next()) {
    if (!t.quoted && /^data_/i.test(t.text)) {
      blocks++
      if (blocks > 1) break
      continue
    }
    if (!t.quoted && t.text.toLowerCase() === 'loop_') {
      const columns: string[] = []
      let c = next()
      while (c && !c.quoted && c.text.startsWith('_')) {
        columns.push(c.text)
        c = next()
      }
      const values: string[] = []
      while (c && !isReserved(c)) {
        values.push(c.text)
        c = next()
      }
      pending = c
      // mmCIF names its columns _atom_site.x; small-molecule CIF (CIF 1) _atom_site_x
      if (columns.length > 0 && /^_atom_site[._]/i.test(columns[0]!) && !/^_atom_site_(aniso|type)/i.test(columns[0]!)) {
        if (values.length % columns.length !== 0) {
          throw new UserError(`${file}: line ${t.line}: the _atom_site loop has ${values.length} values for ${columns.length} columns (not a whole number of rows); the file is truncated or damaged`, 'parse')
        }
        atomSite ??= { columns, values, line: t.line }
      }
      continue
    }
    if (!t.quoted && t.text.startsWith('_')) {
      const v = next()
      if (!v || isReserved(v)) throw new UserError(`${file}: line ${t.line}: item ${t.text} has no value`, 'parse')
      const key = t.text.toLowerCase()
      if (key.startsWith('_cell.')) cell.set(key, v.text)
      if (key.startsWith('_atom_site.')) {
        atomSite ??= { columns: [], values: [], line: t.line }
        if (atomSite.values.length === atomSite.columns.length) {
          atomSite.columns.push(t.text)
          atomSite.values.push(v.text)
        }
      }
    }
  }
  return { atomSite, cell, blocks }
}

const NUM = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\(\d+\))?$/
const missing = (v: string | undefined): boolean => v === undefined || v === '?' || v === '.'
const num = (v: string): number => Number(v.replace(/\(\d+\)$/, ''))

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
  for (let r = 0; r < rows; r++) {
    const get = (c: number): string | undefined => (c < 0 ? undefined : v[r * w + c])
    const xyz = [cx, cy, cz].map((c, d) => {
      const s = get(c)!
      if (!NUM.test(s)) throw new UserError(`${file}: _atom_site row ${r + 1}: Cartn_${'xyz'[d]} '${s.slice(0, 20)}' is not a number`, 'parse')
      const val = Math.fround(num(s))
      if (!Number.isFinite(val)) throw new UserError(`${file}: _atom_site row ${r + 1}: Cartn_${'xyz'[d]} '${s.slice(0, 20)}' is out of range`, 'parse')
      return val
    })
    const name = missing(get(cName)) ? '' : get(cName)!
    const resName = missing(get(cRes)) ? 'UNK' : get(cRes)!
    const seqS = get(cSeq)
    const resSeq = missing(seqS) ? 0 : Number(seqS)
    if (!Number.isInteger(resSeq)) throw new UserError(`${file}: _atom_site row ${r + 1}: residue number '${String(seqS).slice(0, 20)}' is not an integer`, 'parse')
    const modelS = get(cModel)
    const model = missing(modelS) ? 1 : Number(modelS)
    if (!Number.isInteger(model)) throw new UserError(`${file}: _atom_site row ${r + 1}: pdbx_PDB_model_num '${String(modelS).slice(0, 20)}' is not an integer`, 'parse')
    const occS = get(cOcc)
    const bS = get(cB)
    const group = get(cGroup)
    const element = normalizeElement(missing(get(cEl)) ? '' : get(cEl)!) || inferElement(name.length < 4 ? ` ${name}` : name, resName)
    let list = byModel.get(model)
    if (!list) byModel.set(model, (list = []))
    list.push({
      record: group === 'ATOM' || group === 'HETATM' ? group : isStandardResidue(resName) ? 'ATOM' : 'HETATM',
      serial: Number(get(cId)) || list.length + 1,
      name,
      altLoc: missing(get(cAlt)) ? '' : get(cAlt)!,
      resName,
      chainId: missing(get(cChain)) ? '' : get(cChain)!,
      resSeq,
      iCode: missing(get(cIns)) ? '' : get(cIns)!,
      occupancy: occS && NUM.test(occS) ? num(occS) : 1,
      bFactor: bS && NUM.test(bS) ? num(bS) : 0,
      element,
      x: xyz[0]!,
      y: xyz[1]!,
      z: xyz[2]!,
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
