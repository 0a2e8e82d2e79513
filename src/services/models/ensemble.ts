/**
 * What `diffmd train --members`, `diffmd ensemble` and the models service share when they make an
 * ensemble (docs/training.md "Ensembles"): the ensemble's file and card from its members, a member
 * finished by an earlier run, and running the members a few at a time.
 */
import { promises as fs } from 'node:fs'
import { buildEnsemble, ensembleCard, type EnsembleMember } from '../../core/nn/ensemble'
import type { ModelCard } from '../../core/nn/card'
import { VERSION } from '../../core/version'
import { findCard } from './open'
import { sha256Hex } from './hash'

/** the ensemble's ONNX bytes and its card (name: the first member's unless given) */
export function assembleEnsemble(members: EnsembleMember[], name?: string): { bytes: Uint8Array; card: ModelCard } {
  const built = buildEnsemble(members, { producerVersion: VERSION })
  const onnx = { sha256: sha256Hex(built.bytes), bytes: built.bytes.length, opset: built.opset, inputs: ['x', 'sigma'], outputs: built.outputs }
  return { bytes: built.bytes, card: ensembleCard(members, onnx, { name, appVersion: VERSION, createdAt: new Date().toISOString() }) }
}

/** a member model written by an earlier run: its bytes and card when the card is beside it and describes these bytes */
export async function readFinishedMember(file: string): Promise<{ bytes: Uint8Array; card: ModelCard } | undefined> {
  const found = await findCard(file).catch(() => undefined)
  if (!found) return undefined
  const bytes = await fs.readFile(file).then((b) => new Uint8Array(b), () => undefined)
  return bytes && found.card.onnx.sha256 === sha256Hex(bytes) ? { bytes, card: found.card } : undefined
}

/**
 * Runs work(0 … count−1) with at most `parallel` at once, in index order; stops handing out
 * indices once a call returns false (the calls already running finish).
 */
export async function inLanes(count: number, parallel: number, work: (k: number) => Promise<boolean>): Promise<void> {
  let next = 0
  let going = true
  const lane = async (): Promise<void> => {
    while (going && next < count) {
      if (!(await work(next++))) going = false
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, count)) }, lane))
}
