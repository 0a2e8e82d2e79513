/**
 * Option builders and CSV tables of the three plots: pure functions of the props and a palette,
 * so the screen, the PNG/SVG exports and the tests all draw the same thing.
 */
import type { CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams, CustomSeriesRenderItemReturn } from 'echarts'
import type { PlotOption, PlotPalette } from './echarts'

// ------------------------------------------------------------------ ACF

export interface AcfSeries {
  label: string
  lagPs: number[]
  mean: number[]
  stderr?: number[]
  tauIntPs?: number
  /** false when Sokal's window did not close within the lags (τ_int is then a lower bound) */
  tauConverged?: boolean
  /** the run is too short for this τ_int (see judgeTau): the legend says so */
  unreliable?: boolean
  reference?: boolean
}

/** compact number for labels: 3 significant digits, no exponent between 1e-3 and 1e5 */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2)
  return String(Number(x.toPrecision(3)))
}

export function acfLegendName(s: AcfSeries): string {
  const tau = s.tauIntPs !== undefined && Number.isFinite(s.tauIntPs) ? ` (τ_int = ${fmtNum(s.tauIntPs)} ps${s.unreliable ? ', unreliable' : ''})` : ''
  return `${s.label}${tau}`
}

function bandRenderer(lag: number[], lo: number[], hi: number[], color: string) {
  return (params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI): CustomSeriesRenderItemReturn => {
    // one polygon for the whole band, drawn with the first data item
    if (params.dataIndex !== 0) return null
    const pts: number[][] = []
    for (let k = 0; k < lag.length; k++) pts.push(api.coord([lag[k]!, hi[k]!]))
    for (let k = lag.length - 1; k >= 0; k--) pts.push(api.coord([lag[k]!, lo[k]!]))
    return { type: 'polygon', shape: { points: pts }, style: { fill: color, opacity: 0.18 }, silent: true }
  }
}

export function acfOption(title: string, series: AcfSeries[], pal: PlotPalette): PlotOption {
  const out: NonNullable<PlotOption['series']> = []
  const names: string[] = []
  let k = 0
  for (const s of series) {
    const color = s.reference ? pal.text : pal.series[k++ % pal.series.length]!
    const name = acfLegendName(s)
    names.push(name)
    const n = Math.min(s.lagPs.length, s.mean.length)
    const line: [number, number][] = []
    for (let i = 0; i < n; i++) line.push([s.lagPs[i]!, s.mean[i]!])
    // the line first: the legend takes its icon from the first series of a name, so a reference's
    // legend shows its dashed line, not its error band
    out.push({
      type: 'line',
      name,
      data: line,
      showSymbol: false,
      symbol: 'none',
      color,
      lineStyle: { width: s.reference ? 1.5 : 2, type: s.reference ? 'dashed' : 'solid', color },
      emphasis: { disabled: true },
      z: 2,
    })
    if (s.stderr && s.stderr.length >= n && n > 1) {
      const lag: number[] = []
      const lo: number[] = []
      const hi: number[] = []
      const data: [number, number, number][] = []
      for (let i = 0; i < n; i++) {
        const m = s.mean[i]!
        const e = s.stderr[i]!
        if (!Number.isFinite(m) || !Number.isFinite(e)) continue
        lag.push(s.lagPs[i]!)
        lo.push(m - e)
        hi.push(m + e)
        data.push([s.lagPs[i]!, m - e, m + e])
      }
      if (lag.length > 1) {
        out.push({ type: 'custom', name, renderItem: bandRenderer(lag, lo, hi, color), data, encode: { x: 0, y: [1, 2] }, clip: true, silent: true, z: 1, tooltip: { show: false } })
      }
    }
  }
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: pal.text },
    title: { text: title, left: 'center', top: 4, textStyle: { color: pal.text, fontSize: 14, fontWeight: 'normal' } },
    // each entry in its curve's own style: its colour and solid or dashed line, no marker (the
    // curves have none; the marker of a line series' legend icon would hide the dashes)
    legend: { data: names, bottom: 4, textStyle: { color: pal.text }, itemWidth: 30, itemStyle: { opacity: 0 } },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? fmtNum(v) : String(v)) },
    grid: { left: 64, right: 24, top: 40, bottom: 84 },
    xAxis: { type: 'value', name: 'lag τ (ps)', nameLocation: 'middle', nameGap: 28, min: 0, axisLine: { lineStyle: { color: pal.axis } }, splitLine: { lineStyle: { color: pal.split } }, axisLabel: { color: pal.muted } },
    yAxis: { type: 'value', name: 'C(τ)', nameLocation: 'middle', nameGap: 44, axisLine: { lineStyle: { color: pal.axis } }, splitLine: { lineStyle: { color: pal.split } }, axisLabel: { color: pal.muted } },
    dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }],
    series: out,
  }
}

