/**
 * The ECharts subset the plots use (tree-shaken through `echarts/core`), both renderers: canvas on
 * screen and for PNG export, SVG (server-side string rendering) for SVG export.
 */
import * as echarts from 'echarts/core'
import { LineChart, CustomChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent, DataZoomComponent } from 'echarts/components'
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers'
import type { ComposeOption } from 'echarts/core'
import type { LineSeriesOption, CustomSeriesOption } from 'echarts/charts'
import type {
  GridComponentOption,
  LegendComponentOption,
  TitleComponentOption,
  TooltipComponentOption,
  VisualMapComponentOption,
  DataZoomComponentOption,
} from 'echarts/components'

echarts.use([LineChart, CustomChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent, DataZoomComponent, CanvasRenderer, SVGRenderer])

export type PlotOption = ComposeOption<
  LineSeriesOption | CustomSeriesOption | GridComponentOption | LegendComponentOption | TitleComponentOption | TooltipComponentOption | VisualMapComponentOption | DataZoomComponentOption
>

export { echarts }

/** colours the option builders use; screen follows the app theme, exports are always light */
export interface PlotPalette {
  text: string
  muted: string
  axis: string
  split: string
  background: string
  series: string[]
}

const SERIES = ['#2f6fde', '#d9480f', '#2b8a3e', '#9c36b5', '#e8590c', '#1098ad', '#5c940d', '#c2255c']

export const LIGHT: PlotPalette = { text: '#1d2430', muted: '#5b6575', axis: '#5b6575', split: '#e3e7ee', background: '#ffffff', series: SERIES }
export const DARK: PlotPalette = { text: '#e3e7ee', muted: '#9aa4b5', axis: '#9aa4b5', split: '#2e3440', background: '#1d2128', series: ['#6ea0ff', '#ff8c42', '#51cf66', '#da77f2', '#ffa94d', '#3bc9db', '#94d82d', '#f06595'] }

export function screenPalette(): PlotPalette {
  const dark = typeof window !== 'undefined' && (window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false)
  return dark ? DARK : LIGHT
}
