/**
 * Graph capture for the fused sampler on onnxruntime-web's WebGPU (docs/speed.md "WebGPU: state on
 * the device"): onnxruntime records the GPU commands of one call and replays them on every later
 * call, so a call costs one submission instead of one dispatch per node from JavaScript. It needs
 * every input and output to be a GPU buffer that never changes, so this driver owns fixed buffers:
 *
 *   inputs   x, noise, the σ grid, live, t0, the counters rejected, unstable (and accepted in
 *            bridge-mh)                                              (written with queue.writeBuffer)
 *   outputs  frames (all K steps: the graph is built with saveAll), state, the counters' …Out
 *
 * After each call it copies state → x and the counters' outputs → inputs on the GPU; it reads a
 * buffer back (through a mapped staging buffer) only when the engine asks. The first two calls are
 * made before the run starts (onnxruntime runs once normally, then captures on the second call);
 * both end with all their commands submitted, so the driver's own writes and copies are ordered
 * after them on the device queue, and so is every later replay (a replay submits before it returns).
 */
import type { OrtRuntime, OrtTensor } from '../../../core/nn/runtime'
import { fusedCounters, pickSteps, type FusedDriver, type FusedSampler } from '../../../core/nn/fused-sampler'
import { isBridgeMode } from '../../../core/sampler/params'

/** the parts of WebGPU this driver uses (GPUBufferUsage / GPUMapMode values from the WebGPU spec) */
interface GpuBuffer {
  destroy(): void
  mapAsync(mode: number): Promise<void>
  getMappedRange(): ArrayBuffer
  unmap(): void
}
interface GpuEncoder {
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void
  finish(): unknown
}
export interface GpuDevice {
  createBuffer(desc: { size: number; usage: number }): GpuBuffer
  createCommandEncoder(): GpuEncoder
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void; submit(commands: unknown[]): void }
}
const MAP_READ = 0x1
const COPY_SRC = 0x4
const COPY_DST = 0x8
const STORAGE = 0x80
const READ = 0x1

/** the dims of each fixed buffer (the graph's shapes at batch R: core/nn/fused-sampler.ts) */
function shapes(fused: FusedSampler, R: number): Record<string, number[]> {
  const d = fused.dim
  const grid: Record<string, number[]> = isBridgeMode(fused.mode) ? { tau: [fused.M + 1] } : { eta: [], sigma: [] }
  const counters = fusedCounters(fused.mode).flatMap((c) => [[c, [R]], [`${c}Out`, [R]]] as const)
  return { x: [R, d], noise: [R, fused.noiseSize], ...grid, live: [], t0: [], frames: [fused.K, R, d], state: [R, d], ...Object.fromEntries(counters) }
}

/**
 * A driver over a session created with enableGraphCapture (and a graph built with saveAll), on the
 * device onnxruntime uses. Makes the two preparatory calls; throws if onnxruntime cannot capture
 * this graph (the caller then uses the tensor-passing driver).
 */
export async function capturedDriver(ort: OrtRuntime, fused: FusedSampler, device: GpuDevice, x: Float32Array, R: number, grid: ArrayLike<number>): Promise<FusedDriver> {
  if (!fused.saveAll) throw new Error('graph capture: the fused graph must return all K steps (saveAll)')
  const dims = shapes(fused, R)
  const n = Object.fromEntries(Object.entries(dims).map(([name, s]) => [name, s.reduce((a, b) => a * b, 1)]))
  const counters = fusedCounters(fused.mode)
  const buffers = new Map<string, GpuBuffer>()
  const tensors: Record<string, OrtTensor> = {}
  const T = ort.Tensor as unknown as { fromGpuBuffer(b: GpuBuffer, o: { dataType: 'float32'; dims: number[] }): OrtTensor }
  for (const [name, count] of Object.entries(n)) {
    // sizes rounded up to 16 bytes: onnxruntime's WebGPU kernels bind and copy whole vec4s
    const b = device.createBuffer({ size: Math.ceil((4 * count) / 16) * 16, usage: STORAGE | COPY_SRC | COPY_DST })
    buffers.set(name, b)
    tensors[name] = T.fromGpuBuffer(b, { dataType: 'float32', dims: dims[name]! })
  }
  const buf = (name: string): GpuBuffer => buffers.get(name)!
  const write = (name: string, data: Float32Array): void => device.queue.writeBuffer(buf(name), 0, data)
  const inputs = ['x', 'noise', ...(isBridgeMode(fused.mode) ? ['tau'] : ['eta', 'sigma']), 'live', 't0', ...counters]
  const feeds = Object.fromEntries(inputs.map((k) => [k, tensors[k]!]))
  const fetches = Object.fromEntries(['frames', 'state', ...counters.map((c) => `${c}Out`)].map((k) => [k, tensors[k]!]))
  const gridValues = Float32Array.from(grid)
  const writeGrid = (): void => {
    if (isBridgeMode(fused.mode)) write('tau', gridValues)
    else {
      write('eta', gridValues.subarray(0, 1))
      write('sigma', gridValues.subarray(1, 2))
    }
  }
  const carryOver = (): void => {
    const enc = device.createCommandEncoder()
    enc.copyBufferToBuffer(buf('state'), 0, buf('x'), 0, 4 * n.x!)
    for (const c of counters) enc.copyBufferToBuffer(buf(`${c}Out`), 0, buf(c), 0, 4 * R)
    device.queue.submit([enc.finish()])
  }
  const read = async (name: string): Promise<Float32Array> => {
    const bytes = 4 * n[name]!
    const staging = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST })
    const enc = device.createCommandEncoder()
    enc.copyBufferToBuffer(buf(name), 0, staging, 0, bytes)
    device.queue.submit([enc.finish()])
    await staging.mapAsync(READ)
    const out = new Float32Array(staging.getMappedRange().slice(0))
    staging.unmap()
    staging.destroy()
    return out
  }
  const zeros = new Float32Array(R)
  const zeroCounters = (): void => {
    for (const c of counters) write(c, zeros)
  }
  const destroy = (): void => {
    for (const b of buffers.values()) b.destroy()
  }
  const call = async (live: number, t0: number): Promise<void> => {
    write('live', Float32Array.of(live))
    write('t0', Float32Array.of(t0))
    await fused.session.run(feeds, fetches)
    carryOver()
  }
  try {
    // the preparatory calls: one plain run, then the capture (their results are overwritten below)
    writeGrid()
    write('x', x.subarray(0, n.x!))
    write('noise', new Float32Array(n.noise!))
    for (let i = 0; i < 2; i++) {
      zeroCounters()
      await call(0, 0)
    }
  } catch (err) {
    destroy()
    throw err
  }
  write('x', x.subarray(0, n.x!))
  zeroCounters()
  return {
    location: 'gpu-buffer',
    captured: true,
    advance: async (noise, _grid, _save, live, t0) => {
      write('noise', noise.subarray(0, n.noise!))
      await call(live, t0)
    },
    frames: async (save) => pickSteps(await read('frames'), save, R * fused.dim),
    rejected: () => read('rejected'),
    unstable: () => read('unstable'),
    accepted: async () => {
      if (!counters.includes('accepted')) throw new Error(`fused sampler: mode ${fused.mode} counts no Metropolis steps`)
      return read('accepted')
    },
    resetCounters: async () => zeroCounters(),
    dispose: destroy,
  }
}
