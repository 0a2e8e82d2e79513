/**
 * The molecular viewer as the rest of the renderer sees it. One implementation today (NGL,
 * ngl-viewer.ts); components talk to this interface only, so a different engine can be swapped in.
 *
 * Frames are flat Float32Array of length 3N (Å, atom-major, the atom order of the topology PDB).
 */

export type Representation = 'licorice' | 'ball+stick' | 'cartoon' | 'spacefill'
export const REPRESENTATIONS: readonly Representation[] = ['licorice', 'ball+stick', 'cartoon', 'spacefill']

/** returns frame `frame` of replica `replica`, or undefined when it is not (yet) available */
export type FrameGetter = (replica: number, frame: number) => Float32Array | undefined

export interface TopologyInfo {
  /** atoms of the (first model of the) structure */
  atomCount: number
  residueCount: number
  /** amino-acid residues recognised as protein */
  proteinResidueCount: number
  /** true when cartoon makes sense (a polypeptide of at least 3 protein residues) */
  isProtein: boolean
}

/** an atom of the topology, named as in its PDB */
export interface PickedAtom {
  /** 0-based position in the topology (the order of the PDB's ATOM/HETATM records) */
  index: number
  name: string
  resName: string
  resSeq: number
  chain: string
  element: string
}

/** "ALA 2 CA" (residue name, residue number, atom name as in the PDB); "B:ALA 2 CA" when the molecule has several chains */
export function atomLabel(a: Pick<PickedAtom, 'name' | 'resName' | 'resSeq' | 'chain'>, withChain = false): string {
  return `${withChain && a.chain.trim() ? `${a.chain.trim()}:` : ''}${a.resName} ${a.resSeq} ${a.name}`
}

export interface MolViewer {
  /** loads the structure (first model only) and shows it; resolves when it is on screen */
  loadTopology(pdbText: string): Promise<TopologyInfo>
  /** frames come from getFrame(replica, frame) for frame < count, replica < replicas */
  setFrameSource(count: number, replicas: number, getFrame: FrameGetter): void
  /**
   * shows frame i of the current replica, superposed on the topology's coordinates; returns false
   * (and keeps the frame on screen) when getFrame has no frame i yet. Throws when a frame's length
   * does not match the topology.
   */
  setFrame(i: number): boolean
  setReplica(r: number): void
  setRepresentation(rep: Representation): void
  /** call after the container changed size */
  resize(): void
  dispose(): void
}

/** cartoon is offered only for proteins */
export function representationsFor(info: TopologyInfo | undefined): Representation[] {
  return REPRESENTATIONS.filter((r) => r !== 'cartoon' || !!info?.isProtein)
}
