/**
 * Plots of the trajectory on screen: ACFs (φ, ψ, RMSD, Rg, a user-picked observable) with error
 * bands and τ_int, the reference ACF of the run's dataset when it has one, and the Ramachandran
 * histogram of the generated frames next to the training data's, with JSD and basin populations.
 * Recomputed when frames arrive (at most about once a second while streaming).
 *
 * The φ/ψ reference is computed like with like (docs/science.md): when the dataset's reference
 * carries the φ/ψ time series, they are cut into segments of the run's length and spacing and go
 * through the run's own estimator; a τ_int the run is too short for is marked unreliable. A custom
 * observable belongs to the run it was typed for: each run keeps its own, and one that does not fit
 * a run fails alone (its message beside the field) while the standard plots still draw.
 */
import { defineStore } from 'pinia'
import { markRaw, nextTick } from 'vue'
import { waitBeforeRefresh } from '../plots/refresh'
import { readPdb } from '../../../core/formats/pdb'
import type { Topology } from '../../../core/topology'
import type { AcfSeries } from '../plots/options'
import { base64ToFloat32, errorText } from '../api/codec'
import { api, useAppStore } from './app'
import { useSamplerStore } from './sampler'
import {
  acfSeries,
  judgeTau,
  likeWithLike,
  likeWithLikeAcf,
  referenceSeries,
  referenceTau,
  checkCustom,
  computeSeries,
  customObservable,
  maxLagOf,
  populations,
  ramaOf,
  referenceAcf,
  referenceRama,
  safeJsd,
  standardObservables,
  residueLabels,
  coreRates,
  type CustomObservable,
  type ObservableDef,
} from '../analysis/run-analysis'

export interface AcfPanel {
  key: string
  title: string
  series: AcfSeries[]
  /** one line when the run's τ_int cannot be trusted */
  warning?: string
  /** how the reference curve was made (like with like, or the full-length runs) */
  referenceNote?: string
}

/** a custom observable as typed, per run */
interface CustomEntry {
  kind: CustomObservable['kind']
  text: string
}

export interface RamaResult {
  generated: Float64Array
  data: Float64Array | null
  reference: Float64Array | null
  jsdData?: number
  jsdReference?: number
  popGenerated: Record<string, number>
  popData: Record<string, number> | null
  popReference: Record<string, number> | null
  /** the residue these figures are of ("ALA2"), and its core-to-core rates in the run */
  residue: string | null
  rates: { key: string; ratePerNs: number | null; count: number }[]
}

/** the training data's φ/ψ figures of one residue */
interface DatasetResidue {
  rama: Float64Array
  pop: Record<string, number>
}

interface DatasetCache {
  key: string
  topology: Topology
  /** the dataset's frames when they have the run's atoms; null otherwise */
  coords: Float32Array | null
  frames: number
  /** per residue index (docs/peptides.md), computed when first shown */
  residues: Map<number, DatasetResidue | null>
  reference: Record<string, unknown> | null
}

/** the dataset's Ramachandran and populations of residue `residue` (null when it has no φ/ψ there) */
function datasetResidue(cache: DatasetCache, residue: number, coordsForBonds: ArrayLike<number>): DatasetResidue | null {
  if (cache.residues.has(residue)) return cache.residues.get(residue)!
  let out: DatasetResidue | null = null
  if (cache.coords) {
    const dim = cache.topology.atoms.length * 3
    const defs = standardObservables(cache.topology, coordsForBonds, residue).filter((d) => d.key === 'phi' || d.key === 'psi')
    if (defs.length === 2) {
      const s = computeSeries(cache.coords, cache.frames, 1, dim, defs, cache.coords.subarray(0, dim))
      const phi = s.series.phi![0]!
      const psi = s.series.psi![0]!
      out = { rama: ramaOf([phi], [psi]), pop: populations([phi], [psi]) }
    }
  }
  cache.residues.set(residue, out)
  return out
}

let datasetCache: DatasetCache | null = null
let timer: ReturnType<typeof setTimeout> | undefined
let lastRun = 0
/** ms the last recompute took, its plots' redraw included (refreshDelay keeps this under 20 % of the time) */
let lastCost = 0

