/**
 * MolViewer on NGL. The topology is the first model of a PDB text (stage.loadFile of a Blob);
 * trajectory frames are pushed into the structure with `structure.updatePosition` followed by
 * `updateRepresentations({ position: true })` — the same two calls NGL's own Trajectory class makes
 * when it changes frame. We do not use NGL's Trajectory/TrajectoryPlayer because our frames are
 * already in memory, their number grows while a run streams, the player's own timers and async
 * frame cache would fight our controls, and its superposition is tied to its own frame cache.
 * Instead every frame is Kabsch-superposed here (src/core/geometry Aligner, allocation-free) onto
 * the coordinates of the topology PDB, so the molecule stays where the reference was drawn
 * ("hold steady"; switch it off with setSuperpose(false) to see the frames as sampled).
 *
 * Picking: a left click on an atom (or on a bond: its nearer atom) reports the atom through
 * onPick; NGL's own click actions (centre on atom, measure) are removed so a click never moves the
 * camera. Picked atoms are drawn as larger spheres, with NGL's distance/angle/dihedral label once
 * 2/3/4 are picked.
 */
import { Stage, Vector3, type PickingProxy, type RepresentationElement, type StructureComponent } from 'ngl'
import { Aligner } from '../../../core/geometry/kabsch'
import type { FrameGetter, MolViewer, PickedAtom, Representation, TopologyInfo } from './viewer'

export interface NglViewerOptions {
  backgroundColor?: string
  /** superpose frames onto the topology's coordinates (default true) */
  superpose?: boolean
}

const REPR_PARAMS: Record<Representation, Record<string, unknown>> = {
  licorice: { colorScheme: 'element' },
  'ball+stick': { colorScheme: 'element' },
  spacefill: { colorScheme: 'element' },
  cartoon: { colorScheme: 'residueindex' },
}

export class NglViewer implements MolViewer {
  private readonly stage: Stage
  private component: StructureComponent | undefined
  private info: TopologyInfo | undefined
  private reference: Float32Array | undefined
  private aligner: Aligner | undefined
  private superposeFrames: boolean
  private pickListener: ((atom: PickedAtom | null) => void) | undefined
  private marks: RepresentationElement[] = []
  private scratch = new Float32Array(0)
  private representation: Representation = 'licorice'
  private count = 0
  private replicas = 1
  private getFrame: FrameGetter | undefined
  private replica = 0
  private frame = -1
  private disposed = false
  /** generation of loadTopology calls: a stale load is thrown away */
  private loadSeq = 0

  constructor(
    private readonly container: HTMLElement,
    opts: NglViewerOptions = {}
  ) {
    this.superposeFrames = opts.superpose ?? true
    this.stage = quietStage(() => new Stage(container, { backgroundColor: opts.backgroundColor ?? 'white', tooltip: false, quality: 'medium', sampleLevel: 0 }))
    if (!this.stage.viewer.renderer) {
      throw new Error('the 3-D viewer needs WebGL, which this browser did not provide (check hardware acceleration / GPU blocklist)')
    }
    // a click picks; it does not re-centre the camera or start NGL's own measurements
    this.stage.mouseControls.remove('clickPick-*')
    this.stage.signals.clicked.add((proxy: PickingProxy | undefined) => this.onClicked(proxy))
  }

  private onClicked(proxy: PickingProxy | undefined): void {
    if (!this.pickListener) return
    const a = proxy ? (proxy.atom ?? proxy.closestBondAtom) : undefined
    this.pickListener(a ? this.atomInfo(a.index) : null)
  }

  /** calls `cb` with the atom under each left click (null: a click on empty space) */
  onPick(cb: ((atom: PickedAtom | null) => void) | undefined): void {
    this.pickListener = cb
  }

  /** names of atom i (0-based) as in the topology PDB */
  atomInfo(i: number): PickedAtom | null {
    const s = this.component?.structure
    if (!s || !(i >= 0 && i < s.atomCount)) return null
    const a = s.getAtomProxy(i)
    return { index: i, name: a.atomname, resName: a.resname, resSeq: a.resno, chain: a.chainname, element: a.element }
  }

