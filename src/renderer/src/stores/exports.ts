/** Exporting a run (PDB/DCD/XYZ) through run.export; browser mode also downloads the files. */
import { defineStore } from 'pinia'
import { base64ToBytes, downloadBytes, errorText } from '../api/codec'
import { api, useAppStore } from './app'

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
    async exportRun(runId: string, format: 'pdb' | 'dcd' | 'xyz' | 'xtc', replica?: number) {
      const projectId = useAppStore().currentProjectId
      if (!projectId || this.busy) return
      this.busy = format
      this.error = null
      this.lastPath = null
      this.lastRunId = runId
      try {
        const http = api().transport === 'http'
        const res = await api().call('run.export', { projectId, runId, format, ...(replica !== undefined ? { replica } : {}), withBytes: http })
        this.lastPath = res.path
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