export function acfCsv(series: AcfSeries[]): { header: string[]; rows: (string | number | undefined)[][] } {
  const rows: (string | number | undefined)[][] = []
  for (const s of series) {
    const n = Math.min(s.lagPs.length, s.mean.length)
    for (let i = 0; i < n; i++) rows.push([s.label, s.reference ? 1 : 0, s.lagPs[i], s.mean[i], s.stderr?.[i], s.tauIntPs])
  }
  return { header: ['series', 'reference', 'lag_ps', 'acf', 'stderr', 'tau_int_ps'], rows }
}

// ------------------------------------------------------------------ Ramachandran

export const RAMA_BINS = 60
const BIN_DEG = 360 / RAMA_BINS

/** probabilities p[i·60 + j] (i = φ bin, j = ψ bin over [−π, π)²), normalised to sum 1 */
export function ramaGrid(probability: Float64Array | number[][]): Float64Array {
  const p = new Float64Array(RAMA_BINS * RAMA_BINS)
  if (probability instanceof Float64Array) {
    if (probability.length !== p.length) throw new RangeError(`Ramachandran: expected ${p.length} bins (60×60), got ${probability.length}`)
    p.set(probability)
  } else {
    if (probability.length !== RAMA_BINS) throw new RangeError(`Ramachandran: expected 60 φ rows, got ${probability.length}`)
    for (let i = 0; i < RAMA_BINS; i++) {
      const row = probability[i]!
      if (row.length !== RAMA_BINS) throw new RangeError(`Ramachandran: row ${i} has ${row.length} ψ bins, expected 60`)
      for (let j = 0; j < RAMA_BINS; j++) p[i * RAMA_BINS + j] = row[j]!
    }
  }
  let sum = 0
  for (let k = 0; k < p.length; k++) {
    const v = p[k]!
    if (!(v >= 0) || !Number.isFinite(v)) p[k] = 0
    else sum += v
  }
  if (sum > 0) for (let k = 0; k < p.length; k++) p[k] = p[k]! / sum
  return p
}

export type RamaScale = 'free-energy' | 'probability'

/** F = −ln p in kT, shifted so the most populated bin reads 0 (+∞ where p = 0) */
export function ramaFreeEnergy(p: Float64Array): Float64Array {
  let pmax = 0
  for (const v of p) if (v > pmax) pmax = v
  const f = new Float64Array(p.length)
  for (let k = 0; k < p.length; k++) f[k] = p[k]! > 0 ? -Math.log(p[k]! / pmax) : Infinity
  return f
}

const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725']

/**
 * The top of the colour scale of one or more Ramachandran grids: for free energy the largest finite
 * −ln(p/p_max) rounded up to a whole kT (1…12 kT), for probability the largest p. Panels shown side
 * by side take the scale of all of them, so one colour means one value on every panel.
 */
export function ramaScaleMax(grids: Float64Array[], scale: RamaScale): number {
  let vmax = 0
  for (const p of grids) {
    if (scale === 'free-energy') {
      for (const v of ramaFreeEnergy(p)) if (Number.isFinite(v) && v > vmax) vmax = v
    } else {
      for (const v of p) if (v > vmax) vmax = v
    }
  }
  if (scale === 'free-energy') return Math.max(1, Math.min(Math.ceil(vmax), 12))
  return vmax > 0 ? vmax : 1
}

