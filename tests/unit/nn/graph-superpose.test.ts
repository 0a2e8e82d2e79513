/**
 * The sampler's per-step checks as ONNX ops (src/core/nn/graph-superpose.ts) against their host
 * versions: Horn superposition by repeated squaring against Aligner (Horn by float64 Jacobi), the
 * trust-region test against TrustGuard and the explosion test against the core sampler's rule.
 * Tolerance of the superposition: float32 coordinates of ≲ 20 Å carry 1e-6 Å rounding; the rotation
 * from a float32 projector is good to ~1e-6 rad, i.e. ≲ 2e-5 Å at 20 Å from the centroid: 1e-4 Å.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Graph } from '../../../src/core/nn/graph'
import { emitFinite, emitSuperpose, emitTrustInside, squaringsFor, MAX_SQUARINGS } from '../../../src/core/nn/graph-superpose'
import { Aligner } from '../../../src/core/geometry/kabsch'
import { TrustGuard } from '../../../src/core/sampler/trust-region'
import { EXPLOSION_LIMIT } from '../../../src/core/sampler/run-state'
import { runGraph, values } from './helpers'

function ala2(): Float32Array {
  const pdb = readFileSync(path.resolve('resources/examples/ala2/ala2_reference.pdb'), 'utf8')
  const xs: number[] = []
  for (const l of pdb.split('\n')) if (l.startsWith('ATOM') || l.startsWith('HETATM')) xs.push(Number(l.slice(30, 38)), Number(l.slice(38, 46)), Number(l.slice(46, 54)))
  return Float32Array.from(xs)
}

/** rotation matrix of a unit quaternion (w, x, y, z), row-major */
function rot(q: number[]): number[] {
  const n = Math.hypot(...q)
  const [w, x, y, z] = q.map((v) => v / n) as [number, number, number, number]
  return [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y), 2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x), 2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z]
}

/**
 * frames: the reference with per-atom noise, rotated, shifted; with `mirror`, frame 1 is a mirror
 * image (its best proper rotation is less well separated: the sampler never makes one, its frames
 * stay near the reference)
 */
function framesAbout(ref: Float32Array, B: number, noise: number, seed: number, mirror = false): Float32Array {
  const d = ref.length
  const out = new Float32Array(B * d)
  const v = values(B * (d + 7), seed)
  for (let b = 0; b < B; b++) {
    const o = b * (d + 7)
    const R = rot([v[o]!, v[o + 1]!, v[o + 2]!, v[o + 3]!])
    const flip = mirror && b === 1 ? -1 : 1
    for (let i = 0; i < d / 3; i++) {
      const p = [0, 1, 2].map((a) => ref[3 * i + a]! + noise * v[o + 7 + 3 * i + a]!)
      p[0]! *= flip
      for (let a = 0; a < 3; a++) out[b * d + 3 * i + a] = R[3 * a]! * p[0]! + R[3 * a + 1]! * p[1]! + R[3 * a + 2]! * p[2]! + 10 * v[o + 4 + a]!
    }
  }
  return out
}

async function graphSuperpose(ref: Float32Array, frames: Float32Array): Promise<Float64Array> {
  const g = new Graph('superpose', 'float32')
  const x = g.input('x', 'float32', ['B', ref.length])
  g.output(emitSuperpose(g, x, ref), 'y')
  return (await runGraph(g, { x: { data: frames, dims: [frames.length / ref.length, ref.length] } })).y!
}

