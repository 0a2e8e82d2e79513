/**
 * The self-check of the selected model (docs/self-check.md): settings (Δt list, ns per replica,
 * replicas, D, and the i.i.d. draw), an estimate of how long it takes, the job (model.selfCheck in the
 * services, `model.selfCheck.progress` / `model.selfCheck.done` events, model.cancel), and what to
 * show: the running or finished job's report, else the last stored report (model.selfCheckReport),
 * else the summary in the model's card. The verdict's recommended Δt becomes the Sample panel's
 * default (src/api/selfcheck.ts framingForStep; the Sample panel applies it).
 */
import { defineStore } from 'pinia'
import type { SelfCheckJob, SelfCheckProgress, SelfCheckSettings, SelfCheckSummary } from '../../../api/selfcheck'
import { SelfCheckSummary as SummarySchema } from '../../../api/selfcheck'
import { SELF_CHECK_DEFAULTS, type SelfCheckReport } from '../../../core/selfcheck/self-check'
import { DEFAULT_RESOLUTION, estimateSeconds, selfCheckPlan, stageSeconds, type PlanInput } from '../../../core/selfcheck/plan'
import { DEFAULT_DENOISE_STEPS } from '../../../core/sampler/params'
import { errorText } from '../api/codec'
import { api, useAppStore } from './app'
import { useProjectStore } from './project'

const SETTINGS_KEY = 'diffmd-selfcheck-settings'
/** measured / estimated wall time of the last check on this machine (refines the estimate) */
const SPEED_KEY = 'diffmd-selfcheck-speed'
/** only checks whose sampling took this long (s) time the machine */
const MIN_CALIBRATION_S = 20
/** opening the model, reading the snapshots, starting the worker (s): added to the estimate */
const FIXED_S = 4

/** the plan (src/core/selfcheck/plan.ts) of a check with these resolved settings */
function planOf(s: SelfCheckSettings): PlanInput {
  return { dtPs: s.dtPs!, nsPerReplica: s.nsPerReplica!, replicas: s.replicas!, maxReplicas: s.maxReplicas, mode: s.mode!, denoiseSteps: s.denoiseSteps!, iidSamples: s.iidSamples!, iidSteps: s.iidSteps!, resolution: s.resolution ?? DEFAULT_RESOLUTION }
}

export interface SelfCheckForm {
  /** comma-separated Δt list (ps) as typed */
  dtText: string
  nsPerReplica: number
  replicas: number
  /** the most replicas the check's rounds may reach */
  maxReplicas: number
  /** Å²/ps */
  diffusion: number
  iidSamples: number
  iidSteps: number
  denoiseSteps: number
  mode: 'bridge' | 'bridge-mh'
  seed: number
}

/** `diffmd check`'s defaults (src/core/selfcheck SELF_CHECK_DEFAULTS), D of the ala2 example's BD reference */
export const DEFAULT_FORM: SelfCheckForm = {
  dtText: '0.5, 1, 2, 5',
  nsPerReplica: 5,
  replicas: 16,
  maxReplicas: SELF_CHECK_DEFAULTS.maxReplicas,
  diffusion: 0.0498868,
  iidSamples: SELF_CHECK_DEFAULTS.iidSamples,
  iidSteps: 200,
  denoiseSteps: DEFAULT_DENOISE_STEPS,
  mode: 'bridge',
  seed: 1,
}

function loadForm(): SelfCheckForm {
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null') as Partial<SelfCheckForm> | null
    if (saved && typeof saved === 'object') {
      // settings saved before rounds existed: allow as many as the default, never fewer than the replicas
      const maxReplicas = saved.maxReplicas ?? Math.max(DEFAULT_FORM.maxReplicas, typeof saved.replicas === 'number' ? saved.replicas : 0)
      return { ...DEFAULT_FORM, ...saved, maxReplicas }
    }
  } catch {
    // a damaged entry: defaults
  }
  return { ...DEFAULT_FORM }
}

function loadSpeed(): number {
  const v = Number(localStorage.getItem(SPEED_KEY))
  return Number.isFinite(v) && v > 0.05 && v < 50 ? v : 1
}

/** the Δt list, or the one-line reason it is not one */
export function parseDtList(text: string): { dts: number[] } | { error: string } {
  const parts = text.split(/[,\s;]+/).filter((s) => s.length > 0)
  if (parts.length === 0) return { error: 'give at least one Δt (ps), e.g. 0.5, 1, 2, 5' }
  if (parts.length > 8) return { error: 'at most 8 time steps' }
  const dts = parts.map(Number)
  const bad = parts.find((p, i) => !(Number.isFinite(dts[i]) && dts[i]! > 0))
  if (bad !== undefined) return { error: `'${bad}' is not a positive time step in ps` }
  // every Δt and Δt/2 must be a whole number of fs (the runs share one frame spacing)
  const odd = dts.find((t) => Math.abs(Math.round(t * 500) - t * 500) > 1e-6)
  if (odd !== undefined) return { error: `${odd} ps: Δt/2 must be a whole number of fs (use steps like 0.5, 1, 2, 5)` }
  return { dts: [...new Set(dts)].sort((a, b) => a - b) }
}

