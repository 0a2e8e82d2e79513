/**
 * Topology of a molecular system: the atoms of one model of a PDB file, in file order.
 * Shared by formats (readers/writers), datasets and analysis (φ/ψ from atom names).
 */
export interface AtomRecord {
  /** ATOM or HETATM */
  record: 'ATOM' | 'HETATM'
  /** serial number as read (hybrid-36 decoded); writers renumber 1..N */
  serial: number
  /** atom name, trimmed (e.g. "CA", "HB1") */
  name: string
  /** alternate location indicator kept ('' when none) */
  altLoc: string
  /** residue name, trimmed (e.g. "ALA", "ACE", "NME") */
  resName: string
  chainId: string
  resSeq: number
  iCode: string
  occupancy: number
  bFactor: number
  /** element symbol, upper-case first letter, e.g. "C", "Cl"; inferred from the name when the column is blank */
  element: string
}

export interface UnitCell {
  a: number
  b: number
  c: number
  alpha: number
  beta: number
  gamma: number
  spaceGroup: string
  z: number
}

export interface Topology {
  atoms: AtomRecord[]
  cell?: UnitCell
}
