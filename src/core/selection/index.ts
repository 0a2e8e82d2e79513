/**
 * Atom selection language in the spirit of MDTraj and VMD (docs/selection.md): keywords
 * (`all`, `protein`, `backbone`, `sidechain`, `water`, `ion`, `solvent`, `hydrogen`, `heavy`, `ca`),
 * properties with values (`name CA C`, `resname ALA GLY`, `resid 2 to 5`, `residue 0`,
 * `index 0 to 9`, `serial 1 2`, `element C N`, `chain A`), `and`, `or`, `not` and parentheses.
 * Residues are classified by context (docs/selection.md "Residues"): a residue is protein when its
 * name is an amino acid or cap, or when it holds N, CA and C atoms; water and ions by name (ions
 * also as single-atom residues of an ion element), so `backbone` never picks a water oxygen or a
 * calcium ion. Pure TypeScript: no Node or DOM imports.
 */
import type { Topology } from '../topology'
import { UserError } from '../errors'
import { normalizeElement } from '../formats/elements'

/** the selections of the first versions; each is also a keyword of the language */
export const LEGACY_SELECTIONS = ['all', 'heavy', 'backbone', 'ca'] as const

const AMINO = new Set(
  ('ALA ARG ASN ASP ASH ASX CYS CYX CYM GLN GLU GLH GLX GLY HIS HID HIE HIP HSD HSE HSP ILE LEU LYS LYN MET ' +
    'MSE PHE PRO SER THR TRP TYR VAL SEC PYL HYP NLE ORN')
    .split(' ')
)
/** N- and C-terminal caps: protein, part of the backbone chain, but no side chain */
const CAPS = new Set('ACE NME NMA NHE NH2 FOR'.split(' '))
const WATER = new Set('HOH WAT SOL H2O DOD TIP TIP3 TIP3P TIP4 TIP4P TIP5 TIP5P T3P T4P T5P SPC SPCE OPC HHO'.split(' '))
const ION_NAMES = new Set('NA CL K MG CA ZN LI RB CS F BR IOD BA SR MN FE FE2 CU CU1 CO NI CD NA+ CL- K+ SOD CLA POT CAL CES LIT RUB MG2 ZN2'.split(' '))
const ION_ELEMENTS = new Set('Li Na K Rb Cs Mg Ca Sr Ba Zn Mn Fe Co Ni Cu Cd F Cl Br I'.split(' '))
const BACKBONE: Record<string, string> = { N: 'N', CA: 'C', C: 'C', O: 'O' }
/** protein atoms that are neither backbone nor side chain (amide and alpha hydrogens, termini) */
const NOT_SIDECHAIN = new Set('H HN H1 H2 H3 HT1 HT2 HT3 HA HA2 HA3 HA1 OXT OT1 OT2 O1 O2'.split(' '))

export interface AtomFacts {
  protein: boolean
  backbone: boolean
  sidechain: boolean
  water: boolean
  ion: boolean
  hydrogen: boolean
  /** 0-based residue index in order of first appearance */
  residue: number
}

/** residue key: chain, number, insertion code and name (altLocs share it) */
function residueKey(a: Topology['atoms'][number]): string {
  return `${a.chainId}\u0000${a.resSeq}\u0000${a.iCode}\u0000${a.resName}`
}

/** per-atom classification by residue context; computed once per topology */
export function atomFacts(top: Topology): AtomFacts[] {
  const resIndex = new Map<string, number>()
  const members: number[][] = []
  const idx = top.atoms.map((a, i) => {
    const key = residueKey(a)
    let r = resIndex.get(key)
    if (r === undefined) {
      r = members.length
      resIndex.set(key, r)
      members.push([])
    }
    members[r]!.push(i)
    return r
  })
  const kind = members.map((m) => {
    const first = top.atoms[m[0]!]!
    const name = first.resName.toUpperCase()
    if (WATER.has(name)) return 'water'
    if (m.length === 1 && (ION_NAMES.has(name) || ION_ELEMENTS.has(first.element))) return 'ion'
    if (AMINO.has(name) || CAPS.has(name)) return 'protein'
    const names = new Set(m.map((i) => top.atoms[i]!.name))
    if (names.has('N') && names.has('CA') && names.has('C')) return 'protein'
    return 'other'
  })
  return top.atoms.map((a, i) => {
    const r = idx[i]!
    const k = kind[r]
    const protein = k === 'protein'
    const hydrogen = a.element === 'H' || a.element === 'D'
    const backbone = protein && BACKBONE[a.name] !== undefined && BACKBONE[a.name] === a.element
    const cap = CAPS.has(a.resName.toUpperCase())
    const sidechain = protein && !backbone && !cap && !NOT_SIDECHAIN.has(a.name)
    return { protein, backbone, sidechain, water: k === 'water', ion: k === 'ion', hydrogen, residue: r }
  })
}

// ---------------------------------------------------------------- syntax

