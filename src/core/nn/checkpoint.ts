/**
 * Training checkpoints as bytes: "DMTC" magic, uint32 header length, a JSON header (options,
 * step, history, …, with each float32 array replaced by {offset, length} into the blob), padding to
 * 4 bytes, then the float32 blob (little-endian). Bit-exact, so a resumed run is identical.
 */
import type { TrainCheckpoint } from './trainer'

const MAGIC = [0x44, 0x4d, 0x54, 0x43] // "DMTC"

interface Ref {
  $f32: [number, number]
}

function isLE(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
}

export function encodeTrainCheckpoint(ck: TrainCheckpoint): Uint8Array {
  if (!isLE()) throw new Error('checkpoint: big-endian hosts are not supported')
  const arrays: Float32Array[] = []
  let total = 0
  const ref = (a: Float32Array): Ref => {
    const r: Ref = { $f32: [total, a.length] }
    arrays.push(a)
    total += a.length
    return r
  }
  const header = {
    ...ck,
    params: ck.params.map(ref),
    m: ck.m.map(ref),
    v: ck.v.map(ref),
    ...(ck.ema ? { ema: ck.ema.map(ref) } : {}),
    best: ck.best ? { ...ck.best, params: ck.best.params.map(ref) } : null,
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const headLen = 8 + json.length
  const pad = (4 - (headLen % 4)) % 4
  const out = new Uint8Array(headLen + pad + total * 4)
  out.set(MAGIC, 0)
  new DataView(out.buffer).setUint32(4, json.length, true)
  out.set(json, 8)
  const blob = new Float32Array(out.buffer, headLen + pad, total)
  let off = 0
  for (const a of arrays) {
    blob.set(a, off)
    off += a.length
  }
  return out
}

export function decodeTrainCheckpoint(bytes: Uint8Array, file = 'checkpoint'): TrainCheckpoint {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${file}: not a DiffMD training checkpoint`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = dv.getUint32(4, true)
  if (8 + n > bytes.length) throw new Error(`${file}: truncated checkpoint header`)
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>
  const headLen = 8 + n
  const start = headLen + ((4 - (headLen % 4)) % 4)
  const count = (bytes.length - start) / 4
  if (!Number.isInteger(count)) throw new Error(`${file}: truncated checkpoint data`)
  const copy = new Uint8Array(bytes.length - start)
  copy.set(bytes.subarray(start))
  const blob = new Float32Array(copy.buffer)
  const deref = (r: unknown): Float32Array => {
    const [o, len] = (r as Ref).$f32
    if (!(o >= 0 && o + len <= blob.length)) throw new Error(`${file}: corrupt checkpoint (array outside the data)`)
    return blob.slice(o, o + len)
  }
  const best = header.best as { step: number; valLoss: number; params: unknown[] } | null
  return {
    ...(header as unknown as TrainCheckpoint),
    params: (header.params as unknown[]).map(deref),
    m: (header.m as unknown[]).map(deref),
    v: (header.v as unknown[]).map(deref),
    ...(header.ema ? { ema: (header.ema as unknown[]).map(deref) } : {}),
    best: best ? { ...best, params: best.params.map(deref) } : null,
  }
}
