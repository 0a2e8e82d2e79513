/**
 * Element symbols: normalisation and inference from PDB atom names when the element columns
 * (77–78) are blank.
 *
 * PDB convention: the element symbol is right-justified in columns 13–14 of the atom name field,
 * so " CA " is a carbon (alpha carbon) and "CA  " is calcium; names of 4 characters start in
 * column 13 ("HH31"). Real files break the convention often, so inference is, in order:
 *   1. residues made of standard biomolecular atoms (amino acids, caps, nucleic acids, water):
 *      the first letter of the name (after leading digits) — in a protein "CA" is always carbon;
 *   2. a one- or two-letter name equal to its residue name (ions: "NA" in NA, "CL" in CL);
 *   3. the field starts in column 13 with two letters that form an element and the name has at
 *      most 3 characters ("FE  ", "CL1 ", "BR ") → that two-letter element;
 *   4. otherwise the first letter of the name after leading digits ("1HB " → H).
 */

const ELEMENTS = new Set(
  ('H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr ' +
    'Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb ' +
    'Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr D')
    .split(' ')
)

/** residues whose atoms are all C, N, O, S, P, H (first letter of the name is the element) */
const STANDARD_RESIDUES = new Set(
  ('ALA ARG ASN ASP ASH ASX CYS CYX CYM GLN GLU GLH GLX GLY HIS HID HIE HIP HSD HSE HSP ILE LEU LYS LYN MET ' +
    'PHE PRO SER THR TRP TYR VAL ACE NME NMA NHE NH2 FOR ' +
    'A C G U T I DA DC DG DT DU DI RA RC RG RU ' +
    'HOH WAT SOL H2O TIP TIP3 TIP4 TIP5 T3P T4P SPC DOD')
    .split(' ')
)

/** "CL" / "cl" → "Cl"; returns '' when `s` is not an element symbol */
export function normalizeElement(s: string): string {
  const t = s.trim()
  if (t.length === 0 || t.length > 2) return ''
  const norm = t[0]!.toUpperCase() + t.slice(1).toLowerCase()
  return ELEMENTS.has(norm) ? norm : ''
}

export function isStandardResidue(resName: string): boolean {
  return STANDARD_RESIDUES.has(resName.toUpperCase())
}

/**
 * Element from the raw 4-character atom-name field (columns 13–16, untrimmed) and residue name.
 * Returns '' when nothing sensible can be inferred (no letter in the name).
 */
export function inferElement(rawName: string, resName: string): string {
  const name = rawName.trim()
  const letters = name.replace(/^[0-9]+/, '')
  const first = letters[0]
  if (first === undefined || !/[A-Za-z]/.test(first)) return ''
  const one = normalizeElement(first)
  if (isStandardResidue(resName)) return one || first.toUpperCase()
  const res = resName.trim()
  if (name.length <= 2 && name.toUpperCase() === res.toUpperCase()) {
    const ion = normalizeElement(name)
    if (ion) return ion
  }
  const leftAligned = rawName.length > 0 && rawName[0] !== ' ' && !/[0-9]/.test(rawName[0]!)
  if (leftAligned && name.length <= 3 && /^[A-Za-z]{2}/.test(name)) {
    const two = normalizeElement(name.slice(0, 2))
    if (two) return two
  }
  return one || first.toUpperCase()
}

/** element symbol used when writing: at most 2 characters, upper-case as PDB writes it */
export function elementColumn(element: string): string {
  return element.slice(0, 2).toUpperCase().padStart(2, ' ')
}

/** true for hydrogen (and deuterium) */
export function isHydrogen(element: string): boolean {
  return element === 'H' || element === 'D'
}
