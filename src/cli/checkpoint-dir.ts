/**
 * `diffmd simulate --checkpoint DIR`: a run that survives kill -9 (docs/robustness.md). DIR holds
 *   settings.json    what the run is (model, sampler settings, a hash of the initial states);
 *                    a resume with other settings is refused
 *   frames.f32       every frame made so far, time-major [F, R·d] float32 little-endian, appended
 *                    in batches with fsync (services/runs/frames: idempotent by frame index, a torn
 *                    last row is not a frame, appends locked across processes)
 *   checkpoint.json  the sampler checkpoint (core/sampler/checkpoint), every --checkpoint-every frames
 * The same command run again continues from the last whole stored frame: the sampler's state is its
 * positions and the adapter-step count (the noise is counter-based), so the frames are bit-identical
 * to an uninterrupted run's (sequential mode; Picard windows agree to within --tol). Rejection and
 * model-call counts resume from the last checkpoint. When the output is written, the three files go.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { UserError } from '../core/errors'
import { NOISE_KINDS, type NoiseKind } from '../core/rng/normals'
import { VERSION } from '../core/version'
import type { RunHooks } from '../core/sampler/runner'
import { noiseOf, type SamplerParams } from '../core/sampler/params'
import { CHECKPOINT_VERSION, checkpointFromJson, checkpointParamsOf, checkpointToJson, type Checkpoint } from '../core/sampler/checkpoint'
import { writeFileAtomic, writeJsonAtomic } from '../services/fs/atomic'
import { appendFrames, readFrames, storedFrames } from '../services/runs/frames'

const SETTINGS = 'settings.json'
const FRAMES = 'frames.f32'
const CHECKPOINT = 'checkpoint.json'
/** frames buffered in memory before an append (fewer at a checkpoint and at the end) */
const FLUSH_FRAMES = 64

interface Settings {
  format: 'diffmd-simulate-checkpoint'
  version: 1
  model: string
  dim: number
  sampler: Record<string, unknown>
  initSha256: string
}

export interface CheckpointDir {
  dir: string
  /** where the run continues from (undefined: a fresh run) */
  resumeFrom: Checkpoint | undefined
  /** frames already on disk when the command started */
  framesOnDisk: number
  /** hooks for runTrajectory: frames go to disk, not memory */
  hooks: Pick<RunHooks, 'onFrame' | 'checkpointEvery' | 'onCheckpoint' | 'keepFrames'>
  /** waits for every pending write; then all stored frames as [R, F', d] */
  trajectory(): Promise<{ frames: number; data: Float32Array }>
  /** removes the folder's files (after the output is written) */
  remove(): Promise<void>
}

function le(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true)
  return out
}

function fromLe(b: Uint8Array): Float32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const out = new Float32Array(b.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true)
  return out
}

function settingsOf(p: SamplerParams, dim: number, model: string, init: Float32Array): Settings {
  return {
    format: 'diffmd-simulate-checkpoint',
    version: 1,
    model,
    dim,
    sampler: { mode: p.mode, eta: p.eta, innerSteps: p.innerSteps, denoiseSteps: p.denoiseSteps, sigmaMin: p.sigmaMin, replicas: p.replicas, seed: p.seed, parallel: p.parallel ?? null, trustRegion: p.trustRegion !== undefined, noise: noiseOf(p), ...(p.mode === 'bridge-mh' ? { mhKernel: p.mhKernel ?? 'em' } : {}) },
    initSha256: createHash('sha256').update(le(init)).digest('hex'),
  }
}

/** the first setting in which two runs differ, or null */
function firstDifference(a: Settings, b: Settings): string | null {
  if (a.model !== b.model) return `model (${a.model} vs ${b.model})`
  if (a.dim !== b.dim) return `d (${a.dim} vs ${b.dim})`
  for (const k of Object.keys(b.sampler)) {
    if (JSON.stringify(a.sampler[k]) !== JSON.stringify(b.sampler[k])) return `${k} (${JSON.stringify(a.sampler[k])} vs ${JSON.stringify(b.sampler[k])})`
  }
  if (a.initSha256 !== b.initSha256) return 'the initial states'
  return null
}

/**
 * The noise kind of the run a --checkpoint folder already holds: its own settings, or (a folder
 * made with --threads) those of its first replica block `replicas-A-B/`; box-muller for a run made
 * before noise kinds; undefined for an empty or new folder. `simulate --threads` reads it before
 * starting its workers, so the run's own metadata names the kind the blocks continue with.
 */
