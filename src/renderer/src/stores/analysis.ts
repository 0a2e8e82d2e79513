/**
 * Plots of the trajectory on screen: ACFs (φ, ψ, RMSD, Rg, a user-picked observable) with error
 * bands and τ_int, the reference ACF of the run's dataset when it has one, and the Ramachandran
 * histogram of the generated frames next to the training data's, with JSD and basin populations.
 * Recomputed when frames arrive (at most about once a second while streaming).
 */
import { defineStore } from 'pinia'
import { markRaw } from 'vue'
import { readPdb } from '../../../core/formats/pdb'
import type { Topology } from '../../../core/topology'
import type { AcfSeries } from '../plots/options'
import { base64ToFloat32, errorText } from '../api/codec'
import { api, useAppStore } from './app'
import { useSamplerStore } from './sampler'
import {
  acfSeries,
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
  type CustomObservable,
  type ObservableDef,
} from '../analysis/run-analysis'

export interface AcfPanel {
  key: string
  title: string
  series: AcfSeries[]
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
}

interface DatasetCache {
  key: string
  topology: Topology
  phi: Float64Array | null
  psi: Float64Array | null
  rama: Float64Array | null
  pop: Record<string, number> | null
  reference: Record<string, unknown> | null
}

let datasetCache: DatasetCache | null = null
let timer: ReturnType<typeof setTimeout> | undefined
let lastRun = 0

export const useAnalysisStore = defineStore('analysis', {
  state: () => ({
    acfs: [] as AcfPanel[],
    rama: null as RamaResult | null,
    custom: { kind: 'distance', atoms: [] } as CustomObservable,
    customText: '',
    customError: null as string | null,
    error: null as string | null,
    computing: false,
    /** the trajectory version the plots show */
    shownVersion: -1,
    frames: 0,
  }),
  actions: {
    /** parses "i j k l" into the custom observable; one-line message when it is not valid */
    setCustom(kind: CustomObservable['kind'], text: string) {
      this.customText = text
      const atoms = text.trim() ? text.trim().split(/[\s,]+/).map(Number) : []
      const custom = { kind, atoms }
      const sampler = useSamplerStore()
      const nAtoms = sampler.traj ? sampler.traj.dim / 3 : Infinity
      this.customError = atoms.length === 0 ? null : checkCustom(custom, nAtoms)
      this.custom = custom
      this.schedule(true)
    },
    /** recompute soon (at most once a second while frames stream in) */
    schedule(now = false) {
      if (timer !== undefined) return
      const wait = now ? 0 : Math.max(0, 1000 - (performance.now() - lastRun))
      timer = setTimeout(() => {
        timer = undefined
        void this.compute()
      }, wait)
    },
    async datasetData(projectId: string, datasetId: string | null, topology: Topology): Promise<DatasetCache> {
      const key = `${projectId}/${datasetId ?? '-'}`
      if (datasetCache?.key === key) return datasetCache
      const cache: DatasetCache = { key, topology, phi: null, psi: null, rama: null, pop: null, reference: null }
      if (datasetId) {
        try {
          const [ds, ref] = await Promise.all([api().call('dataset.get', { projectId, datasetId }), api().call('dataset.reference', { projectId, datasetId })])
          cache.reference = ref.reference
          const coords = base64ToFloat32(ds.coordsBase64)
          const defs = standardObservables(topology).filter((d) => d.key === 'phi' || d.key === 'psi')
          const F = ds.manifest.frames
          if (defs.length === 2 && ds.manifest.dim === topology.atoms.length * 3) {
            const s = computeSeries(coords, F, 1, ds.manifest.dim, defs, coords.subarray(0, ds.manifest.dim))
            cache.phi = s.series.phi![0]!
            cache.psi = s.series.psi![0]!
            cache.rama = ramaOf([cache.phi], [cache.psi])
            cache.pop = populations([cache.phi], [cache.psi])
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
      lastRun = performance.now()
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
        const ds = await this.datasetData(projectId, t.run.datasetId, topology)
        const F = t.received
        const dtPs = t.run.params.dtPerFrame
        const reference = parsed.frames.slice(0, t.dim)
        const defs: ObservableDef[] = standardObservables(topology)
        if (this.custom.atoms.length && !this.customError) defs.push(customObservable(this.custom, topology))
        const { series } = computeSeries(t.rows, F, t.replicas, t.dim, defs, reference)
        const maxLag = maxLagOf(F)
        const panels: AcfPanel[] = []
        for (const def of defs) {
          const s = acfSeries(def, series[def.key]!, dtPs, maxLag)
          const ref = referenceAcf(ds.reference, def, maxLag * dtPs)
          panels.push({ key: def.key, title: `ACF ${def.label}`, series: ref ? [s, ref] : [s] })
        }
        this.acfs = markRaw(panels)
        if (series.phi && series.psi) {
          const generated = ramaOf(series.phi, series.psi)
          const refRama = referenceRama(ds.reference)
          const jsdData = ds.rama ? safeJsd(generated, ds.rama) : undefined
          const jsdReference = refRama ? safeJsd(generated, refRama) : undefined
          this.rama = markRaw({
            generated,
            data: ds.rama,
            reference: refRama,
            ...(jsdData !== undefined ? { jsdData } : {}),
            ...(jsdReference !== undefined ? { jsdReference } : {}),
            popGenerated: populations(series.phi, series.psi),
            popData: ds.pop,
            popReference: (ds.reference?.basin_populations_4 as Record<string, number> | undefined) ?? null,
          })
        } else this.rama = null
        this.frames = F
        this.shownVersion = version
        this.error = null
      } catch (err) {
        this.error = `analysis: ${errorText(err)}`
      } finally {
        this.computing = false
      }
    },
  },
})
