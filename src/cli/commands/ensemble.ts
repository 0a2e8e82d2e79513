/**
 * `diffmd ensemble A.onnx B.onnx … --out E.onnx`: one model file whose score and energy are the
 * members' means (core/nn/ensemble.ts; docs/training.md "Ensembles"). The members must be trained on
 * the same snapshots (same atoms, alignment reference and outputs); the card is written beside the
 * file as E.card.json and lists the members.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { parseArgs } from '../args'
import { ensembleProblem, type EnsembleMember } from '../../core/nn/ensemble'
import type { ModelCard } from '../../core/nn/card'
import { assembleEnsemble } from '../../services/models/ensemble'
import { findCard, loadOrtNode } from '../../services/models/open'
import { cpuSessionOptions } from '../../core/nn/runtime'
import { sha256Hex } from '../../services/models/hash'
import { writeFileAtomic, writeJsonAtomic } from '../../services/fs/atomic'
import { decodeModel } from '../../core/nn/onnx-proto'

const usage = `diffmd ensemble — average several models of the same snapshots into one

  diffmd ensemble A.onnx B.onnx [C.onnx …] --out E.onnx [--name TEXT] [--json]

  A.onnx …     two or more models trained on the same snapshots (e.g. diffmd train with --seed 0,
               1, …), each with its card beside it (A.card.json)
  --out FILE   the ensemble (.onnx); its card is written as FILE.card.json. Its score and energy are
               the members' means, so it costs one network evaluation per member
  --name TEXT  display name (default: the first member's, "(ensemble of K)")
  --json       print the card as JSON`

const cmd: Command = {
  summary: 'average several models of the same snapshots into one (a seed ensemble)',
  usage,
  async run(argv) {
    const { flags, positional } = parseArgs('ensemble', argv, { out: 'string', name: 'string', json: 'boolean' }, true)
    const out = flags.out as string | undefined
    if (!out) throw new UserError('ensemble: --out FILE.onnx is required (where the ensemble goes)', 'bad-flag')
    if (!/\.onnx$/i.test(out)) throw new UserError(`ensemble: --out ${out} must end in .onnx`, 'bad-flag')
    if (positional.length < 2) throw new UserError(`ensemble: give two or more model files (got ${positional.length})`, 'bad-flag')
    const outAbs = path.resolve(out)
    const members: EnsembleMember[] = []
    for (const file of positional) {
      if (path.resolve(file) === outAbs) throw new UserError(`ensemble: --out ${out} is also a member; write the ensemble to a new file`, 'bad-flag')
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await fs.readFile(file))
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        throw new UserError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(err as Error).message})`, code === 'ENOENT' ? 'not-found' : 'io')
      }
      const found = await findCard(file)
      if (!found) throw new UserError(`${file}: no model card beside it (${path.basename(file).replace(/\.onnx$/i, '')}.card.json); members need their cards`, 'bad-flag')
      if (found.card.onnx.sha256 !== sha256Hex(bytes)) throw new UserError(`${file}: its card ${found.file} describes a different file (sha256 differs); keep each model with its own card`, 'bad-model')
      try {
        decodeModel(bytes)
      } catch (err) {
        throw new UserError(`${file}: not a readable ONNX model (${(err as Error).message})`, 'bad-model')
      }
      members.push({ bytes, card: found.card, file })
    }
    const why = ensembleProblem(members)
    if (why) throw new UserError(`ensemble: ${why}`, 'bad-model')
    let bytes: Uint8Array
    let card: ModelCard
    try {
      ;({ bytes, card } = assembleEnsemble(members, flags.name as string | undefined))
    } catch (err) {
      throw new UserError(`ensemble: ${(err as Error).message}`, 'bad-model')
    }
    // the averaged graph must load in onnxruntime before anything is written
    const ort = await loadOrtNode()
    try {
      const session = await ort.InferenceSession.create(bytes, cpuSessionOptions(1))
      await session.release()
    } catch (err) {
      throw new UserError(`ensemble: onnxruntime cannot load the averaged model (${(err as Error).message.split('\n')[0]}); nothing written`, 'bad-model')
    }
    const cardFile = `${out.replace(/\.onnx$/i, '')}.card.json`
    await writeFileAtomic(out, bytes)
    await writeJsonAtomic(cardFile, card)
    if (flags.json) process.stdout.write(JSON.stringify(card, null, 2) + '\n')
    else process.stdout.write(`wrote ${out} (${members.length} members, ${(bytes.length / 1024).toFixed(0)} KiB) and ${cardFile}\n`)
    return 0
  },
}
export default cmd