export async function checkpointFolderNoise(dir: string): Promise<NoiseKind | undefined> {
  const read = async (file: string): Promise<NoiseKind | undefined> => {
    try {
      const s = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Settings>
      if (!s.sampler || typeof s.sampler !== 'object') return undefined
      const k = (s.sampler as Record<string, unknown>).noise ?? 'box-muller'
      return NOISE_KINDS.includes(k as NoiseKind) ? (k as NoiseKind) : undefined
    } catch {
      return undefined
    }
  }
  const own = await read(path.join(dir, SETTINGS))
  if (own) return own
  let entries: string[] = []
  try {
    entries = (await fs.readdir(dir)).filter((e) => /^replicas-\d+-\d+$/.test(e)).sort()
  } catch {
    return undefined
  }
  for (const e of entries) {
    const k = await read(path.join(dir, e, SETTINGS))
    if (k) return k
  }
  return undefined
}

/**
 * The replica blocks [first, count] a --checkpoint folder made with --threads holds (its
 * `replicas-A-B/` folders), when they tile replicas base … base + R − 1 exactly; undefined otherwise.
 * `simulate` resumes such a folder with these blocks, whatever --threads and this version's block
 * size say, so the frames already stored are continued, not started again beside them.
 */
export async function checkpointFolderBlocks(dir: string, base: number, R: number): Promise<[number, number][] | undefined> {
  let entries: string[]
  try {
    entries = await fs.readdir(dir)
  } catch {
    return undefined
  }
  const blocks = entries
    .map((e) => /^replicas-(\d+)-(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [number, number] => [Number(m[1]), Number(m[2]) - Number(m[1]) + 1])
    .sort((a, b) => a[0] - b[0])
  if (blocks.length < 2) return undefined
  let next = base
  for (const [a, n] of blocks) {
    if (a !== next || !(n >= 1)) return undefined
    next = a + n
  }
  return next === base + R ? blocks : undefined
}

/**
 * Opens (or starts) the folder. A run already in it keeps the noise kind it was made with: when
 * `params.noise` is unset it is set here to the folder's (box-muller for folders made before noise
 * kinds), so the caller's runTrajectory continues the same noise streams.
 */
export async function openCheckpointDir(dir: string, params: SamplerParams, dim: number, modelName: string, init: Float32Array, every: number): Promise<CheckpointDir> {
  const R = params.replicas
  const F = params.frames
  const rowValues = R * dim
  const rowBytes = rowValues * 4
  const label = `--checkpoint ${dir}`
  try {
    await fs.mkdir(dir, { recursive: true })
  } catch (err) {
    throw new UserError(`${label}: cannot create the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'io')
  }
  let have: Settings | null = null
  try {
    have = JSON.parse(await fs.readFile(path.join(dir, SETTINGS), 'utf8')) as Settings
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(`${label}: ${SETTINGS} is unreadable; delete the folder to start afresh`, 'bad-checkpoint')
  }
  if (have && typeof have.sampler === 'object' && have.sampler !== null) {
    have.sampler.noise ??= 'box-muller'
    // bridge-mh folders made before down kernels existed used em
    if (have.sampler.mode === 'bridge-mh') have.sampler.mhKernel ??= 'em'
    if (params.noise === undefined && NOISE_KINDS.includes(have.sampler.noise as NoiseKind)) params.noise = have.sampler.noise as NoiseKind
  }
  const want = settingsOf(params, dim, modelName, init)
  const framesFile = path.join(dir, FRAMES)
  let stored = 0
  let resumeFrom: Checkpoint | undefined
  if (have) {
    if (have.format !== 'diffmd-simulate-checkpoint') throw new UserError(`${label}: ${SETTINGS} is not a diffmd simulate checkpoint; give another folder`, 'bad-checkpoint')
    const diff = firstDifference(have, want)
    if (diff) throw new UserError(`${label}: holds a run with another ${diff}; resume with the same settings, or give another folder`, 'bad-checkpoint')
    stored = await storedFrames(framesFile, rowBytes)
    if (stored > F) throw new UserError(`${label}: holds ${stored} frames, more than the ${F} asked for; ask for at least ${stored} (--frames)`, 'bad-checkpoint')
    if (stored > 0) resumeFrom = await resumePoint(dir, framesFile, rowBytes, stored, params, dim, modelName)
  } else {
    await fs.rm(framesFile, { force: true })
    await fs.rm(path.join(dir, CHECKPOINT), { force: true })
    await writeJsonAtomic(path.join(dir, SETTINGS), { ...want, createdBy: `diffmd ${VERSION}` })
  }

  // all I/O in one queue, so frames and checkpoints reach the disk in order
  let io: Promise<void> = Promise.resolve()
  let pending: Float32Array[] = []
  let pendingStart = stored
  let failure: unknown = null
  const enqueue = (job: () => Promise<void>): Promise<void> => {
    io = io.then(job).catch((err: unknown) => {
      failure ??= err
    })
    return io
  }
  const flush = (): Promise<void> => {
    if (pending.length === 0) return io
    const rows = pending
    const start = pendingStart
    pending = []
    pendingStart += rows.length
    const buf = new Float32Array(rows.length * rowValues)
    rows.forEach((r, i) => buf.set(r, i * rowValues))
    return enqueue(async () => {
      await appendFrames(framesFile, rowBytes, start, le(buf), F, label)
    })
  }
  const hooks: CheckpointDir['hooks'] = {
    keepFrames: false,
    checkpointEvery: every,
    onFrame(f, positions) {
      if (f < pendingStart + pending.length) return // already stored (the resume frame)
      pending.push(Float32Array.from(positions.subarray(0, rowValues)))
      if (pending.length >= FLUSH_FRAMES) return flush().then(() => rethrow())
    },
    onCheckpoint(cp) {
      const json = checkpointToJson(cp)
      // the frames up to the checkpoint's first, then the checkpoint: a checkpoint never runs ahead of the frames
      void flush()
      return enqueue(() => writeFileAtomic(path.join(dir, CHECKPOINT), json)).then(() => rethrow())
    },
  }
  function rethrow(): void {
    if (failure) throw failure
  }
  return {
    dir,
    resumeFrom,
    framesOnDisk: stored,
    hooks,
    async trajectory() {
      await flush()
      rethrow()
      const { count, bytes } = await readFrames(framesFile, rowBytes)
      const rows = fromLe(bytes)
      // time-major [n, R, d] → replica-major [R, n, d]
      const data = new Float32Array(rows.length)
      for (let t = 0; t < count; t++) for (let r = 0; r < R; r++) data.set(rows.subarray((t * R + r) * dim, (t * R + r + 1) * dim), (r * count + t) * dim)
      return { frames: count, data }
    },
    async remove() {
      // our files, and what a process killed mid-write may have left of them: a lock (and its
      // breaker) or an atomic write's temp file (.NAME.<hex>.tmp); anything else in DIR is not ours
      const ours = (name: string): boolean =>
        [FRAMES, CHECKPOINT, SETTINGS].some((f) => name === f || name.startsWith(`${f}.lock`) || (name.startsWith(`.${f}.`) && name.endsWith('.tmp')))
      const names = await fs.readdir(dir).catch(() => [] as string[])
      for (const n of names) if (ours(n)) await fs.rm(path.join(dir, n), { force: true })
      await fs.rmdir(dir).catch(() => undefined)
    },
  }
}

/** the checkpoint moved forward to the last whole stored frame (frames written after the last checkpoint count) */
async function resumePoint(dir: string, framesFile: string, rowBytes: number, stored: number, params: SamplerParams, dim: number, modelName: string): Promise<Checkpoint> {
  let cp: Checkpoint | null = null
  try {
    cp = checkpointFromJson(await fs.readFile(path.join(dir, CHECKPOINT), 'utf8'), `--checkpoint ${dir}: ${CHECKPOINT}`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof UserError)) throw err
    cp = null // none yet (or torn by the kill): the frames alone say where the run is
  }
  if (cp && cp.framesDone > stored) cp = null
  const last = await readFrames(framesFile, rowBytes, stored - 1, 1)
  return {
    version: CHECKPOINT_VERSION,
    step: (stored - 1) * params.innerSteps,
    framesDone: stored,
    positions: fromLe(last.bytes),
    rejections: cp ? cp.rejections.slice() : new Array<number>(params.replicas).fill(0),
    modelCalls: cp ? cp.modelCalls : 0,
    params: checkpointParamsOf(params, dim, modelName),
  }
}
