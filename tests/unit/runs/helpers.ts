/** Small real inputs for the runs tests: a 3-atom topology and frames with known values. */
import type { Topology } from '../../../src/core/topology'
import { writePdb } from '../../../src/core/formats/pdb'
import type { RunSources } from '../../../src/services/runs/store'
import { DEFAULT_RUN_PARAMS, type RunParams } from '../../../src/api/run-params'

export const TOPOLOGY: Topology = {
  atoms: ['N', 'CA', 'C'].map((name, i) => ({
    record: 'ATOM' as const,
    serial: i + 1,
    name,
    altLoc: '',
    resName: 'ALA',
    chainId: 'A',
    resSeq: 1,
    iCode: '',
    occupancy: 1,
    bFactor: 0,
    element: name[0]!,
  })),
}
export const D = 9

/** dataset frame f, coordinate i = f + i/10 */
export function datasetCoords(nFrames: number): Float32Array {
  const a = new Float32Array(nFrames * D)
  for (let f = 0; f < nFrames; f++) for (let i = 0; i < D; i++) a[f * D + i] = f + i / 10
  return a
}

export function sources(nFrames = 10): RunSources {
  const coords = datasetCoords(nFrames)
  return {
    model: { id: 'm1', name: 'test model', dim: D, limits: { sigmaRange: [0.01, 10], temperature: 300 } },
    dataset: { id: 'ds1', name: 'three atoms', topologyPdb: writePdb(TOPOLOGY, coords, 1), coords, nFrames },
  }
}

export function params(over: Partial<RunParams> = {}): RunParams {
  return { ...DEFAULT_RUN_PARAMS, replicas: 2, frames: 20, ...over }
}

/** frames [start, start+n) of a run with R replicas: frame t, replica r, coordinate i = 100·t + 10·r + i/10 */
export function runRows(start: number, n: number, R: number): Float32Array {
  const a = new Float32Array(n * R * D)
  for (let t = 0; t < n; t++) for (let r = 0; r < R; r++) for (let i = 0; i < D; i++) a[(t * R + r) * D + i] = 100 * (start + t) + 10 * r + i / 10
  return a
}

export function b64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}
