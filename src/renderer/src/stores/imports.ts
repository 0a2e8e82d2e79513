/**
 * Dataset imports from dropped or picked files. One drop (or pick) of snapshot files = one dataset
 * (PDB, mmCIF, GRO, PQR, XYZ, plain, .gz or .bz2; or DCD/XTC/TRR trajectories dropped together with
 * their PDB/GRO topology, thinned by stride and a time window: docs/formats.md): each
 * file is made readable by the services (Electron: its path; browser mode: streamed to /api/upload),
 * then dataset.import parses, checks and aligns them together. Progress and errors are kept per
 * file, so the UI can show them next to the file they concern.
 */
import { defineStore } from 'pinia'
import { errorText } from '../api/codec'
import { api, useAppStore } from './app'
import { useProjectStore } from './project'

export type FileState = 'waiting' | 'uploading' | 'importing' | 'done' | 'error' | 'skipped'

export interface ImportFile {
  name: string
  size: number
  state: FileState
  /** 0…1 of this file's upload/read */
  progress: number
  error: string | null
  /** where the services read it */
  path: string | null
}

export interface ImportBatch {
  id: string
  /** the server's id for the dataset import (dataset.prepareImport), once asked for */
  importId: string | null
  kind: 'dataset' | 'model'
  projectId: string
  files: ImportFile[]
  state: 'uploading' | 'importing' | 'done' | 'error' | 'cancelled'
  /** frames read so far (from progress events) */
  frames: number
  /** the imported dataset */
  datasetId: string | null
  datasetName: string | null
  /** a message about the batch as a whole (e.g. "nothing to import") */
  error: string | null
  /** after a trajectory import: "7 snapshots: every 5th of 40 frames, 100–700 ps; spacing 100 ps" */
  summary: string | null
}

/** files a dataset import reads (by content; the name only picks which dropped files to send) or refuses by name (archives, MMTF) */
const PDB_RE = /\.(pdb|ent|cif|mmcif|gro|pqr|xyz|extxyz|arc|dcd|xtc|trr)(\.(gz|bz2))?$|\.(tar|tgz|zip|xz|zst|mmtf|bcif)$/i
const TRAJ_RE = /\.(dcd|xtc|trr)(\.(gz|bz2))?$/i
const ONNX_RE = /\.onnx$/i
const JSON_RE = /\.json$/i

export type Selection = 'all' | 'heavy' | 'backbone' | 'ca'

let seq = 0
const controllers = new Map<string, AbortController>()

/** one line about a trajectory import's sampling, from the manifest's sources */
export function samplingSummary(frames: number, sources: Record<string, unknown>[], stride: number, beginPs: number | null, endPs: number | null): string | null {
  const trajs = sources.filter((s) => s.role === 'trajectory')
  if (trajs.length === 0) return null
  const total = trajs.reduce((n, s) => n + (typeof s.framesInFile === 'number' ? s.framesInFile : 0), 0)
  const window = beginPs !== null || endPs !== null ? `, ${beginPs ?? 'start'}–${endPs ?? 'end'} ps` : ''
  const spacing = typeof trajs[0]!.spacingPs === 'number' ? trajs[0]!.spacingPs : null
  const every = stride === 1 ? 'every frame' : `every ${stride}${stride === 2 ? 'nd' : stride === 3 ? 'rd' : 'th'} frame`
  return `${frames} snapshots: ${every} of ${total}${window}${spacing != null ? `; spacing ${spacing} ps` : ''}`
}

function datasetName(files: ImportFile[]): string {
  const first = files[0]!.name.replace(/\.(gz|bz2)$/i, '').replace(/\.(pdb|ent|cif|mmcif|gro|pqr|xyz|extxyz|arc|dcd|xtc|trr)$/i, '')
  return files.length > 1 ? `${first} (+${files.length - 1} files)` : first
}