  /** marks atoms (0-based): larger spheres, and the distance/angle/dihedral when 2/3/4 are given */
  markAtoms(atoms: number[]): void {
    const comp = this.component
    if (!comp) return
    for (const r of this.marks) comp.removeRepresentation(r)
    this.marks = []
    if (atoms.length === 0) {
      this.stage.viewer.requestRender()
      return
    }
    this.marks.push(comp.addRepresentation('ball+stick', { sele: `@${atoms.join(',')}`, colorValue: '#f59f00', colorScheme: 'uniform', aspectRatio: 3.2, radiusScale: 1.1, opacity: 0.85 }))
    const opts = { labelSize: 1.6, labelColor: '#b35c00', color: '#f59f00', labelUnit: '' }
    if (atoms.length === 2) this.marks.push(comp.addRepresentation('distance', { ...opts, atomPair: [atoms], labelUnit: 'angstrom' }))
    if (atoms.length === 3) this.marks.push(comp.addRepresentation('angle', { ...opts, atomTriple: [atoms] }))
    if (atoms.length === 4) this.marks.push(comp.addRepresentation('dihedral', { ...opts, atomQuad: [atoms] }))
    this.stage.viewer.requestRender()
  }

  /** where atom i (0-based) is drawn now, in CSS pixels from the canvas's top-left corner (tests, tooltips) */
  atomScreenPosition(i: number): { x: number; y: number } | null {
    const s = this.component?.structure
    if (!s || !(i >= 0 && i < s.atomCount)) return null
    const a = s.getAtomProxy(i)
    const p = this.stage.viewerControls.getPositionOnCanvas(new Vector3(a.x, a.y, a.z)) as { x: number; y: number }
    const el = this.canvas
    const h = el.clientHeight || el.height
    // NGL's canvas coordinates start at the bottom-left corner
    return { x: p.x, y: h - p.y }
  }

  /** hold steady: superpose each frame on the topology's coordinates (true) or show it as sampled */
  setSuperpose(on: boolean): void {
    if (on === this.superposeFrames) return
    this.superposeFrames = on
    if (this.frame >= 0) this.setFrame(this.frame)
  }

  get superposing(): boolean {
    return this.superposeFrames
  }

  /** the WebGL canvas (tests, screenshots) */
  get canvas(): HTMLCanvasElement {
    return this.stage.viewer.renderer.domElement
  }

  get topology(): TopologyInfo | undefined {
    return this.info
  }

  /** coordinates of the loaded topology (Å, 3N), the frame every frame is superposed on */
  get referenceCoordinates(): Float32Array {
    if (!this.reference) throw new Error('no topology loaded')
    return this.reference
  }

  /** coordinates now on screen (Å, 3N; a copy) */
  displayedCoordinates(): Float32Array {
    const s = this.component?.structure
    const out = new Float32Array(3 * (s?.atomCount ?? 0))
    let k = 0
    s?.eachAtom((a) => {
      out[k++] = a.x
      out[k++] = a.y
      out[k++] = a.z
    })
    return out
  }

  get currentFrame(): number {
    return this.frame
  }

