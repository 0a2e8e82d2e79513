/**
 * A generated trajectory in memory: R replicas × F frames × d coordinates (Å), replica-major,
 * flat Float32Array. `meta` holds every sampler parameter (mode, eta, k, sigma_K, dt, D, T, seed, …).
 * The JSON file format of `diffmd simulate --out x.json` is
 * `{ "meta": {...}, "frames": [replica][frame][coordinate] }`.
 */
import { UserError } from './errors'
import { jsonSyntaxProblem } from './json-error'

export interface Trajectory {
  meta: Record<string, unknown>
  replicas: number
  frames: number
  dim: number
  /** data[((r·F) + f)·d + i] */
  data: Float32Array
}

export function frameView(t: Trajectory, replica: number, frame: number): Float32Array {
  const off = (replica * t.frames + frame) * t.dim
  return t.data.subarray(off, off + t.dim)
}

/** Serialises to the JSON trajectory format. Coordinates are written with float32 round-trip precision. */
export function trajectoryToJson(t: Trajectory): string {
  const parts: string[] = []
  for (let r = 0; r < t.replicas; r++) {
    const frames: string[] = []
    for (let f = 0; f < t.frames; f++) {
      const v = frameView(t, r, f)
      frames.push('[' + Array.from(v, (x) => String(x)).join(',') + ']')
    }
    parts.push('[' + frames.join(',') + ']')
  }
  return `{"meta":${JSON.stringify(t.meta)},"frames":[${parts.join(',')}]}`
}

/** Parses the JSON trajectory format; `file` names the source in error messages. */
export function trajectoryFromJson(text: string, file: string): Trajectory {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${jsonSyntaxProblem(err, text)})`, 'parse')
  }
  const obj = parsed as { meta?: unknown; frames?: unknown }
  if (!obj || typeof obj !== 'object' || !Array.isArray(obj.frames)) {
    throw new UserError(`${file}: expected a trajectory object {"meta": {...}, "frames": [replica][frame][coordinate]}`, 'parse')
  }
  const reps = obj.frames as unknown[]
  if (reps.length === 0 || !Array.isArray(reps[0]) || (reps[0] as unknown[]).length === 0) {
    throw new UserError(`${file}: "frames" holds no frames`, 'parse')
  }
  const F = (reps[0] as unknown[]).length
  const first = (reps[0] as unknown[][])[0]
  if (!Array.isArray(first) || first.length === 0) throw new UserError(`${file}: frames[0][0] is not a coordinate array`, 'parse')
  const d = first.length
  const data = new Float32Array(reps.length * F * d)
  for (let r = 0; r < reps.length; r++) {
    const frames = reps[r]
    if (!Array.isArray(frames) || frames.length !== F) throw new UserError(`${file}: replica ${r} has ${Array.isArray(frames) ? frames.length : 'no'} frames, expected ${F}`, 'parse')
    for (let f = 0; f < F; f++) {
      const row = frames[f] as unknown
      if (!Array.isArray(row) || row.length !== d) throw new UserError(`${file}: frames[${r}][${f}] has ${Array.isArray(row) ? row.length : 'no'} coordinates, expected ${d}`, 'parse')
      const off = (r * F + f) * d
      for (let i = 0; i < d; i++) {
        const x = row[i]
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new UserError(`${file}: frames[${r}][${f}][${i}] is not a finite number`, 'parse')
        data[off + i] = x
      }
    }
  }
  const meta = obj.meta && typeof obj.meta === 'object' ? (obj.meta as Record<string, unknown>) : {}
  return { meta, replicas: reps.length, frames: F, dim: d, data }
}