export const useImportsStore = defineStore('imports', {
  state: () => ({
    batches: [] as ImportBatch[],
    selection: 'all' as Selection,
    /** trajectory frames: every stride-th of those between beginPs and endPs (null: from the start / to the end) */
    stride: 1,
    beginPs: null as number | null,
    endPs: null as number | null,
    listening: false,
  }),
  getters: {
    active: (s) => s.batches.some((b) => b.state === 'uploading' || b.state === 'importing'),
  },
  actions: {
    listen() {
      if (this.listening) return
      this.listening = true
      api().subscribe((e) => {
        if (e.topic !== 'dataset.import.progress') return
        const p = e.payload as { importId: string; file?: string; bytesDone?: number; bytesTotal?: number; frames?: number; done?: boolean }
        const b = this.batches.find((x) => x.importId !== null && x.importId === p.importId)
        if (!b || p.done) return
        if (typeof p.frames === 'number') b.frames = p.frames
        // files are read in order: everything before the current one is read
        const idx = b.files.findIndex((f) => f.path === p.file)
        if (idx >= 0) {
          b.files.forEach((f, i) => {
            if (f.state !== 'importing') return
            f.progress = i < idx ? 1 : i === idx ? Math.min(1, (p.bytesDone ?? 0) / Math.max(1, p.bytesTotal ?? 1)) : 0
          })
        }
      })
    },
    /**
     * Imports what was dropped or picked: PDB snapshots become one dataset; each .onnx file becomes a
     * model (with the .json card dropped beside it, if any). Other files are skipped with a message.
     */
    async importFiles(list: File[]) {
      const projectId = useAppStore().currentProjectId
      if (!projectId || list.length === 0) return
      const onnx = list.filter((f) => ONNX_RE.test(f.name))
      const cards = list.filter((f) => JSON_RE.test(f.name))
      const rest = list.filter((f) => !ONNX_RE.test(f.name) && !(onnx.length > 0 && JSON_RE.test(f.name)))
      for (const f of onnx) {
        const stem = f.name.replace(ONNX_RE, '')
        const card = cards.find((c) => c.name === `${stem}.card.json` || c.name === `${stem}.json`) ?? (onnx.length === 1 && cards.length === 1 ? cards[0] : undefined)
        void this.importModel(projectId, f, card)
      }
      if (rest.length > 0) await this.importDataset(projectId, rest)
    },

    async importModel(projectId: string, onnx: File, card?: File) {
      const id = `imp-${Date.now().toString(36)}-${++seq}`
      const files: ImportFile[] = [onnx, ...(card ? [card] : [])].map((f) => ({ name: f.name, size: f.size, state: 'waiting', progress: 0, error: null, path: null }))
      this.batches.unshift({ id, importId: null, kind: 'model', projectId, files, state: 'uploading', frames: 0, datasetId: null, datasetName: null, error: null, summary: null })
      const batch = this.batches[0]!
      try {
        const paths: string[] = []
        for (let i = 0; i < files.length; i++) {
          const f = batch.files[i]!
          f.state = 'uploading'
          f.path = await api().localPath(i === 0 ? onnx : card!, (sent, total) => (f.progress = total > 0 ? sent / total : 1))
          f.state = 'importing'
          paths.push(f.path)
        }
        batch.state = 'importing'
        const model = await api().call('model.import', {
          projectId,
          onnxPath: paths[0]!,
          ...(paths[1] ? { cardPath: paths[1] } : { name: onnx.name.replace(ONNX_RE, '') }),
        })
        for (const f of batch.files) f.state = 'done'
        batch.state = 'done'
        batch.datasetName = model.name
        const project = useProjectStore()
        await project.refresh()
        project.selectModel(model.id)
      } catch (err) {
        batch.state = 'error'
        const first = batch.files.find((f) => f.state !== 'done') ?? batch.files[0]!
        first.state = 'error'
        first.error = batch.files.reduce((m, f) => (f.path ? m.split(f.path).join(f.name) : m), errorText(err))
        for (const f of batch.files) if (f.state === 'uploading' || f.state === 'importing') f.state = 'waiting'
      }
    },

    async importDataset(projectId: string, list: File[]) {
      this.listen()
      const id = `imp-${Date.now().toString(36)}-${++seq}`
      const files: ImportFile[] = list.map((f) => ({
        name: f.name,
        size: f.size,
        state: PDB_RE.test(f.name) ? 'waiting' : 'skipped',
        progress: 0,
        error: PDB_RE.test(f.name) ? null : `${f.name}: not a PDB file nor another structure or trajectory (mmCIF, GRO, PQR, XYZ; DCD, XTC, TRR with their topology; optionally .gz or .bz2) or an ONNX model (.onnx); skipped`,
        path: null,
      }))
      this.batches.unshift({ id, importId: null, kind: 'dataset', projectId, files, state: 'uploading', frames: 0, datasetId: null, datasetName: null, error: null, summary: null })
      const batch = this.batches[0]!
      const wanted = list.filter((f) => PDB_RE.test(f.name))
      const entries = batch.files.filter((f) => f.state === 'waiting')
      if (wanted.length === 0) {
        batch.state = 'error'
        batch.error = 'nothing to import: drop snapshot files (.pdb, .cif, .gro, .pqr, .xyz, optionally .gz/.bz2) or a trajectory (.dcd, .xtc, .trr) with its topology'
        return
      }
      const controller = new AbortController()
      controllers.set(id, controller)
      try {
        // 1. make every file readable by the services
        for (let i = 0; i < wanted.length; i++) {
          const f = entries[i]!
          f.state = 'uploading'
          try {
            f.path = await api().localPath(wanted[i]!, (sent, total) => (f.progress = total > 0 ? sent / total : 1), controller.signal)
            f.progress = 0
            f.state = 'importing'
          } catch (err) {
            f.state = 'error'
            f.error = errorText(err)
          }
        }
        if (controller.signal.aborted) {
          batch.state = 'cancelled'
          return
        }
        const ready = entries.filter((f) => f.state === 'importing')
        if (ready.length === 0) {
          batch.state = 'error'
          batch.error = 'no file could be read; see the messages above'
          return
        }
        // 2. one dataset from all of them
        batch.state = 'importing'
        // the server chooses the import id (progress events and cancel name it)
        const { importId } = await api().call('dataset.prepareImport', {})
        batch.importId = importId
        if (controller.signal.aborted) {
          batch.state = 'cancelled'
          return
        }
        // stride and time window: the Data tab's fields are for trajectories, so they apply when one is dropped
        const traj = ready.some((f) => TRAJ_RE.test(f.name))
        const stride = traj ? Math.max(1, Math.floor(this.stride || 1)) : 1
        const sampling = {
          ...(stride > 1 ? { stride } : {}),
          ...(traj && this.beginPs !== null ? { beginPs: this.beginPs } : {}),
          ...(traj && this.endPs !== null ? { endPs: this.endPs } : {}),
        }
        const named = ready.filter((f) => TRAJ_RE.test(f.name))
        const res = await api().call('dataset.import', { projectId, paths: ready.map((f) => f.path!), select: this.selection || 'all', name: datasetName(named.length > 0 ? named : ready), importId, ...sampling })
        if (res.manifest) {
          for (const f of ready) {
            f.state = 'done'
            f.progress = 1
          }
          batch.state = 'done'
          batch.datasetId = res.manifest.id
          batch.datasetName = res.manifest.name
          batch.summary = samplingSummary(res.manifest.frames, res.manifest.sources, stride, traj ? this.beginPs : null, traj ? this.endPs : null)
          const project = useProjectStore()
          await project.refresh()
          project.selectedDatasetId = res.manifest.id
        } else {
          batch.state = controller.signal.aborted ? 'cancelled' : 'error'
          for (const e of res.errors) {
            const f = ready.find((x) => x.path === e.path)
            // show the user's file name, not the upload folder's
            const msg = f?.path ? e.message.split(f.path).join(f.name) : e.message
            if (f) {
              f.state = 'error'
              f.error = msg
            } else batch.error = msg
          }
          for (const f of ready) if (f.state === 'importing') f.state = 'waiting'
          if (!batch.error) batch.error = 'nothing was imported: fix or remove the file marked above and drop the files again'
        }
      } catch (err) {
        batch.state = 'error'
        batch.error = errorText(err)
        for (const f of batch.files) if (f.state === 'uploading' || f.state === 'importing') f.state = 'waiting'
      } finally {
        controllers.delete(id)
      }
    },
    async cancel(id: string) {
      controllers.get(id)?.abort()
      const importId = this.batches.find((b) => b.id === id)?.importId
      if (!importId) return
      try {
        await api().call('dataset.cancelImport', { importId })
      } catch {
        // the import may have finished meanwhile
      }
    },
    dismiss(id: string) {
      this.batches = this.batches.filter((b) => b.id !== id)
    },
  },
})
