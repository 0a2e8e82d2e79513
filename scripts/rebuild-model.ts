// Rewrites an exported model's ONNX graph with this version's export, keeping its weights
// (src/core/nn/export.ts rebuildModelBytes; docs/speed.md "The energy model's gradient"), and
// updates its card's sha256 and size. The old file is replaced only once the new one is written.
//   node scripts/run-ts.mjs scripts/rebuild-model.ts MODEL.onnx        (card: MODEL.card.json)
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { rebuildModelBytes } from '../src/core/nn/export'
import type { ArchConfig } from '../src/core/nn/arch'
import { sha256Hex } from '../src/services/models/hash'
import { VERSION } from '../src/core/version'

const file = process.argv[2]
if (!file || !file.endsWith('.onnx')) {
  console.error('usage: node scripts/run-ts.mjs scripts/rebuild-model.ts MODEL.onnx')
  process.exit(2)
}
const cardFile = file.replace(/\.onnx$/, '.card.json')
const card = JSON.parse(readFileSync(cardFile, 'utf8'))
const a = card.architecture
if (a.arch !== 'score-mlp' && a.arch !== 'energy-mlp') {
  console.error(`${cardFile}: architecture '${a.arch}' is not one this app exports; only its own models can be rebuilt`)
  process.exit(1)
}
const cfg: ArchConfig = { arch: a.arch, dim: card.dim, width: a.width, depth: a.depth, embDim: a.embDim, ...(a.head ? { head: a.head } : {}) }
const old = readFileSync(file)
if (sha256Hex(old) !== card.onnx.sha256) {
  console.error(`${file}: its sha256 is not the one ${cardFile} names; refusing to rewrite a model its card does not describe`)
  process.exit(1)
}
const bytes = rebuildModelBytes(old, cfg, { mean: Float32Array.from(card.mean), sigmaData: card.sigmaData }, { producerVersion: VERSION })
writeFileSync(file + '.tmp', bytes)
card.onnx = { ...card.onnx, sha256: sha256Hex(bytes), bytes: bytes.length }
writeFileSync(cardFile + '.tmp', JSON.stringify(card, null, 2) + '\n')
renameSync(file + '.tmp', file)
renameSync(cardFile + '.tmp', cardFile)
console.log(`${file}: ${old.length} → ${bytes.length} bytes, same weights`)
