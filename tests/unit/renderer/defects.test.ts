/**
 * Pure helpers behind the fixes of issue 10's defects (the e2e tests in tests/e2e/defects.spec.ts
 * check them in the app): the backend 'auto' resolves to, run names, the rejection line, plot file
 * names, the shared Ramachandran scale, the loss chart's markers and labels, the ACF legend order.
 */
import { describe, expect, it } from 'vitest'
import { decideBackend } from '../../../src/renderer/src/sampler/sampler-client'
import { rejectionSummary, uniqueRunName } from '../../../src/renderer/src/stores/run-format'
import { fileStem } from '../../../src/renderer/src/plots/export'
import { acfOption, lossOption, ramaFreeEnergy, ramaOption, ramaScaleMax, stepLabel } from '../../../src/renderer/src/plots/options'
import type { PlotPalette } from '../../../src/renderer/src/plots/echarts'

const pal: PlotPalette = { background: '#fff', text: '#111', muted: '#666', axis: '#999', split: '#eee', series: ['#1f77b4', '#ff7f0e', '#2ca02c'] } as PlotPalette

describe("backend 'auto' (defect 5)", () => {
  it('never picks a software or fallback WebGPU adapter over WASM, and says why', () => {
    const swift = decideBackend('auto', { info: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' } })
    expect(swift.backend).toBe('wasm')
    expect(swift.reason).toMatch(/software/)
    expect(decideBackend('auto', { info: { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } }).backend).toBe('wasm')
    expect(decideBackend('auto', { isFallbackAdapter: true, info: { vendor: 'x' } }).backend).toBe('wasm')
    expect(decideBackend('auto', { info: { vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: true } }).backend).toBe('wasm')
    expect(decideBackend('auto', null)).toEqual({ backend: 'wasm', reason: 'auto: no WebGPU adapter here, so WASM (CPU)' })
    const gpu = decideBackend('auto', { info: { vendor: 'nvidia', architecture: 'hopper' } })
    expect(gpu).toEqual({ backend: 'webgpu', reason: 'auto: hardware WebGPU adapter (nvidia hopper)' })
    // an explicit choice is honoured, even a software adapter
    expect(decideBackend('webgpu', { info: { architecture: 'swiftshader' } }).backend).toBe('webgpu')
    expect(decideBackend('wasm', { info: { vendor: 'nvidia' } }).backend).toBe('wasm')
  })
})

describe('run names and the rejection line (defect 7)', () => {
  it('gives runs of the same settings distinct names', () => {
    const p = { mode: 'bridge' as const, dtPerFrame: 5, replicas: 4, frames: 300 }
    expect(uniqueRunName(p, [])).toBe('#1 bridge · 5 ps/frame · 4×300')
    expect(uniqueRunName(p, ['#1 bridge · 5 ps/frame · 4×300'])).toBe('#2 bridge · 5 ps/frame · 4×300')
    // a renamed or deleted run does not make a number come back twice
    expect(uniqueRunName(p, ['mine', '#3 bridge · 5 ps/frame · 4×300'])).toBe('#4 bridge · 5 ps/frame · 4×300')
  })
  it('gives the rate, and the CLI warning above 0.1 %', () => {
    expect(rejectionSummary([0, 0], 400)).toEqual({ text: 'rejected steps 0 of 400 (0 %)', rate: 0, warning: null })
    // 1 of 1000 = 0.1 %: at the threshold, no warning; 2 of 1000 above it
    expect(rejectionSummary([1, 0], 1000).warning).toBeNull()
    const over = rejectionSummary([1, 1], 1000)
    expect(over.text).toBe('rejected steps 2 of 1000 (0.2 %)')
    expect(over.warning).toBe('0.2 % of steps were rejected at the trust region (above 0.1 %: the model is weak at the edge of its data)')
    expect(rejectionSummary([30, 20], 400).text).toBe('rejected steps 50 of 400 (12.5 %)')
  })
})

describe('plot file names (defect 7)', () => {
  it('spells out Greek letters so φ and ψ plots get different names', () => {
    expect(fileStem('run A ACF φ ALA2', 'acf')).toBe('run-A-ACF-phi-ALA2')
    expect(fileStem('run A ACF ψ ALA2', 'acf')).toBe('run-A-ACF-psi-ALA2')
    expect(fileStem('bridge · 5 ps/frame · 4×300 (2) Ramachandran generated', 'x')).toBe('bridge-5-ps-frame-4-300-2-Ramachandran-generated')
  })
})

describe('Ramachandran panels share one colour scale (defect 4)', () => {
  const grid = (cells: [number, number][]): Float64Array => {
    const p = new Float64Array(3600)
    for (const [k, v] of cells) p[k] = v
    return p
  }
  it('takes the largest free energy (whole kT, ≤ 12) or probability over all panels', () => {
    const a = grid([[0, 0.9], [1, 0.1]]) // F = ln 9 ≈ 2.2 kT → 3
    const b = grid([[0, 0.99], [5, 0.01]]) // F = ln 99 ≈ 4.6 kT → 5
    expect(ramaScaleMax([a], 'free-energy')).toBe(3)
    expect(ramaScaleMax([a, b], 'free-energy')).toBe(5)
    expect(ramaScaleMax([a, b], 'probability')).toBe(0.99)
    expect(-Math.log(0.01 / 0.99)).toBeCloseTo(ramaFreeEnergy(b)[5]!, 12)
    const opt = ramaOption('t', a, 'free-energy', undefined, pal, 5) as { visualMap: { max: number } }
    expect(opt.visualMap.max).toBe(5)
  })
})

describe('loss chart (defect 7) and ACF legend (defect 4)', () => {
  it('draws no markers on dense curves and short step labels that hide when they overlap', () => {
    const pts = Array.from({ length: 200 }, (_, i) => ({ step: i * 100, loss: 1 / (i + 1), valLoss: 1.1 / (i + 1) }))
    const opt = lossOption(pts, pal) as { series: { showSymbol: boolean }[]; xAxis: { axisLabel: { hideOverlap: boolean; formatter: (v: number) => string } } }
    expect(opt.series.map((s) => s.showSymbol)).toEqual([false, false])
    expect(opt.xAxis.axisLabel.hideOverlap).toBe(true)
    expect(stepLabel(20000)).toBe('20k')
    expect(stepLabel(1500)).toBe('1.5k')
    expect(stepLabel(300)).toBe('300')
    const few = lossOption(pts.filter((_, i) => i % 100 === 0), pal) as { series: { showSymbol: boolean }[] }
    expect(few.series[1]!.showSymbol).toBe(true)
  })
  it('lists each curve once, its line before its band, so the legend shows the dashed reference line', () => {
    const opt = acfOption('ACF', [
      { label: 'φ', lagPs: [0, 5, 10], mean: [1, 0.5, 0.2], stderr: [0, 0.1, 0.1], tauIntPs: 39, unreliable: true },
      { label: 'φ · GROMACS BD, same length', lagPs: [0, 5, 10], mean: [1, 0.6, 0.3], stderr: [0, 0.05, 0.05], tauIntPs: 60, reference: true },
    ], pal) as { series: { type: string; name: string; lineStyle?: { type: string } }[]; legend: { data: string[]; itemStyle: { opacity: number } } }
    // the legend icon is the curve's line only: its marker (which would hide the dashes) is invisible
    expect(opt.legend.itemStyle.opacity).toBe(0)
    expect(opt.legend.data).toEqual(['φ (τ_int = 39 ps, unreliable)', 'φ · GROMACS BD, same length (τ_int = 60 ps)'])
    const first = (name: string) => opt.series.find((s) => s.name === name)!
    expect(first(opt.legend.data[1]!).type).toBe('line')
    expect(first(opt.legend.data[1]!).lineStyle?.type).toBe('dashed')
    expect(first(opt.legend.data[0]!).lineStyle?.type).toBe('solid')
  })
})
