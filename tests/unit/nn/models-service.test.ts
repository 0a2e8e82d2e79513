/**
 * Model services and CLI: training in a worker thread (progress, cancel), the project registry
 * (import with validation, list, rename, read card, delete; atomic files), `diffmd train` on a JSON
 * trajectory and on the ala2 PDB data, and `openModelForCli` / `diffmd simulate --model` on the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { promises as fs, existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'
import { startTrainingJob } from '../../../src/services/models/train-job'
import { importModel, listModels, renameModel, deleteModel, readModelCard, getModel, trainProjectModel } from '../../../src/services/models/registry'
import { importDataset } from '../../../src/services/datasets/store'
import { readPdb, writePdb } from '../../../src/core/formats/pdb'
import { writeXyz } from '../../../src/core/formats/xyz'
import { gunzipBytes } from '../../../src/core/formats/gzip'
import { openModelFile } from '../../../src/services/models/open'
import { openModelForCli } from '../../../src/cli/model-source'
import { main } from '../../../src/cli/main'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, type ArchConfig } from '../../../src/core/nn/arch'
import { Graph } from '../../../src/core/nn/graph'
import { cardProblem, type ModelCard } from '../../../src/core/nn/card'
import { trajectoryToJson } from '../../../src/core/trajectory'
import { UserError } from '../../../src/core/errors'
import type { TrainProgress } from '../../../src/core/nn/trainer'
import { values } from './helpers'

const root = path.resolve(__dirname, '../../..')
let tmp: string
let workerPath: string

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'diffmd-models-'))
  // the worker bundle, as scripts/build-cli.mjs makes it (inside the repo so onnxruntime-node resolves)
  workerPath = path.join(root, 'out', 'test', `train-worker-${process.pid}.mjs`)
  await build({
    entryPoints: [path.join(root, 'src/services/models/train-worker.ts')],
    outfile: workerPath,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  })
})

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true })
  await fs.rm(workerPath, { force: true })
})

function toyFrames(n: number): Float32Array {
  const v = values(2 * n, 5, -1, 1)
  return Float32Array.from(v, (x, i) => x + ((i >> 1) % 2 ? 1 : -1))
}

describe('training job in a worker thread', () => {
  it('reports progress, finishes, and returns a loadable model', async () => {
    const seen: TrainProgress[] = []
    const job = startTrainingJob(
      { data: { frames: toyFrames(200), nFrames: 200, dim: 2 }, options: { arch: 'score-mlp', width: 8, depth: 1, embDim: 4, steps: 40, batch: 16, seed: 1, evalEvery: 20, valSamples: 32, bandSamples: 8 } },
      { onProgress: (p) => seen.push(p) },
      { workerPath }
    )
    const out = await job.done
    expect(out.result.final.stepsRun).toBe(40)
    expect(out.result.final.cancelled).toBe(false)
    expect(seen.length).toBeGreaterThan(3)
    expect(seen.at(-1)!.phase).toBe('done')
    const f = path.join(tmp, 'w.onnx')
    await fs.writeFile(f, out.onnx)
    const opened = await openModelFile(f)
    expect(opened.model.dim).toBe(2)
    await opened.model.dispose()
  })

  it('cancel stops the job after the current step and keeps the checkpoint file', async () => {
    const ckpt = path.join(tmp, 'c.ckpt')
    const job: ReturnType<typeof startTrainingJob> = startTrainingJob(
      { data: { frames: toyFrames(200), nFrames: 200, dim: 2 }, options: { arch: 'score-mlp', width: 8, depth: 1, embDim: 4, steps: 100000, batch: 16, seed: 1, evalEvery: 10, progressEvery: 5, valSamples: 32, bandSamples: 8 }, checkpointFile: ckpt },
      { onProgress: (p) => (p.step >= 30 ? job.cancel() : undefined) },
      { workerPath }
    )
    const out = await job.done
    expect(out.result.final.cancelled).toBe(true)
    expect(out.result.final.stepsRun).toBeGreaterThanOrEqual(30)
    expect(out.result.final.stepsRun).toBeLessThan(100000)
    expect(existsSync(ckpt)).toBe(true)
  })

  it('training errors reach the caller as one-line user errors', async () => {
    const job = startTrainingJob({ data: { frames: toyFrames(20), nFrames: 20, dim: 2 }, options: { arch: 'score-mlp', steps: 10, seed: 1, lr: -1 } }, {}, { workerPath })
    await expect(job.done).rejects.toThrow(UserError)
    await expect(job.done).rejects.toThrow(/lr must be positive/)
  })
})

describe('project model registry', () => {
  const cfg: ArchConfig = { arch: 'score-mlp', dim: 2, width: 8, depth: 1, embDim: 4 }

  it('imports a third-party model after validating it; lists, renames, reads and deletes; refuses broken models', async () => {
    const project = path.join(tmp, 'proj')
    await fs.mkdir(project, { recursive: true })
    const file = path.join(tmp, 'foreign.onnx')
    await fs.writeFile(file, exportModelBytes(cfg, initParams(cfg, 1), { mean: new Float32Array(2), sigmaData: 1 }))
    const e = await importModel(project, file, { name: 'My import', sigmaRange: [0.01, 10] })
    expect(e.card.architecture.arch).toBe('imported')
    expect(e.card.dim).toBe(2)
    expect(e.card.sigmaRange).toEqual([0.01, 10])
    expect(cardProblem(e.card)).toBeUndefined()
    expect(await fs.readFile(e.onnxFile)).toEqual(await fs.readFile(file))
    expect((await listModels(project)).models.map((m) => m.id)).toEqual([e.id])
    expect((await renameModel(project, e.id, 'Renamed')).name).toBe('Renamed')
    expect((await readModelCard(project, e.id)).name).toBe('Renamed')
    // the registry copy opens (its card's sha256 matches)
    const opened = await openModelFile((await getModel(project, e.id)).onnxFile)
    expect(opened.card?.name).toBe('Renamed')
    await opened.model.dispose()

    const bad = path.join(tmp, 'bad.onnx')
    const g = new Graph('bad')
    const x = g.input('x', 'float32', ['B', 2])
    g.input('sigma', 'float32', ['B'])
    g.output(g.log(g.sub(x, 100)), 'score') // NaN everywhere near the data
    await fs.writeFile(bad, g.toBytes())
    await expect(importModel(project, bad)).rejects.toThrow(/bad\.onnx: output 'score' is NaN on a probe batch/)
    await fs.writeFile(path.join(tmp, 'junk.onnx'), 'not a model')
    await expect(importModel(project, path.join(tmp, 'junk.onnx'))).rejects.toThrow(/junk\.onnx: onnxruntime cannot load it/)
    expect((await listModels(project)).models.length).toBe(1)

    await deleteModel(project, e.id)
    expect((await listModels(project)).models).toEqual([])
    await expect(readModelCard(project, e.id)).rejects.toThrow(/not found/)
  })
})

/** a project with the first `frames` ala2 snapshots imported as a heavy-atom dataset */
async function smallAla2Project(name: string, frames: number) {
  const project = path.join(tmp, name)
  await fs.mkdir(project, { recursive: true })
  const gz = path.join(root, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz')
  const pdb = readPdb(new TextDecoder('latin1').decode(gunzipBytes(await fs.readFile(gz), gz)), gz)
  const small = path.join(tmp, `ala2-${frames}.pdb`)
  await fs.writeFile(small, writePdb(pdb.topology, pdb.frames.subarray(0, frames * 66), frames))
  return { project, ds: await importDataset(project, [small], { select: 'heavy' }) }
}

describe('training on a project dataset', () => {
  it('trains as a job (worker thread) on a dataset and registers the model with dataset id, selection and reference', async () => {
    const { project, ds } = await smallAla2Project('proj2', 60)
    const seen: TrainProgress[] = []
    const job = await trainProjectModel(project, { datasetId: ds.id, name: 'ala2 heavy', options: { arch: 'energy-mlp', width: 8, depth: 1, embDim: 4, steps: 20, batch: 8, seed: 2, evalEvery: 10, valSamples: 16, bandSamples: 4 }, temperature: 300 }, { onProgress: (p) => seen.push(p) }, { workerPath })
    const entry = await job.done
    expect(entry).not.toBeNull()
    expect(entry!.id).toBe(job.id)
    expect(entry!.card.data.datasetId).toBe(ds.id)
    expect(entry!.card.atoms!.indices).toEqual(ds.atoms.indices)
    expect(entry!.card.architecture.arch).toBe('energy-mlp')
    expect(entry!.card.temperature).toBe(300)
    expect(entry!.card.reference!.length).toBe(30)
    expect(seen.length).toBeGreaterThan(0)
    expect((await listModels(project)).models.map((m) => m.id)).toEqual([job.id])
    expect(existsSync(path.join(entry!.dir, 'train-checkpoint.bin'))).toBe(false)
    const opened = await openModelFile(entry!.onnxFile)
    expect(opened.model.hasEnergy).toBe(true)
    expect(opened.model.rigidBody).toBe(true)
    await opened.model.dispose()
  })

  it('trains an ensemble: members side by side in worker threads, kept in members/, averaged into model.onnx', async () => {
    const { project, ds } = await smallAla2Project('proj3', 40)
    const options = { arch: 'energy-mlp' as const, width: 8, depth: 1, embDim: 4, steps: 10, batch: 8, seed: 5, evalEvery: 10, valSamples: 16, bandSamples: 4 }
    const job = await trainProjectModel(project, { datasetId: ds.id, name: 'ens', options, members: 2, parallel: 2 }, {}, { workerPath })
    const entry = await job.done
    expect(entry!.card.ensemble!.map((m) => m.seed)).toEqual([5, 6])
    const members = await Promise.all([1, 2].map((k) => fs.readFile(path.join(entry!.dir, 'members', `m${k}.onnx`))))
    expect(existsSync(path.join(entry!.dir, 'members', 'm2.card.json'))).toBe(true)
    // the mean of the members, evaluated separately, at one probe point
    const opened = await openModelFile(entry!.onnxFile)
    const one = await Promise.all(members.map((b, k) => fs.writeFile(path.join(tmp, `mem${k}.onnx`), b).then(() => openModelFile(path.join(tmp, `mem${k}.onnx`), { probe: false }))))
    const x = Float32Array.from(entry!.card.mean!)
    const sig = Float32Array.of(0.3)
    const at = async (m: typeof opened.model) => {
      const out = new Float32Array(x.length)
      await m.score(x, sig, 1, out)
      return out
    }
    const s = await at(opened.model)
    const parts = await Promise.all(one.map((o) => at(o.model)))
    for (let i = 0; i < x.length; i++) expect(s[i]!).toBeCloseTo((parts[0]![i]! + parts[1]![i]!) / 2, 4)
    for (const o of [opened, ...one]) await o.model.dispose()
    expect((await fs.readdir(entry!.dir)).filter((f) => f.includes('checkpoint'))).toEqual([])
  })
})

describe('diffmd train / simulate --model', () => {
  it('trains on a JSON trajectory, writes model + card, and the CLI model source serves it', async () => {
    const data = path.join(tmp, 'toy.json')
    const frames = toyFrames(300)
    await fs.writeFile(data, trajectoryToJson({ meta: { temperature: 300 }, replicas: 2, frames: 150, dim: 2, data: frames }))
    const out = path.join(tmp, 'toy.onnx')
    const err: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write
    let code: number
    try {
      code = await main(['train', '--data', data, '--steps', '40', '--batch', '16', '--width', '8', '--depth', '1', '--emb', '4', '--eval-every', '20', '--seed', '3', '--out', out, '--in-process', '--quiet'])
    } finally {
      process.stderr.write = write
    }
    expect(code, err.join('')).toBe(0)
    const card = JSON.parse(await fs.readFile(path.join(tmp, 'toy.card.json'), 'utf8')) as ModelCard
    expect(cardProblem(card)).toBeUndefined()
    expect(card.aligned).toBe(false)
    expect(card.temperature).toBe(300)
    expect(card.training!.stepsRun).toBe(40)
    expect(card.data).toMatchObject({ frames: 300, trainFrames: 270, valFrames: 30, sources: [data] })
    expect(existsSync(path.join(tmp, 'toy.ckpt'))).toBe(false)
    const cli = await openModelForCli({ model: out, align: true })
    expect(cli.model.dim).toBe(2)
    expect(cli.initPool.length).toBe(600) // the training frames, from the card's source
    expect(cli.trustRegion!.radius).toBeGreaterThan(0)
    expect(cli.card.sigmaData).toBe(card.sigmaData)
    await cli.dispose()
    // and the sampler CLI runs it
    const traj = path.join(tmp, 'run.json')
    process.stdout.write = (() => true) as typeof process.stdout.write
    let simCode: number
    try {
      simCode = await main(['simulate', '--model', out, '--eta', '0.05', '--replicas', '2', '--frames', '5', '--seed', '1', '--denoise-steps', '4', '--out', traj])
    } finally {
      process.stdout.write = write as typeof process.stdout.write
    }
    expect(simCode).toBe(0)
    expect(JSON.parse(await fs.readFile(traj, 'utf8')).frames.length).toBe(2)
  })

  it('trains on the ala2 PDB (heavy atoms): aligned, selection and topology in the card; a rigid-body model with the data as --init pool', async () => {
    const src = path.join(root, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz')
    const out = path.join(tmp, 'ala2.onnx')
    const code = await main(['train', '--data', src, '--select', 'heavy', '--steps', '10', '--batch', '32', '--width', '16', '--depth', '1', '--emb', '4', '--eval-every', '10', '--val-fraction', '0.02', '--out', out, '--in-process', '--quiet'])
    expect(code).toBe(0)
    const card = JSON.parse(await fs.readFile(path.join(tmp, 'ala2.card.json'), 'utf8')) as ModelCard
    expect(card.dim).toBe(30)
    expect(card.aligned).toBe(true)
    expect(card.atoms!.selection).toBe('heavy')
    expect(card.atoms!.indices.length).toBe(10)
    expect(card.atoms!.records!.map((a) => a.element).includes('H')).toBe(false)
    expect(card.reference!.length).toBe(30)
    // the reference is centred
    for (let k = 0; k < 3; k++) expect(Math.abs(card.reference!.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0))).toBeLessThan(1e-3)
    const cli = await openModelForCli({ model: out, align: true })
    expect(cli.model.rigidBody).toBe(true)
    expect(cli.topology!.atoms.length).toBe(10)
    expect(cli.initPool.length).toBe(5000 * 30)
    await cli.dispose()
  })

  it('trains on an XYZ file with --select heavy (hydrogens by element)', async () => {
    const gz = path.join(root, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz')
    const pdb = readPdb(new TextDecoder('latin1').decode(gunzipBytes(await fs.readFile(gz), gz)), gz)
    const xyz = path.join(tmp, 'ala2.xyz')
    await fs.writeFile(xyz, writeXyz(pdb.topology.atoms.map((a) => a.element), pdb.frames.subarray(0, 40 * 66), 40))
    const out = path.join(tmp, 'xyz.onnx')
    expect(await main(['train', '--data', xyz, '--select', 'heavy', '--steps', '5', '--batch', '8', '--width', '8', '--depth', '1', '--emb', '4', '--out', out, '--in-process', '--quiet'])).toBe(0)
    const card = JSON.parse(await fs.readFile(path.join(tmp, 'xyz.card.json'), 'utf8')) as ModelCard
    expect(card.dim).toBe(30)
    expect(card.aligned).toBe(true)
    expect(card.atoms).toEqual({ selection: 'heavy', indices: pdb.topology.atoms.flatMap((a, i) => (a.element === 'H' ? [] : [i])) })
  })

  it('flags are checked with one-line messages', async () => {
    const err: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write
    try {
      expect(await main(['train', '--data', path.join(tmp, 'none.pdb'), '--out', path.join(tmp, 'x.onnx')])).toBe(2)
      expect(await main(['train', '--data', 'a.pdb', '--out', 'x.txt'])).toBe(2)
      expect(await main(['train', '--data', 'a.pdb', '--out', 'x.onnx', '--arch', 'cnn'])).toBe(2)
    } finally {
      process.stderr.write = write
    }
    expect(err[0]).toMatch(/none\.pdb: no such file/)
    expect(err[1]).toMatch(/--out x\.txt must end in \.onnx/)
    expect(err[2]).toMatch(/--arch must be one of score-mlp, energy-mlp/)
  })
})
