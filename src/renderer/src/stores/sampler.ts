/**
 * The sampler panel's settings and the trajectory on screen.
 *
 * Settings: what the user types (T, D, Δt per frame, adapter steps, mode, M, σ_min, replicas,
 * frames, seed, backend), checked field by field (api/run-params) against the selected model's card.
 *
 * A run: run.create (the service stores run.json and picks the initial states), the model's bytes
 * (model.bytes), then the sampler Web Worker (WebGPU or WASM). Frames stream into one buffer the
 * viewer and plots read, and are persisted in order with run.appendFrames in batches — idempotent by
 * frame index, so a retried batch never duplicates and a closed window loses no finished frame.
 *
 * "The open run" has one source of truth: the project store's selectedRunId (the sidebar's highlight).
 * The trajectory on screen (`traj`) always follows it: the live run's buffer when the live run is the
 * one selected, else the stored run read with run.get. The live run keeps sampling and saving into
 * its own buffer (`liveTraj`) while another run is on screen.
 */
import { defineStore } from 'pinia'
import { markRaw } from 'vue'
import { checkRunParams, deriveParams, DEFAULT_RUN_PARAMS, picardOf, type ModelLimits, type RunParams } from '../../../api/run-params'
import type { RunSummary } from '../../../api/runs'
import { base64ToArrayBuffer, base64ToFloat32, errorText, float32ToBase64 } from '../api/codec'
import { api, useAppStore } from './app'
import { useProjectStore } from './project'
import { loadSampler, type SamplingResult } from './sampler-engine'
import { uniqueRunName } from './run-format'
import { framingForStep, recommendedDtOf, timeCalibrationOf } from '../../../api/selfcheck'
import type { TimeCalibration } from '../../../core/selfcheck/time-calibration'

export interface Trajectory {
  run: RunSummary
  topologyPdb: string
  replicas: number
  dim: number
  /** frames the buffer is sized for */
  capacity: number
  /** time-major [capacity, R·d]; frames [0, received) are valid */
  rows: Float32Array
  received: number
  /** bumped on every change, so watchers can follow a buffer mutated in place */
  version: number
}

export type LiveState = 'idle' | 'starting' | 'running' | 'stopping' | 'finished' | 'stopped' | 'failed'

const PARAMS_KEY = 'diffmd-sampler-params'
const CALIBRATE_KEY = 'diffmd-sampler-calibrate-time'
/** persist after this many new frames or this many ms, whichever first */
const FLUSH_FRAMES = 64
const FLUSH_MS = 400
const MAX_RETRIES = 5

function loadParams(): RunParams {
  try {
    const saved = JSON.parse(localStorage.getItem(PARAMS_KEY) ?? 'null') as Partial<RunParams> | null
    // a time calibration belongs to a model's card, not to the remembered settings (runParams adds it)
    if (saved && typeof saved === 'object') {
      const { timeCalibration: _model, ...rest } = saved
      return { ...DEFAULT_RUN_PARAMS, ...rest }
    }
  } catch {
    // ignore a damaged entry
  }
  return { ...DEFAULT_RUN_PARAMS }
}

