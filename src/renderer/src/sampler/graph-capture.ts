/**
 * Graph capture for the fused sampler on onnxruntime-web's WebGPU (docs/speed.md "WebGPU: state on
 * the device"): onnxruntime records the GPU commands of one call and replays them on every later
 * call, so a call costs one submission instead of one dispatch per node from JavaScript. It needs
 * every input and output to be a GPU buffer that never changes, so this driver owns fixed buffers:
 *
 *   inputs   x, noise, the σ grid, live, t0, rejected, unstable    (written with queue.writeBuffer)
 *   outputs  frames (all K steps: the graph is built with saveAll), state, rejectedOut, unstableOut
 *
 * After each call it copies state → x and the counters' outputs → inputs on the GPU; it reads a
 * buffer back (through a mapped staging buffer) only when the engine asks. The first two calls are
 * made before the run starts (onnxruntime runs once normally, then captures on the second call);
 * both end with all their commands submitted, so the driver's own writes and copies are ordered
 * after them on the device queue, and so is every later replay (a replay submits before it returns).
 */
import type { OrtRuntime, OrtTensor } from '../../../core/nn/runtime'
import { pickSteps, type FusedDriver, type FusedSampler } from '../../../core/nn/fused-sampler'

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

/** float32 values of each fixed buffer */
function sizes(fused: FusedSampler, R: number): Record<string, number> {
  const d = fused.dim
  const grid: Record<string, number> = fused.mode === 'bridge' ? { tau: fused.M + 1 } : { eta: 1, sigma: 1 }
  return { x: R * d, noise: R * fused.noiseSize, ...grid, live: 1, t0: 1, rejected: R, unstable: R, frames: fused.K * R * d, state: R * d, rejectedOut: R, unstableOut: R }
}

function dimsOf(name: string, fused: FusedSampler, R: number): number[] {
  const d = fused.dim
  switch (name) {
    case 'x':
    case 'state':
      return [R, d]
    case 'noise':
      return [R, fused.noiseSize]
    case 'tau':
      return [fused.M + 1]
    case 'frames':
      return [fused.K, R, d]
    case 'rejected':
    case 'unstable':
    case 'rejectedOut':
    case 'unstableOut':
      return [R]
    default:
      return [] // eta, sigma, live, t0
  }
}

/**
 * A driver over a session created with enableGraphCapture (and a graph built with saveAll), on the
 * device onnxruntime uses. Makes the two preparatory calls; throws if onnxruntime cannot capture
 * this graph (the caller then uses the tensor-passing driver).
 */
export async function capturedDriver(ort: OrtRuntime, fused: FusedSampler, device: GpuDevice, x: Float32Array, R: number, grid: ArrayLike<number>): Promise<FusedDriver> {
  if (!fused.saveAll) throw new Error('graph capture: the fused graph must return all K steps (saveAll)')
  const n = sizes(fused, R)
  const buffers = new Map<string, GpuBuffer>()
  const tensors: Record<string, OrtTensor> = {}
  const T = ort.Tensor as unknown as { fromGpuBuffer(b: GpuBuffer, o: { dataType: 'float32'; dims: number[] }): OrtTensor }
  for (const [name, count] of Object.entries(n)) {
    // sizes rounded up to 16 bytes: onnxruntime's WebGPU kernels bind and copy whole vec4s
    const b = device.createBuffer({ size: Math.ceil((4 * count) / 16) * 16, usage: STORAGE | COPY_SRC | COPY_DST })
    buffers.set(name, b)
    tensors[name] = T.fromGpuBuffer(b, { dataType: 'float32', dims: dimsOf(name, fused, R) })
  }
  const buf = (name: string): GpuBuffer => buffers.get(name)!
  const write = (name: string, data: Float32Array): void => device.queue.writeBuffer(buf(name), 0, data)
  const inputs = ['x', 'noise', ...(fused.mode === 'bridge' ? ['tau'] : ['eta', 'sigma']), 'live', 't0', 'rejected', 'unstable']
  const feeds = Object.fromEntries(inputs.map((k) => [k, tensors[k]!]))
  const fetches = { frames: tensors.frames!, state: tensors.state!, rejectedOut: tensors.rejectedOut!, unstableOut: tensors.unstableOut! }
  const gridValues = Float32Array.from(grid)
  const writeGrid = (): void => {
    if (fused.mode === 'bridge') write('tau', gridValues)
    else {
      write('eta', gridValues.subarray(0, 1))
      write('sigma', gridValues.subarray(1, 2))
    }
  }
  const carryOver = (): void => {
    const enc = device.createCommandEncoder()
    enc.copyBufferToBuffer(buf('state'), 0, buf('x'), 0, 4 * n.x!)
    enc.copyBufferToBuffer(buf('rejectedOut'), 0, buf('rejected'), 0, 4 * R)
    enc.copyBufferToBuffer(buf('unstableOut'), 0, buf('unstable'), 0, 4 * R)
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
      write('rejected', zeros)
      write('unstable', zeros)
      await call(0, 0)
    }
  } catch (err) {
    destroy()
    throw err
  }
  write('x', x.subarray(0, n.x!))
  write('rejected', zeros)
  write('unstable', zeros)
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
    resetCounters: async () => {
      write('rejected', zeros)
      write('unstable', zeros)
    },
    dispose: destroy,
  }
}
