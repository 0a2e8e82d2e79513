/**
 * Importing score models: the contract check names the tensor with expected and actual shape,
 * a model that gives NaN on the probe batch is refused, and a valid model computes the same
 * scores through the ScoreModel interface as a direct session run.
 */
import { describe, expect, it } from 'vitest'
import { Graph, type Tensor } from '../../../src/core/nn/graph'
import { OnnxScoreModel, probeModel } from '../../../src/core/score/onnx-score'
import { UserError } from '../../../src/core/errors'
import { ort } from './helpers'
import { readFileSync } from 'node:fs'
import path from 'node:path'

async function sessionOf(build: (g: Graph) => void, opset?: number) {
  const g = new Graph('m')
  build(g)
  return ort.InferenceSession.create(g.toBytes({ opset }))
}

const gaussian = (g: Graph, x: Tensor, s: Tensor) => g.neg(g.div(x, g.add(g.unsqueeze(g.mul(s, s), [1]), 1)))

/** the exact score −x/(1 + σ²) of a unit Gaussian, d = 3, with sigma[batch] (a third-party style export) */
const gaussianSession = () =>
  sessionOf((g) => {
    const x = g.input('x', 'float32', ['batch', 3])
    const sg = g.input('sigma', 'float32', ['batch'])
    g.output(gaussian(g, x, sg), 'score')
  })

async function refusal(build: (g: Graph) => void, dim?: number): Promise<string> {
  const s = await sessionOf(build)
  try {
    OnnxScoreModel.wrap(ort, s, { name: 'm', file: 'model.onnx', dim })
  } catch (err) {
    expect(err).toBeInstanceOf(UserError)
    return (err as Error).message
  } finally {
    await s.release()
  }
  throw new Error('the model was accepted')
}

describe('ONNX score model contract', () => {
  it('accepts x[B,d], sigma[B] → score[B,d] and computes the same as a direct run (batch smaller than the buffers)', async () => {
    const m = OnnxScoreModel.wrap(ort, await gaussianSession(), { name: 'gauss', file: 'g.onnx' })
    expect(m.dim).toBe(3)
    expect(m.rigidBody).toBe(false)
    expect(m.smoothed).toBe(true)
    const x = Float32Array.from([1, 2, 3, -1, 0.5, 2, 9, 9, 9])
    const sigma = Float32Array.from([0.5, 2, 7])
    const out = new Float32Array(9).fill(-7)
    await m.score(x, sigma, 2, out)
    // exact: −x/(1+σ²)
    const expected = [1 / 1.25, 2 / 1.25, 3 / 1.25, -1 / 5, 0.5 / 5, 2 / 5].map((v) => -v)
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6))
    expect(Array.from(out.subarray(6))).toEqual([-7, -7, -7]) // untouched past the batch
    await probeModel(m, undefined, [0.01, 1, 10])
    await m.dispose()
  })

  it('names the tensor, the expected and the actual shape on a mismatch', async () => {
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float32', ['B', 5])
        g.output(gaussian(g, x, g.input('sigma', 'float32', ['B'])), 'score')
      }, 4)
    ).toBe("model.onnx: input 'x' has shape [B, 5], expected [B, 4]")
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float32', [1, 4])
        g.output(gaussian(g, x, g.input('sigma', 'float32', [1])), 'score')
      })
    ).toMatch(/input 'x' has a fixed batch size \(shape \[1, 4\]\); expected \[B, 4\] with a dynamic B/)
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float32', ['B', 4])
        const s = g.input('sigma', 'float32', ['B', 1])
        g.output(g.mul(x, s), 'score')
      })
    ).toMatch(/input 'sigma' has shape \[B, 1\], expected \[B\]/)
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float32', ['B', 4])
        const s = g.input('sigma', 'float32', ['B'])
        g.output(g.slice(gaussian(g, x, s), [0], [3], [1]), 'score')
      })
    ).toMatch(/output 'score' has shape \[B, 3\], expected \[B, 4\] like input x/)
    expect(
      await refusal((g) => {
        const x = g.input('input', 'float32', ['B', 4])
        g.output(gaussian(g, x, g.input('sigma', 'float32', ['B'])), 'score')
      })
    ).toMatch(/no input 'x' \(inputs: input, sigma\); expected inputs x\[B, d\] and sigma\[B\]/)
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float32', ['B', 4])
        g.output(g.reduceSum(g.mul(x, g.unsqueeze(g.input('sigma', 'float32', ['B']), [1])), [1]), 'energy')
      })
    ).toMatch(/outputs only 'energy'; add an output score\[B, d\]/)
    expect(
      await refusal((g) => {
        const x = g.input('x', 'float64', ['B', 4])
        g.output(g.neg(x), 'score')
        g.input('sigma', 'float64', ['B'])
      })
    ).toMatch(/input 'x' has element type float64, expected float32/)
  })

  it('refuses a model whose score is NaN on the probe batch, naming σ', async () => {
    const s = await sessionOf((g) => {
      const x = g.input('x', 'float32', ['B', 2])
      const sg = g.input('sigma', 'float32', ['B'])
      // NaN for σ < 0.1: sqrt of a negative number
      g.output(g.mul(x, g.unsqueeze(g.sqrt(g.sub(sg, 0.1)), [1])), 'score')
    })
    const m = OnnxScoreModel.wrap(ort, s, { name: 'nan', file: 'nan.onnx' })
    await expect(probeModel(m, undefined, [1, 0.05])).rejects.toThrow(/nan\.onnx: output 'score' is NaN on a probe batch \(row 1, σ = 0\.05/)
    await probeModel(m, undefined, [1, 2])
    await m.dispose()
  })

  it('a rigid-body model needs a reference of length d = 3N', async () => {
    const s = await sessionOf((g) => {
      const x = g.input('x', 'float32', ['B', 6])
      g.output(gaussian(g, x, g.input('sigma', 'float32', ['B'])), 'score')
    })
    const m = OnnxScoreModel.wrap(ort, s, { name: 'r', reference: new Float32Array(6) })
    expect(m.rigidBody).toBe(true)
    expect(() => OnnxScoreModel.wrap(ort, s, { name: 'r', file: 'r.onnx', reference: new Float32Array(3) })).toThrow(/r\.onnx: the reference structure has 3 coordinates, the model d = 6/)
    await s.release()
  })
})

