/**
 * The Sample panel's Picard settings (api/run-params.ts): validation with one line per field, the
 * core options they become, and a run stored with them round-trips through the runs service schema.
 */
import { describe, expect, it } from 'vitest'
import { checkRunParams, picardOf, RunParamsSchema, DEFAULT_RUN_PARAMS, MH_MIN_STEPS } from '../../../src/api/run-params'

const p = (extra: Partial<typeof DEFAULT_RUN_PARAMS>) => ({ ...DEFAULT_RUN_PARAMS, ...extra })

describe('Picard run parameters', () => {
  it('absent or window 1 is one step at a time; W > 1 gives the core options with tol 0 by default', () => {
    expect(picardOf(DEFAULT_RUN_PARAMS)).toBeUndefined()
    expect(picardOf(p({ picardWindow: 1, picardTol: 0.01 }))).toBeUndefined()
    expect(picardOf(p({ picardWindow: 8 }))).toEqual({ kind: 'picard', window: 8, tol: 0 })
    expect(picardOf(p({ picardWindow: 8, picardTol: 1e-4 }))).toEqual({ kind: 'picard', window: 8, tol: 1e-4 })
  })

  it('bad values are one-line errors on their field; bridge-mh is refused; WASM gets a warning', () => {
    expect(checkRunParams(p({ picardWindow: 0 })).errors.picardWindow).toMatch(/^Picard window must be a whole number/)
    expect(checkRunParams(p({ picardWindow: 2.5 })).errors.picardWindow).toMatch(/whole number/)
    expect(checkRunParams(p({ picardWindow: 4, picardTol: -1 })).errors.picardTol).toMatch(/^Picard tolerance must be ≥ 0 Å/)
    expect(checkRunParams(p({ picardWindow: 4, mode: 'bridge-mh' }), { energy: true }).errors.picardWindow).toMatch(/Metropolis-corrected mode/)
    expect(checkRunParams(p({ picardWindow: 4, backend: 'wasm' })).warnings.picardWindow).toMatch(/pays off on WebGPU/)
    const ok = checkRunParams(p({ picardWindow: 4, picardTol: 1e-4, backend: 'webgpu' }))
    expect(ok.errors).toEqual({})
    expect(ok.warnings.picardWindow).toBeUndefined()
  })

  it('the stored-run schema accepts runs with and without the fields (older runs have none)', () => {
    expect(RunParamsSchema.safeParse(DEFAULT_RUN_PARAMS).success).toBe(true)
    expect(RunParamsSchema.safeParse(p({ picardWindow: 4, picardTol: 0 })).success).toBe(true)
    expect(RunParamsSchema.safeParse({ ...DEFAULT_RUN_PARAMS, picard: 4 }).success).toBe(false)
  })
})

describe('bridge + Metropolis and its M', () => {
  it('warns below MH_MIN_STEPS reverse steps with the em kernel (its acceptance falls as 1/M), never for plain bridge or the covariance kernel', () => {
    expect(checkRunParams(p({ mode: 'bridge-mh', mhKernel: 'em', denoiseSteps: 10 }), { energy: true }).warnings.denoiseSteps).toMatch(/^bridge \+ Metropolis with the em kernel accepts almost no step with M = 10: .* use M = 80–160 or the covariance kernel$/)
    expect(checkRunParams(p({ mode: 'bridge-mh', mhKernel: 'em', denoiseSteps: MH_MIN_STEPS }), { energy: true }).warnings.denoiseSteps).toBeUndefined()
    expect(checkRunParams(p({ mode: 'bridge-mh', denoiseSteps: 10 }), { energy: true }).warnings.denoiseSteps).toBeUndefined()
    expect(checkRunParams(p({ mode: 'bridge', denoiseSteps: 10 })).warnings.denoiseSteps).toBeUndefined()
    // a bad M is an error, not a warning
    expect(checkRunParams(p({ mode: 'bridge-mh', denoiseSteps: 0 }), { energy: true }).warnings.denoiseSteps).toBeUndefined()
  })
})
