/**
 * Cross-process file locks (docs/robustness.md "Two clients on one project"), so two clients on one project (two browser-mode servers, the CLI and
 * the app) never interleave a read-modify-write of `project.json`, `run.json`, a checkpoint, or an
 * append to a run's `frames.f32`.
 *
 * A lock is a sibling file `<target>.lock` created with O_CREAT|O_EXCL (atomic on local file
 * systems) holding `{pid, host, time}`. A lock is stale when its holder on this host is no longer
 * running, when it is older than `staleMs` (a holder that hangs, or a reused pid), or when it is
 * empty and older than a few seconds (a holder that died between create and write). A stale lock
 * is broken under a second O_EXCL "breaker" file, after re-reading it, so two waiters never both
 * break it and then delete each other's fresh lock. Within one process, callers for the same
 * target are queued first (serialised), so a process never waits on itself.
 */
import { constants as fsc, promises as fs } from 'node:fs'
import os from 'node:os'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'

export interface LockOptions {
  /** give up after this long (ms) with a UserError 'busy'; default 30 s */
  timeoutMs?: number
  /** a lock older than this (ms) is stale whatever its holder; default 120 s */
  staleMs?: number
  /** names the locked thing in the 'busy' message */
  label?: string
}

interface Holder {
  pid: number
  host: string
  time: number
  nonce: string
}

const queues = new Map<string, Promise<unknown>>()

/** Runs `fn` after every earlier call in this process for the same key has settled. */
export function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve()
  const next = prev.then(fn, fn)
  const tail = next.catch(() => undefined)
  queues.set(key, tail)
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key)
  })
  return next
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readHolder(file: string): Promise<{ holder: Holder | null; mtimeMs: number } | null> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)])
    let holder: Holder | null = null
    try {
      const h = JSON.parse(text) as Holder
      if (typeof h.pid === 'number' && typeof h.time === 'number') holder = h
    } catch {
      holder = null
    }
    return { holder, mtimeMs: st.mtimeMs }
  } catch {
    return null // gone meanwhile
  }
}

function isStale(info: { holder: Holder | null; mtimeMs: number }, staleMs: number): boolean {
  const now = Date.now()
  if (!info.holder) return now - info.mtimeMs > 5_000
  if (now - info.holder.time > staleMs) return true
  return info.holder.host === os.hostname() && !alive(info.holder.pid)
}

/** true: created; false: someone holds it; 'no-folder': the folder is gone (nothing to protect) */
async function tryCreate(file: string, holder: Holder): Promise<boolean | 'no-folder'> {
  let fh
  try {
    fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code === 'ENOENT') return 'no-folder'
    throw err
  }
  try {
    await fh.writeFile(JSON.stringify(holder))
  } finally {
    await fh.close()
  }
  return true
}

/** removes `file` if it still holds the stale content judged by the caller; under a breaker lock */
async function breakStale(file: string, seen: { holder: Holder | null; mtimeMs: number }, staleMs: number): Promise<void> {
  const breaker = `${file}.break`
  const me: Holder = { pid: process.pid, host: os.hostname(), time: Date.now(), nonce: randomBytes(6).toString('hex') }
  if ((await tryCreate(breaker, me)) !== true) {
    // someone else is breaking it; a breaker left by a dead process goes stale like a lock
    const b = await readHolder(breaker)
    if (b && isStale(b, Math.min(staleMs, 10_000))) await fs.rm(breaker, { force: true })
    return
  }
  try {
    const now = await readHolder(file)
    const same = now && (now.holder?.nonce ?? null) === (seen.holder?.nonce ?? null) && now.mtimeMs === seen.mtimeMs
    if (same && isStale(now, staleMs)) await fs.rm(file, { force: true })
  } finally {
    await fs.rm(breaker, { force: true })
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `fn` holding the cross-process lock `<target>.lock` (and the in-process queue for `target`).
 * Waits for a live holder up to `timeoutMs`, then refuses with a one-line UserError.
 */
export function withFileLock<T>(target: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return serialised(target, async () => {
    const file = `${target}.lock`
    const timeoutMs = opts.timeoutMs ?? 30_000
    const staleMs = opts.staleMs ?? 120_000
    const me: Holder = { pid: process.pid, host: os.hostname(), time: Date.now(), nonce: randomBytes(6).toString('hex') }
    const deadline = Date.now() + timeoutMs
    let wait = 2
    for (;;) {
      me.time = Date.now()
      const got = await tryCreate(file, me)
      // the folder does not exist (a deleted run, a wrong id): fn reports that in its own words
      if (got === 'no-folder') return fn()
      if (got) break
      const info = await readHolder(file)
      if (info && isStale(info, staleMs)) {
        await breakStale(file, info, staleMs)
        continue
      }
      if (Date.now() >= deadline) {
        const who = info?.holder ? `process ${info.holder.pid}${info.holder.host !== os.hostname() ? ` on ${info.holder.host}` : ''}` : 'another process'
        throw new UserError(`${opts.label ?? target}: busy, ${who} is writing it; try again when it has finished (or delete ${file} if no DiffMD Studio is running)`, 'busy')
      }
      await sleep(wait + Math.random() * wait)
      wait = Math.min(50, wait * 2)
    }
    try {
      return await fn()
    } finally {
      // remove only our own lock (a holder judged stale and broken must not delete its successor's)
      const now = await readHolder(file)
      if (now?.holder?.nonce === me.nonce) await fs.rm(file, { force: true })
    }
  })
}
