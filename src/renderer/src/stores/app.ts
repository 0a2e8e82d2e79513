import { defineStore } from 'pinia'
import type { AppInfo, ProjectSummary } from '../../../api/contract'
import { createClient, detectWebGpu, type StudioClient } from '../api/client'

let client: StudioClient | undefined
export function api(): StudioClient {
  client ??= createClient()
  return client
}

export const useAppStore = defineStore('app', {
  state: () => ({
    info: null as AppInfo | null,
    projects: [] as ProjectSummary[],
    currentProjectId: null as string | null,
    error: null as string | null,
    loading: false,
  }),
  getters: {
    currentProject: (s) => s.projects.find((p) => p.id === s.currentProjectId) ?? null,
  },
  actions: {
    openProject(id: string) {
      this.currentProjectId = id
      localStorage.setItem('diffmd-project', id)
    },
    async load() {
      this.loading = true
      this.error = null
      try {
        const [info, webgpu] = await Promise.all([api().call('app.info', {}), detectWebGpu()])
        this.info = { ...info, runtimes: { ...info.runtimes, webgpu } }
        this.projects = await api().call('project.list', {})
        const remembered = localStorage.getItem('diffmd-project')
        this.currentProjectId ??= this.projects.find((p) => p.id === remembered)?.id ?? this.projects.find((p) => p.id === 'examples')?.id ?? this.projects[0]?.id ?? null
      } catch (err) {
        this.error = (err as Error).message
      } finally {
        this.loading = false
      }
    },
    async createProject(name: string) {
      try {
        const p = await api().call('project.create', { name })
        this.projects = await api().call('project.list', {})
        this.openProject(p.id)
      } catch (err) {
        this.error = (err as Error).message
      }
    },
  },
})