type Node =
  | { op: 'and' | 'or'; a: Node; b: Node }
  | { op: 'not'; a: Node }
  | { op: 'kw'; kw: Keyword }
  | { op: 'str'; prop: StrProp; values: string[] }
  | { op: 'num'; prop: NumProp; ranges: [number, number][] }

const KEYWORDS = ['all', 'everything', 'none', 'protein', 'backbone', 'sidechain', 'water', 'ion', 'solvent', 'hydrogen', 'heavy', 'ca'] as const
type Keyword = (typeof KEYWORDS)[number]
const STR_PROPS = { name: 'name', resname: 'resname', element: 'element', chain: 'chain', chainid: 'chain' } as const
type StrProp = (typeof STR_PROPS)[keyof typeof STR_PROPS]
const NUM_PROPS = { resid: 'resid', resseq: 'resid', residue: 'residue', index: 'index', serial: 'serial' } as const
type NumProp = (typeof NUM_PROPS)[keyof typeof NUM_PROPS]

interface Token {
  text: string
  /** 1-based column in the selection text */
  pos: number
  quoted: boolean
}

function fail(sel: string, pos: number, what: string): never {
  throw new UserError(`selection '${sel}': ${what} at position ${pos} (see docs/selection.md)`, 'bad-selection')
}

function tokenize(sel: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < sel.length) {
    const c = sel[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === '(' || c === ')') {
      out.push({ text: c, pos: i + 1, quoted: false })
      i++
    } else if (c === '"' || c === "'") {
      const end = sel.indexOf(c, i + 1)
      if (end < 0) fail(sel, i + 1, `unclosed quote ${c}`)
      out.push({ text: sel.slice(i + 1, end), pos: i + 1, quoted: true })
      i = end + 1
    } else {
      let j = i
      while (j < sel.length && !/[\s()"']/.test(sel[j]!)) j++
      out.push({ text: sel.slice(i, j), pos: i + 1, quoted: false })
      i = j
    }
  }
  return out
}

/** words that end a list of values: operators and property names (keywords such as `ca` can be values: `name CA`) */
const RESERVED = new Set<string>(['and', 'or', 'not', ...Object.keys(STR_PROPS), ...Object.keys(NUM_PROPS)])

class Parser {
  private k = 0
  constructor(
    private readonly sel: string,
    private readonly toks: Token[]
  ) {}

  parse(): Node {
    if (this.toks.length === 0) fail(this.sel, 1, 'empty selection (use all)')
    const n = this.or()
    const t = this.toks[this.k]
    if (t) fail(this.sel, t.pos, t.text === ')' ? "unmatched ')'" : `unexpected '${t.text}' (join terms with and / or)`)
    return n
  }

  private peek(): string | undefined {
    const t = this.toks[this.k]
    return t && !t.quoted ? t.text.toLowerCase() : undefined
  }

  private endPos(): number {
    return this.sel.length + 1
  }

  private or(): Node {
    let a = this.and()
    while (this.peek() === 'or') {
      this.k++
      a = { op: 'or', a, b: this.and() }
    }
    return a
  }

  private and(): Node {
    let a = this.not()
    while (this.peek() === 'and') {
      this.k++
      a = { op: 'and', a, b: this.not() }
    }
    return a
  }

  private not(): Node {
    if (this.peek() === 'not') {
      this.k++
      return { op: 'not', a: this.not() }
    }
    return this.primary()
  }

  private primary(): Node {
    const t = this.toks[this.k]
    if (!t) fail(this.sel, this.endPos(), 'expected a term after the last word')
    const w = t.quoted ? '' : t.text.toLowerCase()
    if (w === '(') {
      this.k++
      const n = this.or()
      const close = this.toks[this.k]
      if (!close || close.quoted || close.text !== ')') fail(this.sel, close?.pos ?? this.endPos(), "expected ')'")
      this.k++
      return n
    }
    if ((KEYWORDS as readonly string[]).includes(w)) {
      this.k++
      return { op: 'kw', kw: w as Keyword }
    }
    if (w in STR_PROPS) {
      this.k++
      const values = this.values()
      if (values.length === 0) fail(this.sel, this.toks[this.k]?.pos ?? this.endPos(), `expected a value after '${t.text}'`)
      return { op: 'str', prop: STR_PROPS[w as keyof typeof STR_PROPS], values: values.map((v) => v.text) }
    }
    if (w in NUM_PROPS) {
      this.k++
      const ranges: [number, number][] = []
      const values = this.values()
      for (let v = 0; v < values.length; v++) {
        const lo = this.num(values[v]!)
        if (values[v + 1]?.text.toLowerCase() === 'to' && !values[v + 1]!.quoted) {
          const hiTok = values[v + 2]
          if (!hiTok) fail(this.sel, this.toks[this.k]?.pos ?? this.endPos(), "expected a number after 'to'")
          const hi = this.num(hiTok)
          if (hi < lo) fail(this.sel, hiTok.pos, `range ${lo} to ${hi} is empty (write the smaller number first)`)
          ranges.push([lo, hi])
          v += 2
        } else {
          ranges.push([lo, lo])
        }
      }
      if (ranges.length === 0) fail(this.sel, this.toks[this.k]?.pos ?? this.endPos(), `expected a number after '${t.text}'`)
      return { op: 'num', prop: NUM_PROPS[w as keyof typeof NUM_PROPS], ranges }
    }
    if (w === ')') fail(this.sel, t.pos, "unmatched ')'")
    if (w === 'and' || w === 'or') fail(this.sel, t.pos, `expected a term before '${t.text}'`)
    fail(this.sel, t.pos, `unknown word '${t.text}'`)
  }

  /** value words up to the next operator, property or parenthesis */
  private values(): Token[] {
    const out: Token[] = []
    while (this.k < this.toks.length) {
      const t = this.toks[this.k]!
      const w = t.text.toLowerCase()
      if (!t.quoted && (w === '(' || w === ')' || RESERVED.has(w))) break
      out.push(t)
      this.k++
    }
    return out
  }

  private num(t: Token): number {
    if (!/^-?\d+$/.test(t.text)) fail(this.sel, t.pos, `'${t.text}' is not a whole number`)
    return Number(t.text)
  }
}

/** the parsed form of a selection; throws a one-line UserError naming the selection and the position */
export function parseSelection(sel: string): Node {
  return new Parser(sel, tokenize(sel)).parse()
}

/** true when the selection names solvent itself: the keywords water, ion or solvent, or a water or ion residue name (`resname HOH`) */
export function mentionsSolvent(sel: string): boolean {
  const walk = (n: Node): boolean => {
    switch (n.op) {
      case 'and':
      case 'or':
        return walk(n.a) || walk(n.b)
      case 'not':
        return walk(n.a)
      case 'kw':
        return n.kw === 'water' || n.kw === 'ion' || n.kw === 'solvent'
      case 'str':
        return n.prop === 'resname' && n.values.some((v) => WATER.has(v.toUpperCase()) || ION_NAMES.has(v.toUpperCase()))
      default:
        return false
    }
  }
  return walk(parseSelection(sel))
}

function globTest(pattern: string): (s: string) => boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return (s) => s === pattern
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  return (s) => re.test(s)
}

