/** Exporting a run (PDB/DCD/XYZ) through run.export; browser mode also downloads the files. */
import { defineStore } from 'pinia'
import { base64ToBytes, downloadBytes, errorText } from '../api/codec'
import { api, useAppStore } from './app'

export type ExportFormatName = 'pdb' | 'dcd' | 'xyz' | 'xtc'
/** one replica (0-based), every replica in its own file, or all in one concatenated file */
export type ExportWhich = number | 'all' | 'concat'

export const useExportsStore = defineStore('exports', {
  state: () => ({
    busy: null as string | null,
    /** last export: the file written (in the run folder) */
    lastPath: null as string | null,
    /** the run the last export (or its error) is about */
    lastRunId: null as string | null,
    error: null as string | null,
  }),
  actions: {
    /**
     * which: one replica (0-based), 'all' (one file per replica) or 'concat' (one file, replicas one
     * after another, marked as concatenated). Each export gets names of its own (the service never
     * replaces a file), so the browser's downloads never collide either.
     */
    async exportRun(runId: string, format: ExportFormatName, which: ExportWhich = 'all') {
      const projectId = useAppStore().currentProjectId
      if (!projectId || this.busy) return
      this.busy = format
      this.error = null
      this.lastPath = null
      this.lastRunId = runId
      try {
        const http = api().transport === 'http'
        const choice = typeof which === 'number' ? { replica: which } : { layout: which === 'concat' ? ('concatenated' as const) : ('per-replica' as const) }
        const res = await api().call('run.export', { projectId, runId, format, ...choice, withBytes: http })
        this.lastPath = res.trajectories.length > 1 ? `${res.trajectories[0]} … ${baseName(res.trajectories.at(-1)!)} (${res.trajectories.length} files)` : res.path
        // in browser mode the files live on the server: hand them to the browser as downloads
        for (const f of res.files ?? []) if (!f.name.endsWith('.provenance.json')) downloadBytes(f.name, base64ToBytes(f.base64))
      } catch (err) {
        this.error = errorText(err)
      } finally {
        this.busy = null
      }
    },
  },
})

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p
}
