/** run.create's view of the model (its card) and the dataset (topology, frames), read through their services. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { readDataset } from '../datasets'
import { readModelCard } from '../models/registry'
import { projectDir } from '../project/store'
import type { RunSources } from './store'

export async function datasetSource(home: string, projectId: string, datasetId: string): Promise<NonNullable<RunSources['dataset']>> {
  const dir = projectDir(home, projectId)
  const ds = await readDataset(dir, datasetId)
  const topologyPdb = await fs.readFile(path.join(dir, 'datasets', datasetId, ds.manifest.topologyFile), 'latin1')
  return { id: ds.manifest.id, name: ds.manifest.name, topologyPdb, coords: ds.coords, nFrames: ds.manifest.frames }
}

export async function modelSource(home: string, projectId: string, modelId: string): Promise<RunSources['model']> {
  const card = await readModelCard(projectDir(home, projectId), modelId)
  return {
    id: modelId,
    name: card.name,
    dim: card.dim,
    card,
    limits: {
      ...(card.sigmaRange ? { sigmaRange: card.sigmaRange } : {}),
      ...(card.temperature ? { temperature: card.temperature } : {}),
    },
  }
}
