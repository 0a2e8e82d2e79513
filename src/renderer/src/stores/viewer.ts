/**
 * The viewer's own state: the dataset preview shown before any run is open (the molecule appears
 * as soon as a dataset — or a model, which selects its dataset — is picked), the observables
 * picked in the viewer (each belongs to the topology it was picked on), which observables the
 * time-series plot shows, and the player settings (kept across runs and reloads).
 */
import { defineStore } from 'pinia'
import { markRaw } from 'vue'
import { base64ToFloat32, errorText } from '../api/codec'
import { api, useAppStore } from './app'
import type { PickedObservable } from '../viewer/timeseries'
import { PLAY_MODES, type PlayMode } from '../viewer/playback'

export interface DatasetPreview {
  projectId: string
  datasetId: string
  name: string
  topologyPdb: string
  /** [frames, 3N] Å, the dataset's (aligned) snapshots */
  coords: Float32Array
  frames: number
  dim: number
}

export interface PlayerPrefs {
  fps: number
  mode: PlayMode
  stride: number
  /** superpose every frame on the topology's coordinates */
  holdSteady: boolean
}

const PREFS_KEY = 'diffmd-player'
const DEFAULT_PREFS: PlayerPrefs = { fps: 25, mode: 'loop', stride: 1, holdSteady: true }

function loadPrefs(): PlayerPrefs {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) ?? 'null') as Partial<PlayerPrefs> | null
    if (p && typeof p === 'object') {
      return {
        fps: typeof p.fps === 'number' && p.fps > 0 ? p.fps : DEFAULT_PREFS.fps,
        mode: PLAY_MODES.includes(p.mode as PlayMode) ? (p.mode as PlayMode) : DEFAULT_PREFS.mode,
        stride: typeof p.stride === 'number' && Number.isInteger(p.stride) && p.stride >= 1 ? p.stride : 1,
        holdSteady: typeof p.holdSteady === 'boolean' ? p.holdSteady : true,
      }
    }
  } catch {
    // a damaged entry: defaults
  }
  return { ...DEFAULT_PREFS }
}

/** identifies a topology by its atoms (names, residues), so picks survive reloading the same molecule */
export function topologyKey(atoms: { name: string; resName: string; resSeq: number }[]): string {
  let h = 2166136261
  const s = atoms.map((a) => `${a.resName}${a.resSeq}${a.name}`).join('|')
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return `${atoms.length}:${(h >>> 0).toString(16)}`
}

let previewSeq = 0

export const useViewerStore = defineStore('viewer', {
  state: () => ({
    preview: null as DatasetPreview | null,
    previewLoading: false,
    previewError: null as string | null,
    /** picked observables by topology key */
    picked: {} as Record<string, PickedObservable[]>,
    /** keys of the observables the time-series plot shows, by topology key */
    shown: {} as Record<string, string[]>,
    prefs: loadPrefs(),
  }),
  actions: {
    savePrefs() {
      localStorage.setItem(PREFS_KEY, JSON.stringify(this.prefs))
    },
    /** loads the dataset's topology and snapshots for the preview (null clears it) */
    async showDataset(datasetId: string | null) {
      const projectId = useAppStore().currentProjectId
      const seq = ++previewSeq
      if (!datasetId || !projectId) {
        this.preview = null
        this.previewError = null
        return
      }
      if (this.preview?.datasetId === datasetId && this.preview.projectId === projectId) return
      this.previewLoading = true
      this.previewError = null
      try {
        const res = await api().call('dataset.get', { projectId, datasetId })
        if (seq !== previewSeq) return
        const coords = base64ToFloat32(res.coordsBase64)
        const dim = res.manifest.dim
        this.preview = markRaw({ projectId, datasetId, name: res.manifest.name, topologyPdb: res.topologyPdb, coords, frames: Math.floor(coords.length / dim), dim })
      } catch (err) {
        if (seq === previewSeq) {
          this.preview = null
          this.previewError = errorText(err)
        }
      } finally {
        if (seq === previewSeq) this.previewLoading = false
      }
    },
    pickedFor(topo: string): PickedObservable[] {
      return this.picked[topo] ?? []
    },
    addPicked(topo: string, p: PickedObservable) {
      const list = this.picked[topo] ?? []
      if (!list.some((x) => x.key === p.key)) this.picked[topo] = [...list, p]
      const shown = this.shown[topo]
      if (shown && !shown.includes(p.key)) this.shown[topo] = [...shown, p.key]
    },
    removePicked(topo: string, key: string) {
      this.picked[topo] = (this.picked[topo] ?? []).filter((x) => x.key !== key)
      if (this.shown[topo]) this.shown[topo] = this.shown[topo]!.filter((k) => k !== key)
    },
  },
})