  async loadTopology(pdbText: string): Promise<TopologyInfo> {
    const seq = ++this.loadSeq
    const blob = new Blob([pdbText], { type: 'text/plain' })
    const comp = (await this.stage.loadFile(blob, { ext: 'pdb', defaultRepresentation: false, firstModelOnly: true, name: 'topology' })) as StructureComponent | undefined
    if (this.disposed || seq !== this.loadSeq) {
      if (comp && !this.disposed) this.stage.removeComponent(comp)
      throw new Error('topology load superseded')
    }
    if (!comp || !('structure' in comp)) throw new Error('the topology is not a PDB structure NGL can read')
    const s = comp.structure
    if (s.atomCount === 0) {
      this.stage.removeComponent(comp)
      throw new Error('the topology PDB has no ATOM/HETATM records')
    }
    if (this.component) this.stage.removeComponent(this.component)
    this.component = comp
    this.marks = []
    const ref = new Float32Array(3 * s.atomCount)
    let k = 0
    s.eachAtom((a) => {
      ref[k++] = a.x
      ref[k++] = a.y
      ref[k++] = a.z
    })
    this.reference = ref
    this.aligner = new Aligner(ref, s.atomCount)
    this.scratch = new Float32Array(ref.length)
    let residues = 0
    let protein = 0
    s.eachResidue((r) => {
      residues++
      if (r.isProtein()) protein++
    })
    this.info = { atomCount: s.atomCount, residueCount: residues, proteinResidueCount: protein, isProtein: protein >= 3 }
    if (this.representation === 'cartoon' && !this.info.isProtein) this.representation = 'licorice'
    this.frame = -1
    this.applyRepresentation()
    comp.autoView()
    this.stage.viewer.requestRender()
    return this.info
  }

  setFrameSource(count: number, replicas: number, getFrame: FrameGetter): void {
    this.count = Math.max(0, Math.floor(count))
    this.replicas = Math.max(1, Math.floor(replicas))
    this.getFrame = getFrame
    if (this.replica >= this.replicas) this.replica = 0
  }

  setFrame(i: number): boolean {
    if (!this.component || !this.getFrame || !this.reference) return false
    if (!(i >= 0 && i < this.count)) return false
    const src = this.getFrame(this.replica, i)
    if (!src) return false
    if (src.length !== this.reference.length) {
      throw new Error(`frame ${i} has ${src.length / 3} atoms but the topology has ${this.reference.length / 3}: load the PDB the model was trained on`)
    }
    const x = this.scratch
    x.set(src)
    if (this.superposeFrames && this.aligner) this.aligner.align(x, 0)
    this.component.structure.updatePosition(x, true)
    this.component.updateRepresentations({ position: true })
    this.frame = i
    return true
  }

  setReplica(r: number): void {
    const next = Math.min(Math.max(0, Math.floor(r)), this.replicas - 1)
    if (next === this.replica) return
    this.replica = next
    if (this.frame >= 0) this.setFrame(this.frame)
  }

  setRepresentation(rep: Representation): void {
    if (rep === 'cartoon' && this.info && !this.info.isProtein) rep = 'licorice'
    if (rep === this.representation && this.component?.reprList.length) return
    this.representation = rep
    this.applyRepresentation()
  }

  /** draws now instead of on the next animation frame (benchmarks, tests) */
  renderNow(): void {
    this.stage.viewer.render()
  }

  resize(): void {
    if (!this.disposed) this.stage.handleResize()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    const renderer = this.stage.viewer.renderer
    this.stage.removeAllComponents()
    this.stage.dispose()
    // free the WebGL context now instead of waiting for GC (browsers cap live contexts at ~16)
    renderer.forceContextLoss()
    renderer.domElement.remove()
    this.container.replaceChildren()
  }

  private applyRepresentation(): void {
    const comp = this.component
    if (!comp) return
    comp.removeAllRepresentations()
    comp.addRepresentation(this.representation, { ...REPR_PARAMS[this.representation] })
    if (this.representation === 'cartoon') comp.addRepresentation('licorice', { sele: 'sidechainAttached and not hydrogen', colorScheme: 'element' })
  }
}

/**
 * NGL without console noise (issue 10): its Viewer sets three's deprecated `useLegacyLights` (one
 * "THREE.WebGLRenderer: … deprecated" warning per viewer) and Stage.log prints "STAGE LOG …" for
 * every file it loads. The warning is dropped while the Stage is built; the log keeps its list.
 */
function quietStage(make: () => Stage): Stage {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('.useLegacyLights has been deprecated')) return
    warn.apply(console, args)
  }
  let stage: Stage
  try {
    stage = make()
  } finally {
    console.warn = warn
  }
  const s = stage as unknown as { log: (msg: string) => void; logList: string[] }
  s.log = (msg: string) => {
    s.logList.push(msg)
  }
  return stage
}