/** what the panel shows for the selected model */
export interface SelfCheckView {
  summary: SelfCheckSummary
  report: SelfCheckReport | null
  dataLabel: string
  /** from a job of this session (else from the card / the stored report) */
  fresh: boolean
}

export const useSelfCheckStore = defineStore('selfcheck', {
  state: () => ({
    form: loadForm(),
    /** '' = the model's own training data (the services find it) */
    datasetId: '',
    job: null as SelfCheckJob | null,
    /** the last stored report of the selected model (model.selfCheckReport) */
    stored: null as { modelId: string; summary: SelfCheckSummary; report: SelfCheckReport | null; dataLabel: string } | null,
    starting: false,
    error: null as string | null,
    listening: false,
    speed: loadSpeed(),
  }),
  getters: {
    running: (s) => s.starting || s.job?.state === 'running',
    dtParse: (s) => parseDtList(s.form.dtText),
    settings(): SelfCheckSettings | null {
      const p = this.dtParse
      if ('error' in p) return null
      const f = this.form
      return { dtPs: p.dts, nsPerReplica: f.nsPerReplica, replicas: f.replicas, maxReplicas: f.maxReplicas, diffusion: f.diffusion, iidSamples: f.iidSamples, iidSteps: f.iidSteps, denoiseSteps: f.denoiseSteps, mode: f.mode, seed: f.seed }
    },
    /** one line per field that blocks a run */
    fieldErrors(): Partial<Record<keyof SelfCheckForm, string>> {
      const f = this.form
      const e: Partial<Record<keyof SelfCheckForm, string>> = {}
      const p = this.dtParse
      if ('error' in p) e.dtText = p.error
      if (!(f.nsPerReplica > 0)) e.nsPerReplica = 'a positive number of ns'
      if (!(Number.isInteger(f.replicas) && f.replicas >= 4)) e.replicas = 'a whole number ≥ 4 (error bars come from the replicas)'
      if (!(Number.isInteger(f.maxReplicas) && f.maxReplicas >= f.replicas)) e.maxReplicas = 'a whole number ≥ the replicas'
      if (!(f.diffusion > 0)) e.diffusion = 'a positive D in Å²/ps'
      if (!(Number.isInteger(f.iidSamples) && f.iidSamples >= 100)) e.iidSamples = 'a whole number ≥ 100'
      if (!(Number.isInteger(f.iidSteps) && f.iidSteps >= 2)) e.iidSteps = 'a whole number ≥ 2'
      if (!(Number.isInteger(f.denoiseSteps) && f.denoiseSteps >= 1)) e.denoiseSteps = 'a whole number ≥ 1'
      if (!(Number.isInteger(f.seed) && f.seed >= 0)) e.seed = 'a whole number ≥ 0'
      return e
    },
    /**
     * estimated wall seconds (the cost model, scaled by how the last check on this machine went):
     * when the first round decides, and at most (every round); calls of the first round
     */
    estimate(): { seconds: number; upTo: number; calls: number } | null {
      const s = this.settings
      if (!s || Object.keys(this.fieldErrors).length) return null
      const plan = planOf(s)
      return {
        seconds: FIXED_S + estimateSeconds(plan, undefined, 1) * this.speed,
        upTo: FIXED_S + estimateSeconds(plan) * this.speed,
        calls: selfCheckPlan(plan).reduce((a, st) => a + (st.round === 1 ? st.calls : 0), 0),
      }
    },
    /** why Run is disabled, one line, or null */
    blocker(): string | null {
      const project = useProjectStore()
      if (!project.selectedModel) return 'pick a model in the sidebar'
      if (Object.keys(this.fieldErrors).length) return 'fix the settings marked in red'
      return null
    },
    view(): SelfCheckView | null {
      const model = useProjectStore().selectedModel
      if (!model) return null
      const j = this.job
      if (j && j.modelId === model.id && j.state === 'done' && j.summary) return { summary: j.summary, report: j.report as SelfCheckReport | null, dataLabel: j.dataLabel, fresh: true }
      const parsed = SummarySchema.safeParse((model.card as Record<string, unknown>).selfCheck)
      if (!parsed.success) return null
      const st = this.stored
      const report = st && st.modelId === model.id && st.summary.createdAt === parsed.data.createdAt ? st.report : null
      return { summary: parsed.data, report, dataLabel: st?.modelId === model.id ? st.dataLabel : '', fresh: false }
    },
  },
  actions: {
    saveForm() {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.form))
    },
    resetForm() {
      this.form = { ...DEFAULT_FORM }
      this.saveForm()
    },
    listen() {
      if (this.listening) return
      this.listening = true
      api().subscribe((e) => {
        if (e.topic === 'model.selfCheck.progress') {
          const p = e.payload as SelfCheckProgress
          if (!this.job || this.job.jobId !== p.jobId || this.job.state !== 'running') return
          this.job = { ...this.job, stage: p.stage, fraction: p.fraction, elapsedSeconds: p.elapsedSeconds, etaSeconds: p.etaSeconds }
        } else if (e.topic === 'model.selfCheck.done') {
          const p = e.payload as { jobId: string }
          if (this.job?.jobId === p.jobId) void this.sync(p.jobId)
        }
      })
    },
    /** the job as the services know it (its report arrives here) */
    async sync(jobId: string) {
      try {
        const jobs = await api().call('model.selfCheckJobs', {})
        const j = jobs.find((x) => x.jobId === jobId)
        if (!j || this.job?.jobId !== jobId) return
        const was = this.job.state
        this.job = j
        if (was === 'running' && j.state !== 'running') await this.finished(j)
      } catch {
        // keep what the events gave
      }
    },
    async finished(j: SelfCheckJob) {
      if (j.error) this.error = j.error
      if (j.state === 'done' && j.settings.dtPs) {
        // how long it took against the estimate: the next estimate on this machine follows it
        const s = j.settings
        const rounds = (j.report as { rounds?: unknown } | null)?.rounds
        const plan = planOf(s)
        let est = estimateSeconds(plan, undefined, typeof rounds === 'number' ? rounds : 1)
        // the integrator-resolution run, when one was made: its own Δt and replicas
        const res = (j.report as { resolution?: { dtPs?: unknown; replicas?: unknown } } | null)?.resolution
        if (res && typeof res.dtPs === 'number' && typeof res.replicas === 'number') {
          const st = selfCheckPlan({ ...plan, dtPs: [res.dtPs], replicas: res.replicas, maxReplicas: res.replicas }).find((x) => x.key === 'resolution')
          if (st) est += stageSeconds(st)
        }
        // the sampling time (the report's, without opening the model and reading the snapshots);
        // a check of a few seconds is mostly fixed costs and says little about the speed
        const wall = (j.report as { wallSeconds?: unknown } | null)?.wallSeconds
        if (est > 0 && typeof wall === 'number' && wall >= MIN_CALIBRATION_S) {
          this.speed = Math.min(50, Math.max(0.05, wall / est))
          localStorage.setItem(SPEED_KEY, String(this.speed))
        }
      }
      // the card now holds the summary: the model list shows it (and the Sample panel's default follows)
      await useProjectStore().refresh()
    },
    /** re-attach to a check that runs in the services (after a reload); load the selected model's stored report */
    async attach() {
      this.listen()
      const projectId = useAppStore().currentProjectId
      if (!projectId) return
      try {
        const jobs = await api().call('model.selfCheckJobs', { projectId })
        const running = jobs.find((j) => j.state === 'running')
        if (running) this.job = running
      } catch {
        // nothing to attach to
      }
    },
    async loadStored(modelId: string | null) {
      const projectId = useAppStore().currentProjectId
      if (!projectId || !modelId) return
      if (this.stored?.modelId === modelId) return
      try {
        const r = await api().call('model.selfCheckReport', { projectId, modelId })
        if (r && useProjectStore().selectedModelId === modelId) this.stored = { modelId, summary: r.summary, report: r.report as SelfCheckReport, dataLabel: r.dataLabel }
      } catch {
        // the card's summary still shows
      }
    },
    async start() {
      const projectId = useAppStore().currentProjectId
      const model = useProjectStore().selectedModel
      const settings = this.settings
      if (!projectId || !model || !settings || this.running || this.blocker) return
      this.listen()
      this.saveForm()
      this.error = null
      this.starting = true
      try {
        this.job = await api().call('model.selfCheck', { projectId, modelId: model.id, settings, ...(this.datasetId ? { datasetId: this.datasetId } : {}) })
        this.stored = null
        // a very short check may have finished before this reply
        void this.sync(this.job.jobId)
      } catch (err) {
        this.error = errorText(err)
      } finally {
        this.starting = false
      }
    },
    async cancel() {
      if (!this.job || this.job.state !== 'running') return
      try {
        await api().call('model.cancel', { jobId: this.job.jobId })
      } catch (err) {
        this.error = errorText(err)
      }
    },
  },
})
