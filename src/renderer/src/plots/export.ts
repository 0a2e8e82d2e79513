/**
 * Plot export: PNG (canvas renderer, 2× pixels), SVG (SVG renderer's string output) and CSV, all
 * rendered off screen from the same option builder with the light palette, and saved through a
 * Blob URL + <a download> (browser mode: the browser's download; Electron: its save dialog).
 */
import { echarts, LIGHT, type PlotOption, type PlotPalette } from './echarts'

export type OptionBuilder = (palette: PlotPalette) => PlotOption

/** quotes a CSV field when needed (RFC 4180) */
export function csvField(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

export function csvText(header: string[], rows: Iterable<(string | number | undefined | null)[]>): string {
  const lines = [header.map(csvField).join(',')]
  for (const r of rows) lines.push(r.map(csvField).join(','))
  return lines.join('\n') + '\n'
}

/** Greek letters of plot titles spelled out, so φ and ψ plots do not both become "ACF-ALA2" */
const GREEK: Record<string, string> = { φ: 'phi', ψ: 'psi', τ: 'tau', σ: 'sigma', η: 'eta', θ: 'theta', ω: 'omega', χ: 'chi', α: 'alpha', β: 'beta', Δ: 'Delta' }

/** file-name-safe stem of a title */
export function fileStem(title: string, fallback: string): string {
  const s = title
    .replace(/[φψτσηθωχαβΔ]/g, (c) => `${GREEK[c]}`)
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
  return s || fallback
}

export function dataUrlToBlob(url: string): Blob {
  const comma = url.indexOf(',')
  const meta = url.slice(5, comma)
  const mime = meta.split(';')[0] || 'application/octet-stream'
  const body = url.slice(comma + 1)
  if (meta.endsWith(';base64')) {
    const bin = atob(body)
    const bytes = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
    return new Blob([bytes], { type: mime })
  }
  return new Blob([decodeURIComponent(body)], { type: mime })
}

/** last downloads, for tests: file name, MIME type and size */
export interface DownloadRecord {
  name: string
  type: string
  size: number
}
export const recentDownloads: DownloadRecord[] = []

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
  recentDownloads.push({ name, type: blob.type, size: blob.size })
  if (recentDownloads.length > 20) recentDownloads.shift()
  // give the browser time to start reading the Blob before the URL goes away
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** renders the option off screen with the canvas renderer and returns a PNG */
export function renderPng(build: OptionBuilder, width: number, height: number, pixelRatio = 2): Blob {
  const div = document.createElement('div')
  const chart = echarts.init(div, null, { renderer: 'canvas', width, height, devicePixelRatio: pixelRatio })
  try {
    const option = build(LIGHT)
    chart.setOption({ ...option, animation: false })
    return dataUrlToBlob(chart.getDataURL({ type: 'png', pixelRatio, backgroundColor: LIGHT.background }))
  } finally {
    chart.dispose()
  }
}

/** renders the option with the SVG renderer and returns the SVG document */
export function renderSvg(build: OptionBuilder, width: number, height: number): Blob {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    const option = build(LIGHT)
    chart.setOption({ ...option, animation: false, backgroundColor: LIGHT.background })
    return new Blob([chart.renderToSVGString()], { type: 'image/svg+xml' })
  } finally {
    chart.dispose()
  }
}