export const useAnalysisStore = defineStore('analysis', {
  state: () => ({
    acfs: [] as AcfPanel[],
    rama: null as RamaResult | null,
    /** the custom observable of the run on screen */
    custom: { kind: 'distance', atoms: [] } as CustomObservable,
    customText: '',
    customError: null as string | null,
    /** the peptide residues of the run on screen (docs/peptides.md) and the one the φ/ψ plots show */
    residues: [] as string[],
    residue: 0,
    /** the run the custom observable above belongs to */
    customRunId: null as string | null,
    /** each run's custom observable, as typed */
    customByRun: {} as Record<string, CustomEntry>,
    error: null as string | null,
    computing: false,
    /** the trajectory version the plots show */
    shownVersion: -1,
    frames: 0,
  }),
  actions: {
    /** parses "i j k l" (0-based) into the custom observable of the run on screen; one-line message when it does not fit that run */
    setCustom(kind: CustomObservable['kind'], text: string) {
      const sampler = useSamplerStore()
      const runId = sampler.traj?.run.id ?? null
      if (runId) this.customByRun[runId] = { kind, text }
      this.customRunId = runId
      this.applyCustom(kind, text, sampler.traj ? sampler.traj.dim / 3 : Infinity)
      this.schedule(true)
    },
    applyCustom(kind: CustomObservable['kind'], text: string, nAtoms: number) {
      this.customText = text
      const atoms = text.trim() ? text.trim().split(/[\s,]+/).map(Number) : []
      const custom = { kind, atoms }
      this.customError = atoms.length === 0 ? null : checkCustom(custom, nAtoms)
      this.custom = custom
    },
    /** the run on screen changed: its own custom observable (or none) comes back */
    followRun(runId: string, nAtoms: number) {
      if (this.customRunId === runId) return
      this.customRunId = runId
      const saved = this.customByRun[runId]
      this.applyCustom(saved?.kind ?? this.custom.kind, saved?.text ?? '', nAtoms)
    },
    /** show φ/ψ, Ramachandran, populations and rates of another residue (index into `residues`) */
    setResidue(i: number) {
      this.residue = i
      this.schedule(true)
    },
    /** recompute soon (while frames stream in: at most once a second, and less often when it is dear — plots/refresh.ts) */
    schedule(now = false) {
      if (timer !== undefined) return
      const wait = now ? 0 : waitBeforeRefresh(performance.now(), lastRun, lastCost)
      timer = setTimeout(() => {
        timer = undefined
        void this.compute()
      }, wait)
    },
    async datasetData(projectId: string, datasetId: string | null, topology: Topology): Promise<DatasetCache> {
      const key = `${projectId}/${datasetId ?? '-'}`
      if (datasetCache?.key === key) return datasetCache
      const cache: DatasetCache = { key, topology, coords: null, frames: 0, residues: new Map(), reference: null }
      if (datasetId) {
        try {
          const [ds, ref] = await Promise.all([api().call('dataset.get', { projectId, datasetId }), api().call('dataset.reference', { projectId, datasetId })])
          cache.reference = ref.reference
          if (ds.manifest.dim === topology.atoms.length * 3) {
            cache.coords = base64ToFloat32(ds.coordsBase64)
            cache.frames = ds.manifest.frames
          }
        } catch {
          // the dataset was deleted: the run's own plots still work
        }
      }
      datasetCache = cache
      return cache
    },
    async compute() {
      const sampler = useSamplerStore()
      const t = sampler.traj
      const projectId = useAppStore().currentProjectId
      const started = performance.now()
      lastRun = started
      if (!t || !projectId || t.received < 3) {
        this.acfs = []
        this.rama = null
        this.frames = t?.received ?? 0
        return
      }
      this.computing = true
      try {
        const version = sampler.trajVersion
        // the run's topology.pdb holds the dataset's reference frame: the RMSD reference
        const parsed = readPdb(t.topologyPdb, 'topology.pdb')
        const topology = parsed.topology
        this.followRun(t.run.id, topology.atoms.length)
        const ds = await this.datasetData(projectId, t.run.datasetId, topology)
        const F = t.received
        const dtPs = t.run.params.dtPerFrame
        const reference = parsed.frames.slice(0, t.dim)
        this.residues = residueLabels(topology, reference)
        if (this.residue >= this.residues.length) this.residue = 0
        const defs: ObservableDef[] = standardObservables(topology, reference, this.residue)
        const dsRes = datasetResidue(ds, this.residue, reference)
        const { series } = computeSeries(t.rows, F, t.replicas, t.dim, defs, reference)
        const maxLag = maxLagOf(F)
        const runPs = (F - 1) * dtPs
        const refSeries = referenceSeries(ds.reference)
        const like = refSeries ? likeWithLike(refSeries, F, dtPs, t.replicas, maxLag) : null
        const source = ds.reference && ds.reference.run === 'bd' ? 'GROMACS BD' : 'reference'
        const panels: AcfPanel[] = []
        for (const def of defs) {
          const s = acfSeries(def, series[def.key]!, dtPs, maxLag)
          const warning = judgeTau(s, runPs, referenceTau(ds.reference, def))
          const panel: AcfPanel = { key: def.key, title: `ACF ${def.label}`, series: [s], ...(warning ? { warning } : {}) }
          if (like && def.referenceKey && (def.key === 'phi' || def.key === 'psi')) {
            const r = likeWithLikeAcf(like, def.key, def, source)
            panel.series.push(r.series)
            panel.referenceNote = r.note
          } else {
            const ref = referenceAcf(ds.reference, def, maxLag * dtPs)
            if (ref) {
              panel.series.push(ref)
              panel.referenceNote = refSeries
                ? `${source} from its full-length runs: its φ/ψ series cannot be cut at ${dtPs} ps × ${F} frames, so this curve is not like with like`
                : `${source} from its full-length runs (not cut to this run's length): a run this short shows a shorter correlation`
            }
          }
          panels.push(panel)
        }
        // the custom observable: checked against this run's atoms, computed apart, failing alone
        if (this.custom.atoms.length && !this.customError) {
          try {
            const def = customObservable(this.custom, topology)
            const cs = computeSeries(t.rows, F, t.replicas, t.dim, [def], reference)
            const s = acfSeries(def, cs.series[def.key]!, dtPs, maxLag)
            const warning = judgeTau(s, runPs, undefined)
            panels.push({ key: def.key, title: `ACF ${def.label}`, series: [s], ...(warning ? { warning } : {}) })
          } catch (err) {
            this.customError = `custom observable: ${errorText(err)}`
          }
        }
        this.acfs = markRaw(panels)
        if (series.phi && series.psi) {
          const generated = ramaOf(series.phi, series.psi)
          // the GROMACS reference file is of ala2's one residue: shown only for a one-residue peptide
          const refRama = this.residues.length <= 1 ? referenceRama(ds.reference) : null
          const jsdData = dsRes ? safeJsd(generated, dsRes.rama) : undefined
          const jsdReference = refRama ? safeJsd(generated, refRama) : undefined
          this.rama = markRaw({
            generated,
            data: dsRes?.rama ?? null,
            reference: refRama,
            ...(jsdData !== undefined ? { jsdData } : {}),
            ...(jsdReference !== undefined ? { jsdReference } : {}),
            popGenerated: populations(series.phi, series.psi),
            popData: dsRes?.pop ?? null,
            popReference: refRama ? ((ds.reference?.basin_populations_4 as Record<string, number> | undefined) ?? null) : null,
            residue: this.residues[this.residue] ?? null,
            rates: coreRates(series.phi, series.psi, dtPs),
          })
        } else this.rama = null
        this.frames = F
        this.shownVersion = version
        this.error = null
      } catch (err) {
        // never leave another run's plots on screen under this run's error
        this.acfs = []
        this.rama = null
        this.error = `analysis: ${errorText(err)}`
      } finally {
        this.computing = false
        // the cost includes the plots' redraw, which Vue runs in the flush after this recompute
        void nextTick().then(() => (lastCost = performance.now() - started))
      }
    },
  },
})
