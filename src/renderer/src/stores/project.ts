/**
 * The open project's contents: datasets, models and runs (lists from the API), and which of each is
 * selected. Other stores (imports, training, sampler) refresh it when they change something.
 */
import { defineStore } from 'pinia'
import type { DatasetSummary } from '../../../api/datasets'
import type { ModelSummary } from '../../../api/models'
import type { RunSummary } from '../../../api/runs'
import { errorText } from '../api/codec'
import { api, useAppStore } from './app'

export type ItemKind = 'dataset' | 'model' | 'run'

interface Selection {
  datasetId: string | null
  modelId: string | null
  runId: string | null
}

const SELECTION_KEY = 'diffmd-selection:'

/** what was open in a project (the open run, the model and dataset picked), kept across reloads */
function savedSelection(projectId: string): Partial<Selection> {
  try {
    const v = JSON.parse(localStorage.getItem(SELECTION_KEY + projectId) ?? 'null') as Partial<Selection> | null
    return v && typeof v === 'object' ? v : {}
  } catch {
    return {}
  }
}

export const useProjectStore = defineStore('project', {
  state: () => ({
    datasets: [] as DatasetSummary[],
    models: [] as ModelSummary[],
    runs: [] as RunSummary[],
    selectedDatasetId: null as string | null,
    selectedModelId: null as string | null,
    selectedRunId: null as string | null,
    loading: false,
    /** last failure of a list/rename/delete, one line */
    error: null as string | null,
    /** per item (kind:id): an error from renaming or deleting it */
    itemErrors: {} as Record<string, string>,
    /** the project whose saved selection was restored (once per opening) */
    restoredFor: null as string | null,
  }),
  getters: {
    projectId: (): string | null => useAppStore().currentProjectId,
    selectedDataset: (s) => s.datasets.find((d) => d.id === s.selectedDatasetId) ?? null,
    selectedModel: (s) => s.models.find((m) => m.id === s.selectedModelId) ?? null,
    selectedRun: (s) => s.runs.find((r) => r.id === s.selectedRunId) ?? null,
  },
  actions: {
    async refresh() {
      const projectId = this.projectId
      if (!projectId) return
      this.loading = true
      try {
        const [datasets, models, runs] = await Promise.all([
          api().call('dataset.list', { projectId }),
          api().call('model.list', { projectId }),
          api().call('run.list', { projectId }),
        ])
        if (projectId !== this.projectId) return // the user switched projects meanwhile
        this.datasets = datasets
        this.models = models
        this.runs = runs
        this.error = null
        // the first time a project's lists arrive, what was open before a reload comes back
        if (this.restoredFor !== projectId) {
          this.restoredFor = projectId
          const saved = savedSelection(projectId)
          if (saved.datasetId && datasets.some((d) => d.id === saved.datasetId)) this.selectedDatasetId = saved.datasetId
          if (saved.modelId && models.some((m) => m.id === saved.modelId)) this.selectedModelId = saved.modelId
          if (!this.selectedRunId && saved.runId && runs.some((r) => r.id === saved.runId)) this.selectedRunId = saved.runId
        }
        // keep selections valid; pick sensible defaults (the newest model, its dataset)
        if (!datasets.some((d) => d.id === this.selectedDatasetId)) this.selectedDatasetId = datasets.at(-1)?.id ?? null
        if (!models.some((m) => m.id === this.selectedModelId)) {
          const newest = [...models].sort((a, b) => b.created.localeCompare(a.created))[0]
          this.selectedModelId = newest?.id ?? null
          const trainedOn = newest?.card.data.datasetId
          if (trainedOn && datasets.some((d) => d.id === trainedOn)) this.selectedDatasetId = trainedOn
        }
        if (this.selectedRunId && !runs.some((r) => r.id === this.selectedRunId)) this.selectedRunId = null
      } catch (err) {
        this.error = errorText(err)
      } finally {
        this.loading = false
      }
    },
    reset() {
      this.datasets = []
      this.models = []
      this.runs = []
      this.selectedDatasetId = null
      this.selectedModelId = null
      this.selectedRunId = null
      this.itemErrors = {}
      this.error = null
      this.restoredFor = null
    },
    /** keeps the selection for the next reload */
    rememberSelection() {
      const projectId = this.projectId
      if (!projectId || this.restoredFor !== projectId) return
      const sel: Selection = { datasetId: this.selectedDatasetId, modelId: this.selectedModelId, runId: this.selectedRunId }
      try {
        localStorage.setItem(SELECTION_KEY + projectId, JSON.stringify(sel))
      } catch {
        // storage full or disabled: only the restore after a reload is lost
      }
    },
    /** picks a model and, for its initial states, the dataset it was trained on — else one of its atoms (same d) */
    selectModel(id: string) {
      this.selectedModelId = id
      const m = this.models.find((x) => x.id === id)
      const ds = m?.card.data.datasetId
      if (ds && this.datasets.some((d) => d.id === ds)) this.selectedDatasetId = ds
      else if (m && this.selectedDataset?.dim !== m.card.dim) {
        const match = [...this.datasets].reverse().find((d) => d.dim === m.card.dim)
        if (match) this.selectedDatasetId = match.id
      }
    },
    async rename(kind: ItemKind, id: string, name: string) {
      const projectId = this.projectId
      if (!projectId || !name.trim()) return
      const key = `${kind}:${id}`
      try {
        if (kind === 'dataset') await api().call('dataset.rename', { projectId, datasetId: id, name })
        else if (kind === 'model') await api().call('model.rename', { projectId, modelId: id, name })
        else await api().call('run.rename', { projectId, runId: id, name })
        delete this.itemErrors[key]
        await this.refresh()
      } catch (err) {
        this.itemErrors[key] = errorText(err)
      }
    },
    async remove(kind: ItemKind, id: string) {
      const projectId = this.projectId
      if (!projectId) return
      const key = `${kind}:${id}`
      try {
        if (kind === 'dataset') await api().call('dataset.delete', { projectId, datasetId: id })
        else if (kind === 'model') await api().call('model.delete', { projectId, modelId: id })
        else await api().call('run.delete', { projectId, runId: id })
        delete this.itemErrors[key]
        await this.refresh()
      } catch (err) {
        this.itemErrors[key] = errorText(err)
      }
    },
  },
})
