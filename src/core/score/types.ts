/**
 * The one interface every score model implements: analytic systems with exact answers,
 * and learned ONNX models (onnx-score.ts). The sampler only sees this.
 *
 * Units (docs/science.md "Units and conventions"): x in Å, σ in Å, score s(x, σ) = ∇ₓ log p_σ(x) in Å⁻¹.
 */
export interface ScoreModel {
  /** d = 3N for molecules, 1 or 2 for toy systems */
  readonly dim: number
  /**
   * Smallest and largest σ (Å) at which the model is trustworthy. Analytic smoothed models: [0, Infinity].
   */
  readonly sigmaRange: readonly [number, number]
  /**
   * true when score(x, σ) is the score of the σ-smoothed density for every σ in sigmaRange
   * (exact analytic smoothing or a learned denoiser): required for `bridge` mode.
   * false for models that only know the σ = 0 score (double well, Müller–Brown): Langevin modes only.
   */
  readonly smoothed: boolean
  /**
   * true for molecular models trained on centred, Kabsch-aligned data (docs/science.md "Rigid-body motion"): the sampler then
   * re-aligns frames to `reference` and, in Langevin modes, projects out rigid-body motion.
   */
  readonly rigidBody: boolean
  /** aligned reference structure (length dim), required when rigidBody is true */
  readonly reference?: Float32Array
  /**
   * Writes out[b·d + i] = s(x_b, σ_b) for b < batch. x and out have at least batch·d entries,
   * sigma at least batch. Must not keep references to the arrays after returning/resolving.
   * May be synchronous (analytic models: return undefined) or asynchronous (ONNX: return a Promise).
   */
  score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void | Promise<void>
  /**
   * Energy models only: out[b] = E(x_b, σ_b), the σ-smoothed energy with p_σ ∝ exp(−E(·, σ))
   * (dimensionless; score = −∇ₓE). Used by the Metropolis-corrected mode `bridge-mh`, whose target is
   * exp(−E(·, σ_min)). Same array and sync/async rules as score().
   */
  energy?(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void | Promise<void>
  /** false when the object has an energy() method but no energy (an ONNX score model); absent = trust energy() */
  readonly hasEnergy?: boolean
  /** optional: log-density up to a constant at σ (analytic models), used by tests and analysis */
  logDensity?(x: Float32Array, sigma: number): number
  /**
   * true when an asynchronous score() still computes on the calling thread (onnxruntime-node's
   * run() defers a synchronous native call with setImmediate: onnxruntime issues #19611, #26968),
   * so JavaScript queued "behind" a call cannot overlap it; the sampler then draws its normals in
   * line, where the phase timer sees them (docs/speed.md "Normals and the network").
   */
  readonly computesOnCaller?: boolean
  /** human-readable name for logs and metadata */
  readonly name: string
}
