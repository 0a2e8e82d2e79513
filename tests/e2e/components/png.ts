/**
 * Minimal PNG decoder for screenshots (8-bit RGB/RGBA, non-interlaced — what Chromium writes), so
 * tests can compare pixels without an image library.
 */
import { inflateSync } from 'node:zlib'

export interface Image {
  width: number
  height: number
  /** RGBA, row-major */
  data: Uint8Array
}

export function decodePng(buf: Buffer): Image {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let off = 8
  let width = 0
  let height = 0
  let colorType = 0
  const idat: Buffer[] = []
  while (off < buf.length) {
    const len = buf.readUInt32BE(off)
    const type = buf.toString('ascii', off + 4, off + 8)
    const body = buf.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const depth = body[8]!
      colorType = body[9]!
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || body[12] !== 0) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${body[12]})`)
    } else if (type === 'IDAT') idat.push(body)
    else if (type === 'IEND') break
    off += 12 + len
  }
  const bpp = colorType === 6 ? 4 : 3
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * bpp
  const px = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const src = y * (stride + 1) + 1
    const dst = y * stride
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[dst + x - bpp]! : 0
      const b = y > 0 ? px[dst - stride + x]! : 0
      const c = x >= bpp && y > 0 ? px[dst - stride + x - bpp]! : 0
      let v = raw[src + x]!
      if (filter === 1) v += a
      else if (filter === 2) v += b
      else if (filter === 3) v += (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a)
        const pb = Math.abs(p - b)
        const pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      px[dst + x] = v & 255
    }
  }
  if (bpp === 4) return { width, height, data: px }
  const rgba = new Uint8Array(width * height * 4)
  for (let i = 0, j = 0; i < px.length; i += 3, j += 4) {
    rgba[j] = px[i]!
    rgba[j + 1] = px[i + 1]!
    rgba[j + 2] = px[i + 2]!
    rgba[j + 3] = 255
  }
  return { width, height, data: rgba }
}

/** fraction of pixels that differ from the most common colour (the background), and the number of distinct colours */
export function contentStats(img: Image): { nonBackground: number; colours: number } {
  const counts = new Map<number, number>()
  const d = img.data
  for (let i = 0; i < d.length; i += 4) {
    const key = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  let bg = 0
  for (const n of counts.values()) bg = Math.max(bg, n)
  const total = d.length / 4
  return { nonBackground: 1 - bg / total, colours: counts.size }
}

/** fraction of pixels whose colour differs by more than `tol` in any channel */
export function pixelDiff(a: Image, b: Image, tol = 8): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images differ in size: ${a.width}×${a.height} vs ${b.width}×${b.height}`)
  let n = 0
  for (let i = 0; i < a.data.length; i += 4) {
    if (Math.abs(a.data[i]! - b.data[i]!) > tol || Math.abs(a.data[i + 1]! - b.data[i + 1]!) > tol || Math.abs(a.data[i + 2]! - b.data[i + 2]!) > tol) n++
  }
  return n / (a.data.length / 4)
}
