/**
 * A pool of worker threads that make sampler runs of one model file side by side, each worker with
 * its own onnxruntime session (run-worker.ts). Used by the self-check to spread its runs over every
 * core (docs/self-check.md "Cores"); a run's frames are the same in any worker as in-process, since
 * noise is addressed by (seed, replica, step) and each run is made whole by one session.
 */
import { Worker } from 'node:worker_threads'
import { UserError } from '../../core/errors'
import type { ModelCard } from '../../core/nn/card'
import type { SamplerParams } from '../../core/sampler/params'
import type { RunResult } from '../../core/sampler/runner'
import type { RunExecutor } from '../../core/selfcheck/self-check'
import { findBundledWorker } from './worker-path'

export function findRunWorker(): string | undefined {
  return findBundledWorker('run-worker.mjs', 'DIFFMD_RUN_WORKER')
}

type RunOut = Pick<RunResult, 'trajectory' | 'stopped' | 'acceptance'>

interface Slot {
  worker: Worker
  ready: Promise<void>
  busy: boolean
  /** resolves when the worker has released its session (after a close message) */
  closed: Promise<void>
}

export class RunPool implements RunExecutor {
  readonly concurrency: number
  private readonly slots: Slot[]
  private readonly waiting: (() => void)[] = []
  private readonly pending = new Map<number, { resolve(r: RunOut): void; reject(e: Error): void; onProgress?(done: number, total: number): void }>()
  private nextId = 1

  constructor(workerFile: string, modelFile: string, card: ModelCard | undefined, size: number) {
    this.concurrency = size
    this.slots = Array.from({ length: size }, () => {
      const worker = new Worker(workerFile)
      let readyResolve!: () => void
      let readyReject!: (e: Error) => void
      let closedResolve!: () => void
      const closed = new Promise<void>((res) => {
        closedResolve = res
      })
      const ready = new Promise<void>((res, rej) => {
        readyResolve = res
        readyReject = rej
      })
      worker.on('message', (m: { type: string; id?: number; done?: number; total?: number; result?: RunOut; message?: string; user?: boolean; code?: string; stack?: string }) => {
        if (m.type === 'ready') readyResolve()
        else if (m.type === 'closed') closedResolve()
        else if (m.type === 'progress') this.pending.get(m.id!)?.onProgress?.(m.done!, m.total!)
        else if (m.type === 'done') {
          const p = this.pending.get(m.id!)
          this.pending.delete(m.id!)
          p?.resolve(m.result!)
        } else if (m.type === 'error') {
          const err = m.user ? new UserError(m.message ?? 'run failed', m.code ?? 'user') : Object.assign(new Error(m.message ?? 'run worker failed'), { stack: m.stack })
          if (m.id === undefined) readyReject(err)
          else {
            const p = this.pending.get(m.id)
            this.pending.delete(m.id)
            p?.reject(err)
          }
        }
      })
      worker.on('exit', () => closedResolve())
      worker.on('error', (err) => {
        closedResolve()
        readyReject(err)
        for (const [id, p] of this.pending) {
          this.pending.delete(id)
          p.reject(err)
        }
      })
      worker.postMessage({ type: 'open', file: modelFile, card })
      // an unhandled rejection of `ready` must not surface when nobody waits for it
      ready.catch(() => undefined)
      return { worker, ready, busy: false, closed }
    })
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy)
      if (free) {
        free.busy = true
        return free
      }
      await new Promise<void>((res) => this.waiting.push(res))
    }
  }

  private release(slot: Slot): void {
    slot.busy = false
    this.waiting.shift()?.()
  }

  async run(params: SamplerParams, init: Float32Array, replicaBase: number, hooks: { signal?: AbortSignal; onProgress?(done: number, total: number): void } = {}): Promise<RunOut> {
    const slot = await this.acquire()
    try {
      await slot.ready
      const id = this.nextId++
      const onAbort = (): void => slot.worker.postMessage({ type: 'abort', id })
      hooks.signal?.addEventListener('abort', onAbort)
      try {
        return await new Promise<RunOut>((resolve, reject) => {
          this.pending.set(id, { resolve, reject, onProgress: hooks.onProgress })
          slot.worker.postMessage({ type: 'run', id, params, init, replicaBase })
          if (hooks.signal?.aborted) onAbort()
        })
      } finally {
        hooks.signal?.removeEventListener('abort', onAbort)
      }
    } finally {
      this.release(slot)
    }
  }

  /** releases every worker's session (aborting runs still going), then ends the threads */
  async close(): Promise<void> {
    for (const [id] of this.pending) for (const s of this.slots) s.worker.postMessage({ type: 'abort', id })
    await Promise.all(
      this.slots.map(async (s) => {
        s.worker.postMessage({ type: 'close' })
        // a worker busy in a long call answers when it returns; do not wait forever
        await Promise.race([s.closed, new Promise<void>((res) => setTimeout(res, 5000).unref())])
        await s.worker.terminate()
      })
    )
  }
}
