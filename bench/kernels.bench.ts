/**
 * The JavaScript kernels around the network, one at a time (docs/speed.md):
 * Before/after pairs are measured in interleaved rounds (best round of each).
 *   normals     ns per standard normal, in the sampler's chunk size (one adapter step of one replica:
 *               P = d·(1 + M) normals): Box–Muller (fillNormals), the ziggurat (the sampler's noise
 *               since noise kinds; WebAssembly kernel) and the ziggurat's JavaScript reference
 *               (docs/random-numbers.md), interleaved rounds;
 *   align       µs per frame of Aligner.align (Horn/Kabsch, N = 22 atoms: alanine dipeptide);
 *   project     µs per frame of RigidBodyProjector.project (N = 22);
 *   trust       ns per frame of TrustGuard.inside (d = 66).
 *
 *   npm run bench:kernels -- [--seconds S]      (node scripts/run-ts.mjs bench/kernels.bench.ts)
 */
import { fillNormals, fillNormalsOf } from '../src/core/rng/normals'
import { fillZigguratBlocks } from '../src/core/rng/ziggurat'
import { Aligner } from '../src/core/geometry/kabsch'
import { RigidBodyProjector } from '../src/core/geometry/rigid-body'
import { TrustGuard } from '../src/core/sampler/trust-region'
import { fillNormalsBefore, RigidBodyProjectorBefore } from './reference-kernels'

const argv = process.argv.slice(2)
const secIdx = argv.indexOf('--seconds')
const seconds = secIdx >= 0 ? Number(argv[secIdx + 1]) : 1

/** seconds per call of fn, after a warm-up, over ≥ `seconds` */
function perCall(fn: () => void, secs = seconds): number {
  for (let i = 0; i < 5; i++) fn()
  let n = 0
  const t0 = performance.now()
  for (;;) {
    for (let i = 0; i < 20; i++) fn()
    n += 20
    const t = (performance.now() - t0) / 1000
    if (t >= secs) return t / n
  }
}

export interface KernelTimes {
  nsPerNormal: number
  /** the same normals by the kernel as it was before issue 12 (bench/reference-kernels.ts), same run */
  nsPerNormalBefore: number
  /** ziggurat normals (the sampler's default noise) through the WebAssembly kernel */
  nsPerNormalZiggurat: number
  /** the same ziggurat normals by the JavaScript reference (no WebAssembly) */
  nsPerNormalZigguratJs: number
  usPerAlign: number
  usPerProject: number
  usPerProjectBefore: number
  nsPerTrust: number
}