function hostSuperpose(ref: Float32Array, frames: Float32Array): Float32Array {
  const out = Float32Array.from(frames)
  const al = new Aligner(ref, ref.length / 3)
  for (let o = 0; o < out.length; o += ref.length) al.align(out, o)
  return out
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe('per-step checks inside the graph', () => {
  it('Horn superposition by repeated squaring gives the host Aligner\'s frames (ala2: rotated, shifted, noisy, mirrored)', async () => {
    const ref = ala2()
    for (const noise of [0, 0.3, 1.5]) {
      const frames = framesAbout(ref, 6, noise, 11 + noise * 10, true)
      const host = hostSuperpose(ref, frames)
      const graph = await graphSuperpose(ref, frames)
      // the alignment did something: frames started far from their aligned pose
      expect(maxAbsDiff(frames, host)).toBeGreaterThan(1)
      expect(maxAbsDiff(graph, host), `noise ${noise}`).toBeLessThan(1e-4)
    }
  })

  it('a long thin molecule (small eigenvalue gap), a planar one, and coincident atoms (identity) match the host', async () => {
    // a 40-atom helix of pitch 1.5 Å per atom and radius 1 Å: 60 Å long, 2 Å thick
    const helix = Float32Array.from({ length: 120 }, (_, k) => {
      const i = Math.floor(k / 3)
      return [Math.cos(1.7 * i), Math.sin(1.7 * i), 1.5 * i][k % 3]!
    })
    const planar = Float32Array.from({ length: 30 }, (_, k) => (k % 3 === 2 ? 0 : 3 * Math.sin(7 * k + 1)))
    for (const [name, ref] of [['helix', helix], ['planar', planar]] as const) {
      const frames = framesAbout(ref, 4, 0.2, 5)
      expect(maxAbsDiff(await graphSuperpose(ref, frames), hostSuperpose(ref, frames)), name).toBeLessThan(1e-4)
    }
    // every atom at one point: any rotation is optimal; both give the identity, i.e. a shift onto the centroid
    const ref = ala2()
    const same = new Float32Array(2 * ref.length).fill(4.25)
    expect(maxAbsDiff(await graphSuperpose(ref, same), hostSuperpose(ref, same))).toBeLessThan(1e-5)
  })

  it('squaringsFor follows the eigenvalue gap of Horn\'s matrix: closed form for atoms on the axes; thin molecules need more', async () => {
    // atoms at ±x, ±y, ±z on the axes: S = diag(2x², 2y², 2z²) = diag(a, b, c), N's eigenvalues a+b+c, a−b−c, −a+b−c, −a−b+c, ‖N‖_F = 2√(a²+b²+c²)
    for (const [x, y, z] of [[3, 2, 1], [10, 1, 0.5], [40, 0.4, 0.3]] as const) {
      const ref = Float32Array.from([x, 0, 0, -x, 0, 0, 0, y, 0, 0, -y, 0, 0, 0, z, 0, 0, -z])
      const [a, b, c] = [2 * x * x, 2 * y * y, 2 * z * z]
      const shift = 2 * Math.hypot(a, b, c)
      const r = (a - b - c + shift) / (a + b + c + shift)
      const expected = Math.min(MAX_SQUARINGS, Math.max(6, Math.ceil(Math.log2(Math.log(1e-12) / Math.log(r))) + 2))
      expect(squaringsFor(ref), `${x}, ${y}, ${z}`).toBe(expected)
    }
    expect(squaringsFor(Float32Array.from([40, 0, 0, -40, 0, 0, 0, 0.4, 0, 0, -0.4, 0, 0, 0, 0.3, 0, 0, -0.3]))).toBeGreaterThan(squaringsFor(Float32Array.from([3, 0, 0, -3, 0, 0, 0, 2, 0, 0, -2, 0, 0, 0, 1, 0, 0, -1])))
    // too few squarings on the helix (16 needed) leave a visibly wrong rotation: the count matters
    const helix = Float32Array.from({ length: 120 }, (_, k) => [Math.cos(1.7 * Math.floor(k / 3)), Math.sin(1.7 * Math.floor(k / 3)), 1.5 * Math.floor(k / 3)][k % 3]!)
    expect(squaringsFor(helix)).toBe(16)
    const frames = framesAbout(helix, 4, 0.2, 5)
    const g = new Graph('few', 'float32')
    const xi = g.input('x', 'float32', ['B', helix.length])
    g.output(emitSuperpose(g, xi, helix, 4), 'y')
    const few = (await runGraph(g, { x: { data: frames, dims: [4, helix.length] } })).y!
    expect(maxAbsDiff(few, hostSuperpose(helix, frames))).toBeGreaterThan(1e-2)
  })

  it('the trust-region test and the explosion test agree with the host rules, NaN included', async () => {
    const d = 6
    const mean = Float32Array.from([0, 1, 2, 3, 4, 5])
    const scale = Float32Array.from([0.5, 1, 2, 0.5, 1, 2])
    const region = { mean, scale, radius: 1.5 }
    const rows = [
      [0, 1, 2, 3, 4, 5], // at the mean
      [0.5, 1, 2, 3, 4, 5], // distance 1
      [1, 1, 2, 3, 4, 6], // distance √(4 + 0.25) ≈ 2.06: outside
      [0, 1, 2, 3, NaN, 5],
      [0, 1, 2, 3, 4, 2e8], // beyond the explosion limit
      [0, 1, 2, -Infinity, 4, 5],
    ]
    const x = Float32Array.from(rows.flat())
    const g = new Graph('checks', 'float32')
    const xi = g.input('x', 'float32', ['B', d])
    g.output(g.cast(emitTrustInside(g, xi, region), 'float32'), 'inside')
    g.output(emitFinite(g, xi, EXPLOSION_LIMIT), 'finite')
    const out = await runGraph(g, { x: { data: x, dims: [rows.length, d] } })
    const guard = new TrustGuard(region, d)
    const hostInside = rows.map((_, b) => (guard.inside(x, b * d) ? 1 : 0))
    const hostFinite = rows.map((r) => (r.every((v) => Math.abs(v) <= EXPLOSION_LIMIT) ? 1 : 0))
    expect(Array.from(out.inside!)).toEqual(hostInside)
    expect(hostInside).toEqual([1, 1, 0, 0, 0, 0])
    expect(Array.from(out.finite!)).toEqual(hostFinite)
    expect(hostFinite).toEqual([1, 1, 1, 0, 0, 0])
  })
})