/**
 * Indices (0-based, into topology.atoms, ascending) of the atoms `sel` selects. Names, residue names
 * and chains match exactly (case-sensitive, `*` and `?` as wildcards); elements case-insensitively.
 */
export function select(top: Topology, sel: string): number[] {
  const tree = parseSelection(sel)
  const facts = atomFacts(top)
  const evalAt = (n: Node, i: number): boolean => {
    const a = top.atoms[i]!
    const f = facts[i]!
    switch (n.op) {
      case 'and':
        return evalAt(n.a, i) && evalAt(n.b, i)
      case 'or':
        return evalAt(n.a, i) || evalAt(n.b, i)
      case 'not':
        return !evalAt(n.a, i)
      case 'kw':
        switch (n.kw) {
          case 'all':
          case 'everything':
            return true
          case 'none':
            return false
          case 'protein':
            return f.protein
          case 'backbone':
            return f.backbone
          case 'sidechain':
            return f.sidechain
          case 'water':
            return f.water
          case 'ion':
            return f.ion
          case 'solvent':
            return f.water || f.ion
          case 'hydrogen':
            return f.hydrogen
          case 'heavy':
            return !f.hydrogen
          case 'ca':
            return a.name === 'CA' && a.element === 'C' && !f.water && !f.ion
        }
        return false
      case 'str': {
        const value = n.prop === 'name' ? a.name : n.prop === 'resname' ? a.resName : n.prop === 'chain' ? a.chainId : a.element
        return n.prop === 'element' ? elementMatchers(n).some((m) => m(value)) : strMatchers(n).some((m) => m(value))
      }
      case 'num': {
        const v = n.prop === 'resid' ? a.resSeq : n.prop === 'residue' ? f.residue : n.prop === 'index' ? i : a.serial
        return n.ranges.some(([lo, hi]) => v >= lo && v <= hi)
      }
    }
  }
  const matchers = new WeakMap<Node, ((s: string) => boolean)[]>()
  const strMatchers = (n: Node & { op: 'str' }): ((s: string) => boolean)[] => {
    let m = matchers.get(n)
    if (!m) matchers.set(n, (m = n.values.map(globTest)))
    return m
  }
  const elementMatchers = (n: Node & { op: 'str' }): ((s: string) => boolean)[] => {
    let m = matchers.get(n)
    if (!m) matchers.set(n, (m = n.values.map((v) => globTest(normalizeElement(v) || v))))
    return m
  }
  const out: number[] = []
  for (let i = 0; i < top.atoms.length; i++) if (evalAt(tree, i)) out.push(i)
  return out
}

/** counts of water and ion atoms among `indices` (all atoms when omitted) */
export function solventCounts(top: Topology, indices?: readonly number[]): { water: number; ion: number } {
  const facts = atomFacts(top)
  let water = 0
  let ion = 0
  for (const i of indices ?? facts.keys()) {
    if (facts[i]!.water) water++
    else if (facts[i]!.ion) ion++
  }
  return { water, ion }
}
