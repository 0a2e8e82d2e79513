/**
 * Training a score model on a dataset: model.train starts a job in the services; progress arrives as
 * `model.train.progress` events (step, loss, val-loss, samples/s, ETA) and `model.train.done` at the
 * end. A page reload re-attaches to a running job through model.jobs.
 */
import { defineStore } from 'pinia'
import type { TrainJob, TrainPreset, TrainProgress } from '../../../api/models'
import { errorText } from '../api/codec'
import { api, useAppStore } from './app'
import { useProjectStore } from './project'

export interface PresetInfo {
  label: string
  width: number
  depth: number
  steps: number
  note: string
}

/** what the presets mean (the services own the numbers; these are shown next to the choice) */
export const PRESETS: Record<TrainPreset, PresetInfo> = {
  tiny: { label: 'Tiny', width: 64, depth: 2, steps: 300, note: 'seconds; a smoke test, not a useful model' },
  small: { label: 'Small', width: 128, depth: 3, steps: 3000, note: 'a minute or two; rough dynamics' },
  // steps: DEFAULT_STEPS of core/nn/trainer.ts (not imported: the trainer stays out of the renderer bundle)
  default: { label: 'Default', width: 256, depth: 3, steps: 40000, note: '256×3, the size of the shipped ala2 model (energy-MLP with the consistency term, EMA; docs/training.md)' },
}

export const useTrainingStore = defineStore('training', {
  state: () => ({
    preset: 'tiny' as TrainPreset,
    steps: PRESETS.tiny.steps,
    seed: 1,
    name: '',
    /** the recipe; these defaults are `diffmd train`'s (docs/training.md) */
    arch: 'energy-mlp' as 'energy-mlp' | 'score-mlp',
    /** weight of the heat-equation consistency term (energy models; 0 = off) */
    consistency: 0.1,
    /** decay of the exported weight EMA (0 = off) */
    ema: 0.999,
    /** ensemble members, seeds S … S+K−1, averaged into one model (docs/training.md "Ensembles"; 1 = a single model) */
    members: 1,
    job: null as TrainJob | null,
    starting: false,
    error: null as string | null,
    listening: false,
  }),
  getters: {
    running: (s) => s.starting || s.job?.state === 'running',
    fraction: (s) => (s.job?.last ? s.job.last.step / Math.max(1, s.job.last.steps) : 0),
  },
  actions: {
    setPreset(p: TrainPreset) {
      this.preset = p
      this.steps = PRESETS[p].steps
    },
    listen() {
      if (this.listening) return
      this.listening = true
      api().subscribe((e) => {
        if (e.topic === 'model.train.progress') {
          const p = e.payload as TrainProgress
          if (!this.job || this.job.jobId !== p.jobId) return
          this.job.last = p
          const last = this.job.points.at(-1)
          const point = { step: p.step, loss: p.loss, ...(p.valLoss !== null ? { valLoss: p.valLoss } : {}) }
          // a new array each time: the plot redraws when its points change identity
          if (!last || last.step < p.step) this.job.points = [...this.job.points, point]
          else if (last.step === p.step) this.job.points = [...this.job.points.slice(0, -1), { ...last, ...point }]
        } else if (e.topic === 'model.train.done') {
          const p = e.payload as { jobId: string; state: TrainJob['state']; modelId: string | null; error: string | null }
          if (!this.job || this.job.jobId !== p.jobId) return
          this.job.state = p.state
          this.job.modelId = p.modelId
          this.job.error = p.error
          if (p.error) this.error = p.error
          void this.landed(p.modelId)
          void this.sync(p.jobId)
        }
      })
    },
    /** the job as the services know it (all its points: events before the job id was known are not lost) */
    async sync(jobId: string) {
      try {
        const jobs = await api().call('model.jobs', {})
        const j = jobs.find((x) => x.jobId === jobId)
        if (j && this.job?.jobId === jobId) {
          const wasRunning = this.job.state === 'running'
          this.job = j
          if (wasRunning && j.state !== 'running') {
            if (j.error) this.error = j.error
            void this.landed(j.modelId)
          }
        }
      } catch {
        // keep what the events gave
      }
    },
    async landed(modelId: string | null) {
      const project = useProjectStore()
      await project.refresh()
      if (modelId) project.selectModel(modelId)
    },
    /** re-attach to a job that runs in the services (after a reload) */
    async attach() {
      this.listen()
      const projectId = useAppStore().currentProjectId
      if (!projectId) return
      try {
        const jobs = await api().call('model.jobs', { projectId })
        const running = jobs.find((j) => j.state === 'running')
        if (running) this.job = running
      } catch {
        // no jobs to attach to
      }
    },
    async start(datasetId: string) {
      const projectId = useAppStore().currentProjectId
      if (!projectId || this.running) return
      this.listen()
      this.error = null
      this.starting = true
      try {
        this.job = await api().call('model.train', {
          projectId,
          datasetId,
          preset: this.preset,
          steps: this.steps,
          seed: this.seed,
          arch: this.arch,
          ...(this.arch === 'energy-mlp' ? { consistency: this.consistency } : {}),
          ema: this.ema,
          ...(this.members > 1 ? { members: this.members } : {}),
          ...(this.name.trim() ? { name: this.name.trim() } : {}),
        })
        // the job may have finished before this reply arrived (very short runs)
        if (this.job.state !== 'running') void this.landed(this.job.modelId)
        void this.sync(this.job.jobId)
      } catch (err) {
        this.error = errorText(err)
      } finally {
        this.starting = false
      }
    },
    async cancel() {
      if (!this.job) return
      try {
        await api().call('model.cancel', { jobId: this.job.jobId })
      } catch (err) {
        this.error = errorText(err)
      }
    },
  },
})
