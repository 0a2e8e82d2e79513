/**
 * Worker-thread entry of a self-check job (bundled to out/cli/self-check-worker.mjs): runs
 * selfCheckModelFile on onnxruntime-node so the caller's event loop (Electron main, HTTP server)
 * stays responsive. Messages: in {type:'start', req} | {type:'cancel'};
 * out {type:'progress', stage, done, total} | {type:'done', result | cancelled} | {type:'error', …}.
 */
import { parentPort } from 'node:worker_threads'
import { UserError } from '../../core/errors'
import { selfCheckModelFile, type SelfCheckRequest } from './self-check'

export type SelfCheckWorkerIn = { type: 'start'; req: SelfCheckRequest } | { type: 'cancel' }

const port = parentPort
if (!port) throw new Error('self-check-worker: must run as a worker thread')
const ac = new AbortController()
/** progress messages at most this often (the core reports every frame) */
const PROGRESS_MS = 200
let lastProgress = 0

port.on('message', (msg: SelfCheckWorkerIn) => {
  if (msg.type === 'cancel') {
    ac.abort()
    return
  }
  if (msg.type !== 'start') return
  selfCheckModelFile(msg.req, {
    signal: ac.signal,
    onProgress: (stage, done, total) => {
      const now = Date.now()
      if (done < total && now - lastProgress < PROGRESS_MS) return
      lastProgress = now
      port.postMessage({ type: 'progress', stage, done, total })
    },
  }).then(
    (result) => port.postMessage(ac.signal.aborted ? { type: 'done', cancelled: true } : { type: 'done', result }),
    (err: unknown) => {
      if (ac.signal.aborted) {
        port.postMessage({ type: 'done', cancelled: true })
        return
      }
      const e = err as Error
      port.postMessage({ type: 'error', message: e.message ?? String(err), stack: e.stack, code: err instanceof UserError ? err.code : undefined, user: err instanceof UserError })
    }
  )
})