describe('one σ for the whole batch (docs/speed.md "One σ for the whole batch")', () => {
  it('the shipped model takes sigma[1] for a batch that shares its σ: the same scores and energies, bit for bit, as sigma[B]', async () => {
    const bytes = readFileSync(path.join(__dirname, '../../../resources/models/ala2-default.onnx'))
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 })
    const m = OnnxScoreModel.wrap(ort, session, { name: 'ala2', file: 'ala2-default.onnx' })
    expect(m.sharedSigma).toBe(true)
    expect(m.hasEnergy).toBe(true)
    // record the sigma shapes the wrapper passes
    const seen: number[][] = []
    const run = session.run.bind(session)
    ;(session as { run: unknown }).run = (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
      seen.push([...feeds.sigma!.dims])
      return (run as (...a: unknown[]) => unknown)(feeds, ...rest)
    }
    const d = m.dim
    let state = 12345
    const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1
    for (const B of [2, 7, 64, 1000]) {
      for (const sg of [0.01, 0.158, 1.0]) {
        const x = Float32Array.from({ length: B * d }, () => 2 * rand())
        const sigma = new Float32Array(B).fill(sg)
        const out = new Float32Array(B * d)
        const en = new Float32Array(B)
        seen.length = 0
        await m.score(x, sigma, B, out)
        await m.energy(x, sigma, B, en)
        expect(seen).toEqual([[1], [1]])
        // the same batch with sigma[B], straight through the session
        const direct = await run({ x: new ort.Tensor('float32', x, [B, d]), sigma: new ort.Tensor('float32', sigma, [B]) })
        expect(Buffer.from(out.buffer).equals(Buffer.from((direct.score!.data as Float32Array).buffer))).toBe(true)
        expect(Buffer.from(en.buffer).equals(Buffer.from((direct.energy!.data as Float32Array).buffer))).toBe(true)
      }
    }
    // rows with different σ go as sigma[B]
    const x = Float32Array.from({ length: 3 * d }, () => rand())
    const mixed = Float32Array.from([0.05, 0.5, 0.05])
    const out = new Float32Array(3 * d)
    seen.length = 0
    await m.score(x, mixed, 3, out)
    expect(seen).toEqual([[3]])
    const direct = await run({ x: new ort.Tensor('float32', x, [3, d]), sigma: new ort.Tensor('float32', mixed, [3]) })
    expect(Array.from(out)).toEqual(Array.from(direct.score!.data as Float32Array))
    await probeModel(m, undefined, [0.01, 0.158, 1]) // it keeps the promise its sigma's size name makes
    await m.dispose()
  })

  it('probeModel accepts a [B_or_1] model that broadcasts sigma[1], and refuses one that names B_or_1 but does not', async () => {
    /** a d = 3 model with sigma[B_or_1] whose score is score(g, x, sigma) */
    const named = async (name: string, score: (g: Graph, x: Tensor, sg: Tensor) => Tensor) => {
      const m = OnnxScoreModel.wrap(
        ort,
        await sessionOf((g) => g.output(score(g, g.input('x', 'float32', ['B', 3]), g.input('sigma', 'float32', ['B_or_1'])), 'score')),
        { name, file: `${name}.onnx` }
      )
      expect(m.sharedSigma).toBe(true)
      return m
    }
    // broadcasts: the exact Gaussian score, whose σ term is elementwise in sigma
    const good = await named('good', gaussian)
    await probeModel(good, undefined, [0.01, 1, 10])
    await good.dispose()
    // does not: σ enters as the sum over sigma's rows, B·σ with sigma[B] and σ with sigma[1]
    const summed = await named('summed', (g, x, sg) => g.neg(g.div(x, g.add(g.reduceSum(sg, [0], true), 1))))
    await expect(probeModel(summed, undefined, [0.01, 1, 10])).rejects.toThrow(
      /^summed\.onnx: input 'sigma' has size 'B_or_1', which promises that sigma\[1\] applies to every row, but its 'score' differs with sigma\[1\] and sigma\[3\] at σ = 1 Å .*; export sigma with another size name \(e\.g\. 'B'\)$/
    )
    await summed.dispose()
    // fails outright with sigma[1]: sigma is reshaped to x's rows, [B, 1], which needs B values
    const rows = await named('rows', (g, x, sg) => g.mul(x, g.reshapeLike(sg, g.reduceSum(x, [1], true))))
    await expect(probeModel(rows, undefined, [0.5, 1, 2])).rejects.toThrow(/^rows\.onnx: input 'sigma' has size 'B_or_1', .* but a probe batch of 3 rows with sigma\[1\] failed \(/)
    await rows.dispose()
  })

  it('a model whose sigma is not [B_or_1] (any other export) always gets sigma[B]', async () => {
    const m = OnnxScoreModel.wrap(ort, await gaussianSession(), { name: 'gauss', file: 'g.onnx' })
    expect(m.sharedSigma).toBe(false)
    const out = new Float32Array(6)
    await m.score(Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([1, 1]), 2, out)
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6].map((v) => Math.fround(-v / 2)))
    await m.dispose()
  })
})
