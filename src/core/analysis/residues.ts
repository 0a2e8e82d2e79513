/**
 * Per-residue backbone analysis of any peptide (docs/peptides.md): the residues that have both φ
 * and ψ (found from names and bonds by backboneDihedrals), their φ/ψ series, and per residue the
 * basin populations, core-to-core transition rates, unit-vector ACFs and τ_int. The basins are the
 * alanine-dipeptide regions of basins.ts (β/C5, C7eq, α_R, α_L/C7ax), applied to each residue's
 * own (φ_i, ψ_i) — regions of the Ramachandran plane shared by non-glycine, non-proline residues.
 * Frames: one Float32Array [nFrames, 3·nAtoms] per replica, Å; angles in radians.
 */
import type { Topology } from '../topology'
import { backboneDihedrals, seriesOf, type DihedralDef } from './observables'
import { basinPopulations, transitionRates, type TransitionTable } from './basins'
import { replicaAcf } from './acf'
import { tauInt } from './tau-int'

export interface PeptideResidue {
  /** "ALA2", or "A:ALA2" when the topology has several chains */
  label: string
  phi: DihedralDef
  psi: DihedralDef
}

/** the residues with both φ and ψ, in file order (ala2: one; ACE-ALA-ALA-NME: two) */
export function peptideResidues(top: Topology, coords?: ArrayLike<number>): PeptideResidue[] {
  const { phi, psi } = backboneDihedrals(top, coords)
  const psiByLabel = new Map(psi.map((d) => [d.name.slice(2), d]))
  const out: PeptideResidue[] = []
  for (const p of phi) {
    const label = p.name.slice(2)
    const q = psiByLabel.get(label)
    if (q) out.push({ label, phi: p, psi: q })
  }
  return out
}

export interface ResidueSeries {
  label: string
  /** one series per replica */
  phi: Float64Array[]
  psi: Float64Array[]
}

/** φ/ψ series (radians) of every peptide residue, one per replica */
export function residueSeries(replicas: readonly Float32Array[], nAtoms: number, nFrames: number, residues: readonly PeptideResidue[]): ResidueSeries[] {
  return residues.map((r) => ({
    label: r.label,
    phi: replicas.map((fr) => seriesOf(fr, nAtoms, nFrames, { kind: 'dihedral', atoms: r.phi.atoms })),
    psi: replicas.map((fr) => seriesOf(fr, nAtoms, nFrames, { kind: 'dihedral', atoms: r.psi.atoms })),
  }))
}

export interface ResidueAcf {
  acf: number[]
  stderr: number[]
  tauInt: number
  tauIntConverged: boolean
}

export interface ResidueAnalysis {
  label: string
  /** partition_4 populations of all frames of all replicas */
  populations: Record<string, number>
  /** core-to-core transitions and rates (per ns) */
  rates: TransitionTable
  phi: ResidueAcf
  psi: ResidueAcf
}

function acfOf(series: Float64Array[], maxLag: number, spacingPs: number): ResidueAcf {
  const { mean, stderr } = replicaAcf(series, maxLag, 'angle', 'pooled')
  const t = tauInt(mean, spacingPs)
  return { acf: Array.from(mean), stderr: Array.from(stderr, (v) => (Number.isFinite(v) ? v : 0)), tauInt: t.tau, tauIntConverged: t.converged }
}

/** per-residue populations, rates, ACFs (up to maxLag frames) and τ_int; frames `spacingPs` apart */
export function analyseResidues(series: readonly ResidueSeries[], spacingPs: number, maxLag: number): ResidueAnalysis[] {
  return series.map((s) => {
    const n = s.phi.reduce((a, p) => a + p.length, 0)
    const allPhi = new Float64Array(n)
    const allPsi = new Float64Array(n)
    let o = 0
    s.phi.forEach((p, r) => {
      allPhi.set(p, o)
      allPsi.set(s.psi[r]!, o)
      o += p.length
    })
    return {
      label: s.label,
      populations: basinPopulations(allPhi, allPsi, 4),
      rates: transitionRates(
        s.phi.map((p, r) => ({ phi: p, psi: s.psi[r]! })),
        spacingPs
      ),
      phi: acfOf(s.phi, maxLag, spacingPs),
      psi: acfOf(s.psi, maxLag, spacingPs),
    }
  })
}