export function ramaOption(title: string, p: Float64Array, scale: RamaScale, jsd: number | undefined, pal: PlotPalette, sharedMax?: number): PlotOption {
  const f = ramaFreeEnergy(p)
  const vmax = sharedMax !== undefined && sharedMax > 0 ? sharedMax : ramaScaleMax([p], scale)
  const data: [number, number, number, number, number][] = []
  for (let i = 0; i < RAMA_BINS; i++) {
    for (let j = 0; j < RAMA_BINS; j++) {
      const k = i * RAMA_BINS + j
      if (!(p[k]! > 0)) continue
      const shown = scale === 'free-energy' ? Math.min(f[k]!, vmax) : p[k]!
      data.push([-180 + i * BIN_DEG, -180 + j * BIN_DEG, shown, p[k]!, f[k]!])
    }
  }
  const axis = (name: string) => ({
    type: 'value' as const,
    name,
    nameLocation: 'middle' as const,
    nameGap: 30,
    min: -180,
    max: 180,
    interval: 60,
    axisLine: { onZero: false, lineStyle: { color: pal.axis } },
    axisLabel: { color: pal.muted },
    splitLine: { show: false },
  })
  const heading = jsd !== undefined && Number.isFinite(jsd) ? `${title}  ·  JSD = ${fmtNum(jsd)}` : title
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: pal.text },
    title: { text: heading, left: 'center', top: 4, textStyle: { color: pal.text, fontSize: 14, fontWeight: 'normal' } },
    tooltip: {
      trigger: 'item',
      formatter: (params) => {
        const v = (params as { value?: number[] }).value
        if (!v) return ''
        return `φ ${v[0]}…${v[0]! + BIN_DEG}°, ψ ${v[1]}…${v[1]! + BIN_DEG}°<br/>p = ${fmtNum(v[3]!)}<br/>F = ${fmtNum(v[4]!)} kT`
      },
    },
    grid: { left: 60, right: 100, top: 40, bottom: 50 },
    xAxis: axis('φ (°)'),
    yAxis: axis('ψ (°)'),
    visualMap: {
      type: 'continuous',
      dimension: 2,
      min: 0,
      max: vmax,
      calculable: false,
      right: 8,
      top: 'middle',
      itemHeight: 180,
      text: scale === 'free-energy' ? [`${vmax} kT`, '0 kT'] : [fmtNum(vmax), '0'],
      textStyle: { color: pal.text },
      inRange: { color: scale === 'free-energy' ? VIRIDIS : [...VIRIDIS].reverse() },
    },
    series: [
      {
        type: 'custom',
        name: 'p(φ, ψ)',
        data,
        encode: { x: 0, y: 1, tooltip: [3, 4] },
        clip: true,
        renderItem: (_params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI): CustomSeriesRenderItemReturn => {
          const x0 = api.value(0) as number
          const y0 = api.value(1) as number
          const a = api.coord([x0, y0 + BIN_DEG])
          const b = api.coord([x0 + BIN_DEG, y0])
          // +0.5 px overlap hides hairline seams between neighbouring bins
          return { type: 'rect', shape: { x: a[0]!, y: a[1]!, width: b[0]! - a[0]! + 0.5, height: b[1]! - a[1]! + 0.5 }, style: { fill: api.visual('color') as string } }
        },
      },
    ],
  }
}

export function ramaCsv(p: Float64Array): { header: string[]; rows: number[][] } {
  const f = ramaFreeEnergy(p)
  const rows: number[][] = []
  for (let i = 0; i < RAMA_BINS; i++) {
    for (let j = 0; j < RAMA_BINS; j++) {
      const k = i * RAMA_BINS + j
      rows.push([-180 + (i + 0.5) * BIN_DEG, -180 + (j + 0.5) * BIN_DEG, p[k]!, f[k]!])
    }
  }
  return { header: ['phi_deg', 'psi_deg', 'probability', 'free_energy_kT'], rows }
}

// ------------------------------------------------------------------ training loss

export interface LossPoint {
  step: number
  loss: number
  valLoss?: number
}

/** 20000 → "20k", 1500 → "1.5k", 300 → "300" */
export function stepLabel(v: number): string {
  return Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(v)
}

export function lossOption(points: LossPoint[], pal: PlotPalette): PlotOption {
  const train: [number, number][] = []
  const val: [number, number][] = []
  for (const p of points) {
    if (Number.isFinite(p.loss) && p.loss > 0) train.push([p.step, p.loss])
    if (p.valLoss !== undefined && Number.isFinite(p.valLoss) && p.valLoss > 0) val.push([p.step, p.valLoss])
  }
  const series: NonNullable<PlotOption['series']> = [
    { type: 'line', name: 'training loss', data: train, showSymbol: false, symbol: 'none', color: pal.series[0], lineStyle: { width: 1.5 }, sampling: 'lttb' },
  ]
  // markers only where the line alone would hardly show (≤ 3 points): otherwise they hide the line
  const marks = val.length <= 3
  if (val.length) series.push({ type: 'line', name: 'validation loss', data: val, showSymbol: marks, symbol: marks ? 'circle' : 'none', symbolSize: 4, color: pal.series[1], lineStyle: { width: 2 } })
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: pal.text },
    title: { text: 'Training loss', left: 'center', top: 4, textStyle: { color: pal.text, fontSize: 14, fontWeight: 'normal' } },
    legend: { bottom: 4, textStyle: { color: pal.text } },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? fmtNum(v) : String(v)) },
    grid: { left: 70, right: 24, top: 40, bottom: 70 },
    // step labels in k (20k, not 20000), few of them, overlapping ones hidden
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 26, min: 'dataMin', splitNumber: 4, axisLine: { lineStyle: { color: pal.axis } }, splitLine: { lineStyle: { color: pal.split } }, axisLabel: { color: pal.muted, hideOverlap: true, formatter: stepLabel } },
    yAxis: { type: 'log', name: 'loss', nameLocation: 'middle', nameGap: 52, axisLine: { lineStyle: { color: pal.axis } }, splitLine: { lineStyle: { color: pal.split } }, axisLabel: { color: pal.muted, formatter: (v: number) => fmtNum(v) } },
    series,
  }
}

export function lossCsv(points: LossPoint[]): { header: string[]; rows: (number | undefined)[][] } {
  return { header: ['step', 'loss', 'val_loss'], rows: points.map((p) => [p.step, p.loss, p.valLoss]) }
}
