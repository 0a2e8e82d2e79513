/**
 * Score error of a model against an exact score, per noise level (for analytic data: a Gaussian
 * mixture, Müller–Brown…): at each σ, points x = x₀ + σε with x₀ from the data, and the relative
 * error ε(σ) = √(Σ|s_θ(x, σ) − s(x, σ)|² / Σ|s(x, σ)|²). Used by the training tests and benches
 * (docs/training.md).
 */
import type { ScoreModel } from '../score/types'

export interface ScoreErrorAt {
  sigma: number
  /** relative error √(E|s_θ − s|²/E|s|²) */
  rel: number
}

/**
 * x0: [n, d] clean samples; noise: [n, d] standard normals (the same for every σ, so levels are
 * comparable); returns the relative error at each σ.
 */
export async function scoreErrorBySigma(model: ScoreModel, exact: ScoreModel, x0: Float32Array, noise: Float32Array, n: number, sigmas: readonly number[]): Promise<ScoreErrorAt[]> {
  const d = model.dim
  if (exact.dim !== d) throw new RangeError(`score error: model has d = ${d}, the exact score ${exact.dim}`)
  if (x0.length < n * d || noise.length < n * d) throw new RangeError(`score error: need ${n}×${d} samples and noise`)
  const x = new Float32Array(n * d)
  const a = new Float32Array(n * d)
  const b = new Float32Array(n * d)
  const out: ScoreErrorAt[] = []
  for (const sigma of sigmas) {
    for (let i = 0; i < n * d; i++) x[i] = x0[i]! + sigma * noise[i]!
    const s = new Float32Array(n).fill(sigma)
    await model.score(x, s, n, a)
    await exact.score(x, s, n, b)
    let num = 0
    let den = 0
    for (let i = 0; i < n * d; i++) {
      num += (a[i]! - b[i]!) ** 2
      den += b[i]! ** 2
    }
    out.push({ sigma, rel: Math.sqrt(num / den) })
  }
  return out
}