const modelBytes = new Map<string, { bytes: ArrayBuffer; card: Record<string, unknown> }>()
let controller: AbortController | null = null
let flushTimer: ReturnType<typeof setTimeout> | undefined
let flushing: Promise<void> | null = null
let flushOwner: object | null = null
/** the newest sampler checkpoint not yet sent: it goes with the batch that stores its frame */
let pendingCheckpoint: { runId: string; framesDone: number; json: string } | null = null
/** the buffer of the run being sampled (on screen or not) */
let liveTraj: Trajectory | null = null
/** write a checkpoint every this many frames (resume after a crash continues from it exactly) */
const CHECKPOINT_EVERY = 50

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export const useSamplerStore = defineStore('sampler', {
  state: () => ({
    params: loadParams(),
    /** calibrated time when the model's self-check allows it (docs/self-check.md "Calibrated time"); on unless switched off */
    calibrateTime: localStorage.getItem(CALIBRATE_KEY) !== 'off',
    traj: null as Trajectory | null,
    live: 'idle' as LiveState,
    liveRunId: null as string | null,
    /** frames persisted by the service for the live run */
    stored: 0,
    startedAt: 0,
    framesPerSecond: 0,
    backendUsed: null as 'webgpu' | 'wasm' | null,
    backendDetail: null as string | null,
    /** why that backend: the choice and, for auto, what decided it */
    backendReason: null as string | null,
    rejections: null as number[] | null,
    /** mode bridge-mh: accepted fraction of Metropolis-tested steps per replica (the run's result) */
    acceptance: null as number[] | null,
    /** adapter steps the rejections are out of (all replicas) */
    rejectionSteps: 0,
    /** frames made so far by the live run (the sidebar shows it while the run goes on) */
    liveReceived: 0,
    /** one line: why the run could not start or stopped */
    error: null as string | null,
    /** one line: persisting frames failed (the run keeps going; frames are retried) */
    persistError: null as string | null,
    loadingRun: false,
    /** reactive mirrors of the (raw, mutated in place) trajectory buffer */
    received: 0,
    trajVersion: 0,
  }),
  getters: {
    limits(): ModelLimits {
      const card = useProjectStore().selectedModel?.card
      if (!card) return {}
      const arch = card.architecture as { arch?: string; output?: string } | undefined
      const energy = arch ? arch.arch === 'energy-mlp' || (arch.arch === 'imported' && arch.output === 'energy') : undefined
      return { dim: card.dim, sigmaRange: card.sigmaRange, ...(card.temperature ? { temperature: card.temperature } : {}), ...(energy !== undefined ? { energy } : {}) }
    },
    /** the selected model's time calibration for these settings' mode, when its card's self-check has one */
    timeCalibration(): TimeCalibration | undefined {
      return timeCalibrationOf(useProjectStore().selectedModel?.card, this.params.mode)
    },
    /** the settings a new run records: the panel's, with the model's time calibration when it is on */
    runParams(): RunParams {
      const { timeCalibration: _none, ...p } = this.params
      return this.calibrateTime && this.timeCalibration ? { ...p, timeCalibration: this.timeCalibration } : p
    },
    check(): ReturnType<typeof checkRunParams> {
      return checkRunParams(this.runParams, this.limits)
    },
    derived(): ReturnType<typeof deriveParams> {
      return deriveParams(this.runParams)
    },
    busy: (s) => s.live === 'starting' || s.live === 'running' || s.live === 'stopping',
    /** why Run is disabled, one line, or null */
    blocker(): string | null {
      const project = useProjectStore()
      if (!project.selectedModel) return 'pick a model (train one or use the Examples project)'
      if (!project.selectedDataset) return 'pick a dataset: its frames are the initial states'
      if (project.selectedModel.card.dim !== project.selectedDataset.dim) {
        return `model ${project.selectedModel.name} has d = ${project.selectedModel.card.dim} but dataset ${project.selectedDataset.name} has d = ${project.selectedDataset.dim}: pick matching ones`
      }
      if (Object.keys(this.check.errors).length) return 'fix the settings marked in red'
      return null
    },
  },
  actions: {
    saveParams() {
      localStorage.setItem(PARAMS_KEY, JSON.stringify(this.params))
      localStorage.setItem(CALIBRATE_KEY, this.calibrateTime ? 'on' : 'off')
    },
    resetParams() {
      this.params = { ...DEFAULT_RUN_PARAMS }
      this.calibrateTime = true
      // a model with a self-check defaults to its recommended Δt per adapter step (docs/self-check.md)
      const rec = recommendedDtOf(useProjectStore().selectedModel?.card)
      if (rec !== undefined) Object.assign(this.params, framingForStep(this.params.dtPerFrame, rec))
      this.saveParams()
    },
    /**
     * The page is going away (window closed, reload) during a run: send the frames not yet saved in
     * one last fire-and-forget call. The run stays 'running' on disk and can be resumed.
     */
    flushOnUnload() {
      const t = liveTraj
      const projectId = useAppStore().currentProjectId
      if (!t || !projectId || !this.liveRunId || t.run.id !== this.liveRunId || this.stored >= t.received) return
      const slice = t.rows.subarray(this.stored * t.replicas * t.dim, t.received * t.replicas * t.dim)
      api().beacon('run.appendFrames', { projectId, runId: t.run.id, start: this.stored, framesBase64: float32ToBase64(slice) })
    },
    setTraj(t: Trajectory | null) {
      this.traj = t ? (markRaw(t) as Trajectory) : null
      this.received = t?.received ?? 0
      this.trajVersion++
    },
    /** the viewer's frame getter */
    frame(replica: number, index: number): Float32Array | undefined {
      const t = this.traj
      if (!t || index < 0 || index >= t.received || replica < 0 || replica >= t.replicas) return undefined
      const o = (index * t.replicas + replica) * t.dim
      return t.rows.subarray(o, o + t.dim)
    },

    /** puts the selected run on screen: the live buffer when it is the live run, else its stored frames */
    async openRun(runId: string) {
      const projectId = useAppStore().currentProjectId
      if (!projectId) return
      if (this.traj?.run.id === runId) return
      if (liveTraj && liveTraj.run.id === runId) {
        this.setTraj(liveTraj)
        return
      }
      // never show one run while another is highlighted: clear first, then load
      this.setTraj(null)
      this.loadingRun = true
      this.error = null
      try {
        const res = await api().call('run.get', { projectId, runId })
        // the user may have opened another run meanwhile: the newest choice wins
        if (useProjectStore().selectedRunId !== runId) return
        if (liveTraj && liveTraj.run.id === runId) {
          this.setTraj(liveTraj)
          return
        }
        const rows = base64ToFloat32(res.framesBase64)
        const run = res.run
        const capacity = Math.max(res.count, 1)
        const buf = new Float32Array(capacity * run.params.replicas * run.dim)
        buf.set(rows.subarray(0, buf.length))
        this.setTraj({ run, topologyPdb: res.topologyPdb, replicas: run.params.replicas, dim: run.dim, capacity, rows: buf, received: res.count, version: 1 })
      } catch (err) {
        if (useProjectStore().selectedRunId === runId) this.error = errorText(err)
      } finally {
        this.loadingRun = false
      }
    },

    async modelFor(projectId: string, modelId: string) {
      const key = `${projectId}/${modelId}`
      let m = modelBytes.get(key)
      if (!m) {
        const res = await api().call('model.bytes', { projectId, modelId })
        m = { bytes: base64ToArrayBuffer(res.base64), card: res.card as Record<string, unknown> }
        modelBytes.set(key, m)
      }
      // each worker gets its own copy (ArrayBuffers may be transferred)
      return { bytes: m.bytes.slice(0), card: m.card }
    },

    /** creates a run and samples it */
    async start() {
      if (this.busy || this.blocker) return
      const projectId = useAppStore().currentProjectId
      const project = useProjectStore()
      const model = project.selectedModel
      const dataset = project.selectedDataset
      if (!projectId || !model || !dataset) return
      this.saveParams()
      this.error = null
      this.persistError = null
      this.live = 'starting'
      this.stored = 0
      this.liveReceived = 0
      this.framesPerSecond = 0
      this.backendUsed = null
      this.backendDetail = null
      this.backendReason = null
      this.rejections = null
      this.acceptance = null
      this.rejectionSteps = 0
      let runId: string | null = null
      try {
        const name = uniqueRunName(this.params, project.runs.map((r) => r.name))
        const created = await api().call('run.create', { projectId, modelId: model.id, datasetId: dataset.id, name, params: { ...this.runParams } })
        runId = created.run.id
        this.liveRunId = runId
        project.selectedRunId = runId
        void project.refresh()
        await this.sample(projectId, created.run, created.topologyPdb, base64ToFloat32(created.initBase64), null, created.run.params.backend, created.mhFramesBase64 ? base64ToFloat32(created.mhFramesBase64) : undefined)
      } catch (err) {
        await this.fail(projectId, runId, err)
      }
    },

    /**
     * continues a run that stopped early (crash, closed window, stop) from its last stored frame, on
     * the backend chosen in the panel now (the user may have switched from a slow one)
     */
    async resume(runId: string) {
      if (this.busy) return
      const projectId = useAppStore().currentProjectId
      if (!projectId) return
      this.error = null
      this.persistError = null
      this.live = 'starting'
      this.liveRunId = runId
      this.liveReceived = useProjectStore().runs.find((r) => r.id === runId)?.framesStored ?? 0
      this.backendUsed = null
      this.backendDetail = null
      this.backendReason = null
      this.rejections = null
      this.acceptance = null
      this.rejectionSteps = 0
      try {
        const res = await api().call('run.resume', { projectId, runId })
        useProjectStore().selectedRunId = runId
        // the sidebar shows the run as running again at once
        void useProjectStore().refresh()
        await this.sample(projectId, res.run, res.topologyPdb, base64ToFloat32(res.initBase64), res.checkpoint, this.params.backend, res.mhFramesBase64 ? base64ToFloat32(res.mhFramesBase64) : undefined)
      } catch (err) {
        await this.fail(projectId, runId, err)
      }
    },

    /** mhFrames: the frames of a bridge-mh run's covariance down kernel (run.create / run.resume give them) */
    async sample(projectId: string, run: RunSummary, topologyPdb: string, init: Float32Array, checkpoint: string | null, backend: RunSummary['params']['backend'] = run.params.backend, mhFrames?: Float32Array) {
      const R = run.params.replicas
      const d = run.dim
      const F = run.params.frames
      const parallel = picardOf(run.params)
      const rows = new Float32Array(F * R * d)
      // frames already stored (a resumed run) are shown at once
      let have = 0
      if (run.framesStored > 0) {
        const prev = await api().call('run.get', { projectId, runId: run.id })
        const prevRows = base64ToFloat32(prev.framesBase64)
        rows.set(prevRows.subarray(0, Math.min(prevRows.length, rows.length)))
        have = prev.count
      }
      const live: Trajectory = { run, topologyPdb, replicas: R, dim: d, capacity: F, rows, received: have, version: 1 }
      liveTraj = live
      this.liveReceived = have
      if (useProjectStore().selectedRunId === run.id) this.setTraj(live)
      this.stored = have
      const { bytes, card } = await this.modelFor(projectId, run.modelId)
      const startSampling = await loadSampler()
      controller = new AbortController()
      const signal = controller.signal
      this.live = 'running'
      this.startedAt = performance.now()
      const firstNew = have
      const onFrames = (start: number, frames: Float32Array): void => {
        const t = live
        if (liveTraj !== t) return
        const n = Math.floor(frames.length / (R * d))
        const end = Math.min(start + n, F)
        if (end <= start) return
        rows.set(frames.subarray(0, (end - start) * R * d), start * R * d)
        t.received = Math.max(t.received, end)
        t.version++
        this.liveReceived = t.received
        if (this.traj === t) {
          this.received = t.received
          this.trajVersion++
        }
        const secs = (performance.now() - this.startedAt) / 1000
        if (secs > 0) this.framesPerSecond = (t.received - firstNew) / secs
        this.scheduleFlush(projectId, run.id)
      }
      // frame 0 is the initial state; the service stored it as init.f32 and it is a frame of the run
      if (have === 0 && !checkpoint) onFrames(0, init)
      pendingCheckpoint = null
      let result: SamplingResult | null = null
      try {
        result = await startSampling(
          {
            modelUrl: bytes,
            card,
            init,
            params: {
              mode: run.params.mode,
              eta: run.derived.eta,
              innerSteps: run.params.innerSteps,
              denoiseSteps: run.params.denoiseSteps,
              sigmaMin: run.params.sigmaMin,
              replicas: R,
              frames: F,
              seed: run.params.seed,
              ...(parallel ? { parallel } : {}),
              ...(run.params.noise ? { noise: run.params.noise } : {}),
              ...(run.params.mhKernel ? { mhKernel: run.params.mhKernel } : {}),
            },
            backend,
            ...(mhFrames ? { mhFrames } : {}),
            ...(checkpoint ? { resumeFrom: JSON.parse(checkpoint) as unknown } : {}),
          },
          onFrames,
          signal,
          {
            checkpointEvery: CHECKPOINT_EVERY,
            onCheckpoint: (json) => {
              const framesDone = (JSON.parse(json) as { framesDone?: number }).framesDone
              if (typeof framesDone === 'number') pendingCheckpoint = { runId: run.id, framesDone, json }
            },
            onBackend: (used, detail) => {
              this.backendUsed = used
              this.backendDetail = detail
              void api().call('run.setBackend', { projectId, runId: run.id, backendUsed: used }).catch(() => undefined)
            },
            onBackendChoice: (choice) => {
              this.backendReason = choice.reason
            },
          }
        )
      } catch (err) {
        if (!signal.aborted) throw err
      }
      controller = null
      await this.flushAll(projectId, run.id)
      const aborted = signal.aborted
      if (result) {
        this.backendUsed = result.backend
        this.rejections = result.rejections
        this.acceptance = result.acceptance ?? null
        // adapter steps made in this session (frame 0 of a fresh run is the initial state), all replicas
        this.rejectionSteps = Math.max(0, live.received - Math.max(have, 1)) * run.params.innerSteps * R
        if (result.framesPerSecond > 0) this.framesPerSecond = result.framesPerSecond
      }
      const complete = live.received >= F
      const unstable = result?.unstable
      if (unstable) this.error = `the run became unstable and stopped: ${unstable}`
      const status = complete ? 'finished' : aborted || result?.stopped || unstable ? 'stopped' : 'finished'
      await api().call('run.finish', {
        projectId,
        runId: run.id,
        status,
        ...(this.backendUsed ? { backendUsed: this.backendUsed } : {}),
        framesPerSecond: this.framesPerSecond,
        ...(this.rejections ? { rejections: this.rejections } : {}),
        ...(this.acceptance ? { acceptance: this.acceptance } : {}),
        ...(unstable ? { error: unstable.slice(0, 2000) } : {}),
      })
      this.live = status
      await this.reloadMeta(projectId, run.id)
    },

    async reloadMeta(projectId: string, runId: string) {
      await useProjectStore().refresh()
      const fresh = useProjectStore().runs.find((r) => r.id === runId)
      if (fresh && liveTraj?.run.id === runId) liveTraj.run = fresh
      if (fresh && this.traj?.run.id === runId) {
        this.traj.run = fresh
        this.traj.version++
        this.trajVersion++
      }
    },

    async fail(projectId: string, runId: string | null, err: unknown) {
      controller?.abort()
      controller = null
      const message = errorText(err)
      this.error = message
      this.live = 'failed'
      if (runId) {
        try {
          await this.flushAll(projectId, runId)
          await api().call('run.finish', { projectId, runId, status: 'failed', error: message.slice(0, 2000) })
        } catch {
          // the run stays 'running' on disk and can be resumed
        }
        await this.reloadMeta(projectId, runId)
      }
    },

    stop() {
      if (this.live !== 'running' && this.live !== 'starting') return
      this.live = 'stopping'
      controller?.abort()
    },

    scheduleFlush(projectId: string, runId: string) {
      const t = liveTraj
      if (!t || t.run.id !== runId) return
      if (t.received - this.stored >= FLUSH_FRAMES) {
        void this.flush(projectId, runId)
        return
      }
      if (flushTimer === undefined) {
        flushTimer = setTimeout(() => {
          flushTimer = undefined
          void this.flush(projectId, runId)
        }, FLUSH_MS)
      }
    },

    /** sends frames [stored, received) (one request at a time; retried — appends are idempotent) */
    async flush(projectId: string, runId: string): Promise<void> {
      if (flushing) return flushing
      const owner = {}
      flushOwner = owner
      const job = (async () => {
        await null // settle only after `flushing = job` below
        try {
          let tries = 0
          while (liveTraj && liveTraj.run.id === runId && this.stored < liveTraj.received) {
            const t = liveTraj
            const start = this.stored
            // batches of at most ~8 MiB of float32 (the request limit is 64 MiB of base64)
            const perBatch = Math.max(1, Math.min(1024, Math.floor((8 * 1024 * 1024) / (t.replicas * t.dim * 4))))
            const end = Math.min(t.received, start + perBatch)
            const slice = t.rows.subarray(start * t.replicas * t.dim, end * t.replicas * t.dim)
            const cp = pendingCheckpoint && pendingCheckpoint.runId === runId && pendingCheckpoint.framesDone <= end ? pendingCheckpoint : null
            try {
              const res = await api().call('run.appendFrames', { projectId, runId, start, framesBase64: float32ToBase64(slice), ...(cp ? { checkpoint: cp.json } : {}) })
              if (cp && pendingCheckpoint === cp) pendingCheckpoint = null
              this.stored = res.framesStored
              this.persistError = null
              tries = 0
            } catch (err) {
              tries++
              this.persistError = `saving frames ${start}–${end - 1} failed (${errorText(err)}); retrying`
              if (tries >= MAX_RETRIES) {
                this.persistError = `saving frames failed: ${errorText(err)}; the frames on screen are not all on disk`
                return
              }
              await sleep(250 * 2 ** tries)
            }
          }
        } finally {
          if (flushOwner === owner) {
            flushing = null
            flushOwner = null
          }
        }
      })()
      flushing = job
      return job
    },

    async flushAll(projectId: string, runId: string) {
      if (flushTimer !== undefined) {
        clearTimeout(flushTimer)
        flushTimer = undefined
      }
      await flushing
      await this.flush(projectId, runId)
    },
  },
})
