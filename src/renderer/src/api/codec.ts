/** base64 ⇄ float32/bytes for the API (frames, coordinates, model bytes), chunked so megabytes stay fast. */

export function bytesToBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000
  const parts: string[] = []
  for (let i = 0; i < bytes.length; i += CHUNK) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]))
  return btoa(parts.join(''))
}

export function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

export function float32ToBase64(a: Float32Array): string {
  return bytesToBase64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
}

export function base64ToFloat32(s: string): Float32Array {
  const bytes = base64ToBytes(s)
  if (bytes.length % 4 !== 0) throw new Error(`expected float32 data, got ${bytes.length} bytes`)
  return new Float32Array(bytes.buffer, 0, bytes.length / 4)
}

export function base64ToArrayBuffer(s: string): ArrayBuffer {
  const b = base64ToBytes(s)
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
}

/** Saves bytes as a download (browser mode; in Electron the file is already in the run folder). */
export function downloadBytes(name: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const blob = new Blob([bytes.slice().buffer as ArrayBuffer], { type })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`
}

export function formatDate(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const now = new Date()
  const sameDay = d.toDateString() === now.toDateString()
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' })
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–'
  if (seconds < 60) return `${Math.round(seconds)} s`
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  if (m < 60) return `${m} min ${s} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err)
  return m.split('\n')[0] ?? m
}
