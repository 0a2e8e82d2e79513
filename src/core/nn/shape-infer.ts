/**
 * Shapes of a decoded ONNX model's tensors, from the shapes of its inputs, for the ops our exported
 * models use. The inliner (inline.ts) states them in the target graph's value_info, because
 * onnxruntime cannot infer some of them itself (an Expand to the shape of another tensor) and then
 * makes a fresh symbolic dim for every tensor downstream, at a cost that grows with the graph
 * (docs/speed.md "Opening a fused session"). A tensor whose shape this cannot work out for sure is
 * left out (undefined), and so is everything computed from it: a stated shape must never be wrong.
 */
import { isOrOneOf, type Dim, type DType, type Shape } from './graph'
import { elemTypeOfCode, type GraphData, type TensorData } from './onnx-proto'

/** a tensor's element type and shape */
export interface TensorInfo {
  dtype: DType
  shape: Shape
}

const COMPARE = new Set(['Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Equal', 'And', 'Or', 'Not'])
const GRAPH_TYPES = new Set<string>(['float32', 'float64', 'int64', 'bool'])
const typeOfCode = (code: number): DType | undefined => {
  const name = elemTypeOfCode(code)
  return name && GRAPH_TYPES.has(name) ? (name as DType) : undefined
}

const UNARY = new Set(['Neg', 'Sqrt', 'Reciprocal', 'Log', 'Exp', 'Sin', 'Cos', 'Sigmoid', 'Tanh', 'Relu', 'Abs', 'Softplus', 'Identity', 'Cast', 'Erf', 'Not', 'Sign', 'Floor', 'Ceil', 'Round', 'Softsign'])
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Equal', 'And', 'Or', 'Max', 'Min'])

/** numpy broadcasting, or undefined where a dim is not certain (a symbol against a number other than 1, or two symbols) */
function broadcast(shapes: Shape[]): Shape | undefined {
  const rank = Math.max(...shapes.map((s) => s.length))
  const out: Dim[] = []
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1
    for (const s of shapes) {
      const e = s[s.length - rank + i]
      if (e === undefined || e === 1) continue
      if (d === 1 || isOrOneOf(d, e)) d = e
      else if (isOrOneOf(e, d)) continue
      else if (d !== e) return undefined
    }
    out.push(d)
  }
  return out
}

function ints(t: TensorData | undefined): number[] | undefined {
  if (!t || t.dtype !== 'int64') return undefined
  const v = new BigInt64Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength))
  return Array.from(v, Number)
}

const norm = (a: number, rank: number): number => (a < 0 ? a + rank : a)

/**
 * Element types and shapes of the graph's node outputs (by name) given its inputs'. Only ops whose
 * output follows from their inputs and constant attributes/initializers are worked out.
 */
export function inferShapes(graph: GraphData, inputs: Record<string, TensorInfo>): Map<string, TensorInfo> {
  const shapes = new Map<string, Shape>(Object.entries(inputs).map(([k, v]) => [k, v.shape]))
  const types = new Map<string, DType>(Object.entries(inputs).map(([k, v]) => [k, v.dtype]))
  const inits = new Map(graph.initializers.map((t) => [t.name, t]))
  for (const t of graph.initializers) {
    shapes.set(t.name, [...t.dims])
    if (GRAPH_TYPES.has(t.dtype)) types.set(t.name, t.dtype as DType)
  }
  const outputs = new Map<string, TensorInfo>()
  /** Shape(t)'s output: the shape it holds */
  const held = new Map<string, Shape>()
  for (const n of graph.nodes) {
    const ins = n.inputs.map((x) => (x === '' ? undefined : shapes.get(x)))
    const attr = (k: string): number | number[] | undefined => {
      const a = n.attrs[k]
      return a?.type === 'int' ? a.i : a?.type === 'ints' ? a.ints : undefined
    }
    let out: Shape | undefined
    const a0 = ins[0]
    if (UNARY.has(n.opType)) out = a0
    else if (BROADCAST.has(n.opType)) out = ins.every((s) => s) ? broadcast(ins as Shape[]) : undefined
    else if ((n.opType === 'MatMul' || (n.opType === 'Gemm' && !attr('transA') && !attr('transB'))) && a0 && ins[1] && a0.length === 2 && ins[1].length === 2 && a0[1] === ins[1][0]) out = [a0[0]!, ins[1][1]!]
    else if (n.opType === 'Transpose' && a0) {
      const perm = (attr('perm') as number[] | undefined) ?? a0.map((_, i) => a0.length - 1 - i)
      out = perm.map((p) => a0[p]!)
    } else if ((n.opType === 'Unsqueeze' || n.opType === 'Squeeze' || n.opType === 'ReduceSum' || n.opType === 'ReduceMean') && a0) {
      const axes = ints(inits.get(n.inputs[1] ?? '')) ?? (attr('axes') as number[] | undefined)
      if (n.opType === 'Unsqueeze' && axes) {
        const r = a0.length + axes.length
        const ax = new Set(axes.map((x) => norm(x, r)))
        const rest = [...a0]
        out = Array.from({ length: r }, (_, i) => (ax.has(i) ? 1 : rest.shift()!))
      } else if (n.opType === 'Squeeze' && axes) {
        const ax = new Set(axes.map((x) => norm(x, a0.length)))
        out = [...ax].every((i) => a0[i] === 1) ? a0.filter((_, i) => !ax.has(i)) : undefined
      } else if (n.opType !== 'Unsqueeze' && n.opType !== 'Squeeze' && axes && axes.length > 0) {
        const ax = new Set(axes.map((x) => norm(x, a0.length)))
        const keep = (attr('keepdims') ?? 1) !== 0
        out = keep ? a0.map((d, i) => (ax.has(i) ? 1 : d)) : a0.filter((_, i) => !ax.has(i))
      }
    } else if (n.opType === 'Concat' && ins.every((s) => s && s.length === a0?.length)) {
      const ax = norm(attr('axis') as number, a0!.length)
      const along = (ins as Shape[]).map((s) => s[ax]!)
      const same = (ins as Shape[]).every((s) => s.every((d, i) => i === ax || d === a0![i]))
      if (same && along.every((d) => typeof d === 'number')) out = a0!.map((d, i) => (i === ax ? (along as number[]).reduce((p, q) => p + q, 0) : d))
    } else if (n.opType === 'Shape' && a0 && Object.keys(n.attrs).length === 0) {
      out = [a0.length]
      held.set(n.outputs[0]!, a0)
    } else if (n.opType === 'Expand' && a0) {
      const target = held.get(n.inputs[1] ?? '') ?? ints(inits.get(n.inputs[1] ?? ''))
      out = target ? broadcast([a0, target]) : undefined
    }
    const first = types.get(n.inputs[n.opType === 'Where' ? 1 : 0] ?? '')
    const to = attr('to')
    const dtype = n.opType === 'Shape' ? 'int64' : COMPARE.has(n.opType) ? 'bool' : n.opType === 'Cast' ? (typeof to === 'number' ? typeOfCode(to) : undefined) : first
    if (out && dtype && n.outputs.length === 1) {
      shapes.set(n.outputs[0]!, out)
      types.set(n.outputs[0]!, dtype)
      outputs.set(n.outputs[0]!, { dtype, shape: out })
    }
  }
  return outputs
}
