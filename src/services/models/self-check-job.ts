/**
 * A cancellable self-check job (docs/self-check.md): runs selfCheckModelFile in a worker thread
 * (out/cli/self-check-worker.mjs, bundled next to the CLI and the training worker) so the caller's
 * event loop — the Electron main process or the browser-mode server — keeps answering while the
 * check runs for minutes; in-process on request (tests). Cancelling aborts the runs through the
 * core's AbortSignal; the card is written only when the check completes.
 */
import { Worker } from 'node:worker_threads'
import { UserError } from '../../core/errors'
import type { SelfCheckSummary } from '../../core/nn/card'
import type { SelfCheckReport } from '../../core/selfcheck/self-check'
import { selfCheckModelFile, type SelfCheckRequest } from './self-check'
import { findBundledWorker } from './worker-path'

export interface SelfCheckJobResult {
  report: SelfCheckReport
  summary: SelfCheckSummary
  cardFile?: string
}

export interface SelfCheckJobHooks {
  onProgress?(stage: string, done: number, total: number): void
}

export interface SelfCheckJobOptions {
  /** run on this thread instead of a worker (tests; hosts without the worker bundle) */
  inProcess?: boolean
  /** path of the bundled worker (default: found next to the running bundle, or $DIFFMD_SELFCHECK_WORKER) */
  workerPath?: string
}

export interface SelfCheckJobHandle {
  /** resolves with the result, or null when cancelled; rejects on errors (UserError for the user's) */
  readonly done: Promise<SelfCheckJobResult | null>
  cancel(): void
}

/** where the bundled worker lives relative to this code (CLI bundle, chunk, Electron main, or source) */
export function findSelfCheckWorker(): string | undefined {
  return findBundledWorker('self-check-worker.mjs', 'DIFFMD_SELFCHECK_WORKER')
}

/** an aborted check ends with the core's "stopped early" error: report it as a cancel */
function settle(p: Promise<SelfCheckJobResult>, signal: AbortSignal): Promise<SelfCheckJobResult | null> {
  return p.then(
    (r) => (signal.aborted ? null : r),
    (err: unknown) => {
      if (signal.aborted) return null
      throw err
    }
  )
}

export function startSelfCheckJob(req: SelfCheckRequest, hooks: SelfCheckJobHooks = {}, opts: SelfCheckJobOptions = {}): SelfCheckJobHandle {
  if (opts.inProcess) {
    const ac = new AbortController()
    const done = settle(selfCheckModelFile(req, { onProgress: hooks.onProgress, signal: ac.signal }), ac.signal)
    return { done, cancel: () => ac.abort() }
  }
  const workerPath = opts.workerPath ?? findSelfCheckWorker()
  if (!workerPath) throw new UserError('self-check: the worker (out/cli/self-check-worker.mjs) is missing; run `npm run build:cli` first', 'unavailable')
  const worker = new Worker(workerPath)
  let settled = false
  let cancelled = false
  const done = new Promise<SelfCheckJobResult | null>((resolve, reject) => {
    const finish = (f: () => void): void => {
      if (settled) return
      settled = true
      f()
      void worker.terminate()
    }
    worker.on('message', (msg: { type: string; [k: string]: unknown }) => {
      if (msg.type === 'progress') hooks.onProgress?.(msg.stage as string, msg.done as number, msg.total as number)
      else if (msg.type === 'done') finish(() => resolve(msg.cancelled ? null : (msg.result as SelfCheckJobResult)))
      else if (msg.type === 'error') {
        finish(() => (cancelled ? resolve(null) : reject(msg.user ? new UserError(msg.message as string, (msg.code as string) ?? 'user') : new Error(`self-check worker: ${msg.stack ?? msg.message}`))))
      }
    })
    worker.on('error', (err) => finish(() => (cancelled ? resolve(null) : reject(new Error(`self-check worker crashed: ${err.stack ?? err.message}`)))))
    worker.on('exit', (code) => finish(() => (cancelled ? resolve(null) : reject(new Error(`self-check worker exited with code ${code} before finishing`)))))
  })
  // transfer a copy: the caller keeps its frames
  const snapshots = req.snapshots?.slice()
  worker.postMessage({ type: 'start', req: { ...req, ...(snapshots ? { snapshots } : {}) } }, snapshots ? [snapshots.buffer as ArrayBuffer] : [])
  return {
    done,
    cancel: () => {
      cancelled = true
      worker.postMessage({ type: 'cancel' })
      // the runs stop within one progress interval; a worker stuck in one long model call is ended anyway
      setTimeout(() => {
        if (!settled) void worker.terminate()
      }, 10_000).unref?.()
    },
  }
}
