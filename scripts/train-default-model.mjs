// Trains the app's default alanine-dipeptide model with DiffMD's own trainer (diffmd train, worker
// thread, onnxruntime-node) on the bundled example snapshots and writes
//   resources/models/ala2-default.onnx + resources/models/ala2-default.card.json
// The card's data source is stored relative to resources/models/ so the app (and
// `diffmd simulate --model resources/models/ala2-default.onnx`) finds the training frames for --init.
// usage: node scripts/train-default-model.mjs [--steps N] [--seed S] [--threads T] [--batch B] [--out FILE.onnx]
// The recipe (architecture, head, EMA, consistency term) is `diffmd train`'s default one
// (docs/training.md); any further `diffmd train` flags after `--` are passed through.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync, renameSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const data = path.join(root, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz')
const out = path.resolve(root, opt('out', 'resources/models/ala2-default.onnx'))
const cardFile = out.replace(/\.onnx$/, '.card.json')
const dd = args.indexOf('--')
const extra = dd >= 0 ? args.slice(dd + 1) : []

const build = spawnSync(process.execPath, [path.join(root, 'scripts/build-cli.mjs')], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
const train = spawnSync(
  process.execPath,
  [path.join(root, 'bin/diffmd.js'), 'train', '--data', data, '--select', 'all', '--width', '256', '--depth', '3',
    '--steps', opt('steps', '40000'), '--batch', opt('batch', '512'), '--lr', '1e-3', '--seed', opt('seed', '0'), '--threads', opt('threads', '1'),
    '--temperature', '300', '--out', out, ...extra],
  { stdio: 'inherit' }
)
if (train.status !== 0) process.exit(train.status ?? 1)
const card = JSON.parse(readFileSync(cardFile, 'utf8'))
card.name = 'Alanine dipeptide (default)'
card.data.sources = [path.relative(path.dirname(out), data).split(path.sep).join('/')]
writeFileSync(cardFile + '.tmp', JSON.stringify(card, null, 2) + '\n')
renameSync(cardFile + '.tmp', cardFile)
console.log(`default model: ${path.relative(root, out)} + ${path.relative(root, cardFile)}`)