export function measureKernels(): KernelTimes {
  const N = 22
  const d = 3 * N
  const P = d * 11
  const noise = new Float32Array(64 * P)
  let pos = 0
  // before and after interleaved, 5 rounds each, the fastest round of each kept: on a loaded
  // machine one long measurement of each drifts with the load, the best of interleaved rounds does not
  const fillBefore = (): void => {
    for (let r = 0; r < 64; r++) fillNormalsBefore(noise, 7, r, pos, r * P, P)
    pos += P
  }
  const fillNow = (): void => {
    for (let r = 0; r < 64; r++) fillNormals(noise, 7, r, pos, r * P, P)
    pos += P
  }
  const fillZig = (): void => {
    for (let r = 0; r < 64; r++) fillNormalsOf('ziggurat', noise, 7, r, pos, r * P, P)
    pos += P
  }
  // whole blocks only (P is a multiple of 4 here), the reference instead of the kernel
  const fillZigJs = (): void => {
    for (let r = 0; r < 64; r++) fillZigguratBlocks(noise, r * P, pos / 4, P / 4, 7, 0, r, false)
    pos += P
  }
  let nsPerNormalBefore = Infinity
  let nsPerNormal = Infinity
  let nsPerNormalZiggurat = Infinity
  let nsPerNormalZigguratJs = Infinity
  for (let round = 0; round < 5; round++) {
    nsPerNormalBefore = Math.min(nsPerNormalBefore, (1e9 * perCall(fillBefore, seconds / 5)) / noise.length)
    nsPerNormal = Math.min(nsPerNormal, (1e9 * perCall(fillNow, seconds / 5)) / noise.length)
    nsPerNormalZiggurat = Math.min(nsPerNormalZiggurat, (1e9 * perCall(fillZig, seconds / 5)) / noise.length)
    nsPerNormalZigguratJs = Math.min(nsPerNormalZigguratJs, (1e9 * perCall(fillZigJs, seconds / 5)) / noise.length)
  }

  const ref = new Float32Array(d)
  fillNormals(ref, 1, 0, 0)
  for (let i = 0; i < d; i++) ref[i]! *= 1.5
  const frames = new Float32Array(64 * d)
  fillNormals(frames, 2, 0, 0)
  for (let i = 0; i < frames.length; i++) frames[i] = 1.5 * frames[i]! + 0.3
  const aligner = new Aligner(ref, N)
  const work = new Float32Array(frames.length)
  const usPerAlign = (1e6 * perCall(() => {
    work.set(frames)
    for (let b = 0; b < 64; b++) aligner.align(work, b * d)
  })) / 64

  const proj = new RigidBodyProjector(N)
  const v = new Float32Array(64 * d)
  fillNormals(v, 3, 0, 0)
  const projBefore = new RigidBodyProjectorBefore(N)
  let usPerProjectBefore = Infinity
  let usPerProject = Infinity
  for (let round = 0; round < 5; round++) {
    usPerProjectBefore = Math.min(usPerProjectBefore, (1e6 * perCall(() => {
      for (let b = 0; b < 64; b++) projBefore.project(v, frames, b * d, b * d)
    }, seconds / 5)) / 64)
    usPerProject = Math.min(usPerProject, (1e6 * perCall(() => {
      for (let b = 0; b < 64; b++) proj.project(v, frames, b * d, b * d)
    }, seconds / 5)) / 64)
  }

  const guard = new TrustGuard({ mean: new Float32Array(d), scale: new Float32Array(d).fill(1.5), radius: 100 }, d)
  let inside = 0
  const nsPerTrust = (1e9 * perCall(() => {
    for (let b = 0; b < 64; b++) if (guard.inside(frames, b * d)) inside++
  })) / 64
  if (inside === 0) throw new Error('unexpected: no frame inside')
  return { nsPerNormal, nsPerNormalBefore, nsPerNormalZiggurat, nsPerNormalZigguratJs, usPerAlign, usPerProject, usPerProjectBefore, nsPerTrust }
}

if (process.argv[1] && /kernels\.bench\.m?[jt]s$/.test(process.argv[1])) {
  const k = measureKernels()
  console.log(`normals, Box–Muller: ${k.nsPerNormal.toFixed(1)} ns/normal (before issue 12: ${k.nsPerNormalBefore.toFixed(1)}, ×${(k.nsPerNormalBefore / k.nsPerNormal).toFixed(2)} faster)`)
  console.log(`normals, ziggurat (the sampler's default): ${k.nsPerNormalZiggurat.toFixed(1)} ns/normal, ×${(k.nsPerNormal / k.nsPerNormalZiggurat).toFixed(2)} faster than Box–Muller; its JavaScript reference ${k.nsPerNormalZigguratJs.toFixed(1)} ns/normal`)
  console.log(`align (Kabsch/Horn, N = 22): ${k.usPerAlign.toFixed(2)} µs/frame`)
  console.log(`project (rigid-body, N = 22): ${k.usPerProject.toFixed(2)} µs/frame (before: ${k.usPerProjectBefore.toFixed(2)}, ×${(k.usPerProjectBefore / k.usPerProject).toFixed(1)} faster)`)
  console.log(`trust region (d = 66): ${k.nsPerTrust.toFixed(1)} ns/frame`)
}
