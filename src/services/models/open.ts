/**
 * Opening a model file with onnxruntime-node: finds and checks its card, checks the ONNX contract,
 * probes it for non-finite output, and wraps it as a ScoreModel.
 * Card beside `X.onnx`: `X.card.json`, else `card.json` in the same folder (registry layout).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'
import { cardProblem, type ModelCard } from '../../core/nn/card'
import { OnnxScoreModel, probeModel } from '../../core/score/onnx-score'
import { cpuSessionOptions, type OrtRuntime } from '../../core/nn/runtime'
import type { TrustRegion } from '../../core/sampler/trust-region'
import { sha256Hex } from './hash'

export function cardPathsFor(onnxFile: string): string[] {
  const dir = path.dirname(onnxFile)
  const base = path.basename(onnxFile).replace(/\.onnx$/i, '')
  return [path.join(dir, `${base}.card.json`), path.join(dir, 'card.json')]
}

export async function readCardFile(file: string): Promise<ModelCard> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(err as Error).message})`, code === 'ENOENT' ? 'not-found' : 'io')
  }
  let card: unknown
  try {
    card = JSON.parse(text)
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${jsonSyntaxProblem(err, text)})`, 'parse')
  }
  const p = cardProblem(card)
  if (p) throw new UserError(`${file}: not a DiffMD model card: ${p}`, 'parse')
  return card as ModelCard
}

/** the card beside a model file, or undefined when there is none */
export async function findCard(onnxFile: string): Promise<{ card: ModelCard; file: string } | undefined> {
  for (const f of cardPathsFor(onnxFile)) {
    try {
      await fs.access(f)
    } catch {
      continue
    }
    return { card: await readCardFile(f), file: f }
  }
  return undefined
}

export function trustRegionOf(card: ModelCard): TrustRegion | undefined {
  const t = card.trustRegion
  if (!t) return undefined
  return { mean: Float32Array.from(t.mean), scale: Float32Array.from(t.scale), radius: t.radius }
}

export async function loadOrtNode(): Promise<OrtRuntime> {
  const m = (await import('onnxruntime-node')) as unknown as OrtRuntime & { default?: OrtRuntime }
  return m.InferenceSession ? m : m.default!
}

export interface OpenedModel {
  model: OnnxScoreModel
  card?: ModelCard
  cardFile?: string
  bytes: Uint8Array
}

/**
 * Opens `file` (checks the card's sha256 against the bytes, the contract, and a probe batch).
 * `card` overrides the card found beside the file.
 */
export async function openModelFile(file: string, opts: { card?: ModelCard; threads?: number; ort?: OrtRuntime; probe?: boolean } = {}): Promise<OpenedModel> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(code === 'ENOENT' ? `${file}: no such model file` : `${file}: cannot read (${(err as Error).message})`, code === 'ENOENT' ? 'not-found' : 'io')
  }
  let card = opts.card
  let cardFile: string | undefined
  if (!card) {
    const found = await findCard(file)
    card = found?.card
    cardFile = found?.file
  }
  if (card && card.onnx.sha256 && card.onnx.sha256 !== sha256Hex(bytes)) {
    throw new UserError(`${cardFile ?? 'model card'}: describes a different ONNX file than ${file} (sha256 differs); keep each card with its own model`, 'bad-model')
  }
  const ort = opts.ort ?? (await loadOrtNode())
  let session
  try {
    session = await ort.InferenceSession.create(bytes, cpuSessionOptions(opts.threads ?? 1))
  } catch (err) {
    throw new UserError(`${file}: onnxruntime cannot load it (${(err as Error).message.split('\n')[0]})`, 'bad-model')
  }
  let model: OnnxScoreModel
  try {
    const reference = card?.aligned && card.reference ? Float32Array.from(card.reference) : undefined
    model = OnnxScoreModel.wrap(ort, session, {
      // onnxruntime-node computes run() on this thread (docs/speed.md "Normals and the network")
      computesOnCaller: true,
      name: card?.name ?? path.basename(file),
      file,
      dim: card?.dim,
      sigmaRange: card?.sigmaRange,
      reference,
    })
    if (opts.probe !== false) {
      const sd = card?.sigmaData ?? 1
      const lo = card?.sigmaRange?.[0] || 0.05 * sd
      await probeModel(model, card?.mean ? Float32Array.from(card.mean) : undefined, [Math.max(lo, 1e-3 * sd), 0.5 * sd, 5 * sd], sd)
    }
  } catch (err) {
    await session.release()
    throw err
  }
  return { model, card, cardFile, bytes }
}
