/**
 * The sampler Web Worker's client (src/renderer/src/sampler/sampler-client.ts), loaded on demand so
 * the worker code stays out of the first paint.
 */
import type { SamplingExtras, SamplingRequest, SamplingResult } from '../sampler/sampler-client'

export type { SamplingExtras, SamplingRequest, SamplingResult }

export type StartSampling = (req: SamplingRequest, onFrames: (start: number, frames: Float32Array) => void, signal: AbortSignal, extras?: SamplingExtras) => Promise<SamplingResult>

export async function loadSampler(): Promise<StartSampling> {
  const mod = await import('../sampler/sampler-client')
  return mod.startSampling
}
