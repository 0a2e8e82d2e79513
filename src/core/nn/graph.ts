/**
 * A small typed builder for ONNX graphs (opset 18). Every op checks its operand shapes at build
 * time (numbers for fixed dimensions, strings for symbolic ones such as the batch 'B') and
 * records a gradient rule that is itself written in graph ops, so reverse-mode autodiff
 * (autodiff.ts) produces more graph and can be applied again (second derivatives).
 *
 * Element types: float32 (exported models, training) and float64 (finite-difference tests);
 * int64 and bool only as shapes/indices/masks (never differentiated).
 */
import { encodeModel, type AttrValue, type GraphData, type ModelData, type NodeData, type TensorData, ONNX_DTYPE } from './onnx-proto'

export type DType = 'float32' | 'float64' | 'int64' | 'bool'
export type FloatType = 'float32' | 'float64'
export type Dim = number | string
export type Shape = readonly Dim[]

export const OPSET = 18
export const IR_VERSION = 8

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape
  ) {}
  get rank(): number {
    return this.shape.length
  }
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`
  }
}

export type Operand = Tensor | number

/** given the gradients of a node's outputs (undefined = zero), returns those of its inputs */
export type GradRule = (g: Graph, node: GraphNode, gys: (Tensor | undefined)[]) => (Tensor | undefined)[]

export interface GraphNode {
  readonly op: string
  readonly inputs: readonly Tensor[]
  readonly outputs: readonly Tensor[]
  readonly attrs: Record<string, AttrValue>
  readonly grad?: GradRule
  readonly domain?: string
  /** ONNX input names when they differ from inputs (optional inputs left out as '') */
  readonly inputNames?: readonly string[]
}

export class ShapeError extends Error {
  override name = 'ShapeError'
}

function fmt(s: Shape): string {
  return `[${s.join(', ')}]`
}

function isFloat(d: DType): d is FloatType {
  return d === 'float32' || d === 'float64'
}

export function dimEq(a: Dim, b: Dim): boolean {
  return a === b
}

/**
 * whether dimension a is the symbol 'N_or_1' for dimension b = N: N or 1 at run time, so it
 * broadcasts against N and the result is N (the models' sigma[B_or_1], docs/speed.md "One σ for
 * the whole batch")
 */
export function isOrOneOf(a: Dim, b: Dim): boolean {
  return a === `${b}_or_1`
}

/** numpy broadcasting of two static/symbolic shapes; throws ShapeError naming the op */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length)
  const out: Dim[] = []
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!
    if (dimEq(da, db)) out.push(da)
    else if (isOrOneOf(da, db)) out.push(db)
    else if (isOrOneOf(db, da)) out.push(da)
    else if (da === 1) out.push(db)
    else if (db === 1) out.push(da)
    else throw new ShapeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`)
  }
  return out
}

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`)
  return a
}

function elementCount(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

type ConstData = Float32Array | Float64Array | BigInt64Array | Uint8Array

function rawOf(data: ConstData): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
}

/** the graph under construction */
export class Graph {
  readonly nodes: GraphNode[] = []
  readonly inputs: Tensor[] = []
  readonly outputs: { tensor: Tensor; name: string }[] = []
  private readonly inits = new Map<string, TensorData>()
  private readonly declared = new Set<Tensor>()
  private readonly producer = new Map<string, number>()
  private readonly names = new Set<string>()
  private readonly constCache = new Map<string, Tensor>()
  private counter = 0

  constructor(
    readonly name = 'diffmd',
    /** element type of constants created from JS numbers when no operand says otherwise */
    readonly float: FloatType = 'float32'
  ) {}

  // -------------------------------------------------------------- names, inputs, constants

  private fresh(prefix: string): string {
    let n: string
    do n = `${prefix}${this.counter++}`
    while (this.names.has(n))
    this.names.add(n)
    return n
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph: tensor name '${name}' used twice`)
    this.names.add(name)
    return name
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this, this.claim(name), dtype, shape)
    this.inputs.push(t)
    return t
  }

  /** a named constant tensor stored in the model (a parameter of an exported model) */
  initializer(name: string, dtype: DType, shape: readonly number[], data: ConstData): Tensor {
    return this.addInit(this.claim(name), dtype, shape, data)
  }

  private addInit(name: string, dtype: DType, shape: readonly number[], data: ConstData): Tensor {
    if (data.length !== elementCount(shape)) throw new ShapeError(`initializer ${name}: ${data.length} values for shape ${fmt(shape)}`)
    const t = new Tensor(this, name, dtype, shape)
    this.inits.set(t.name, { name: t.name, dtype, dims: [...shape], raw: rawOf(data) })
    return t
  }

  /** a constant float tensor (graph float type unless given) */
  constant(values: ArrayLike<number>, shape: readonly number[], dtype: FloatType = this.float): Tensor {
    const data = dtype === 'float32' ? Float32Array.from(values as ArrayLike<number>) : Float64Array.from(values as ArrayLike<number>)
    return this.addInit(this.fresh('c'), dtype, shape, data)
  }

  scalar(v: number, dtype: FloatType = this.float): Tensor {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : v}`
    let t = this.constCache.get(key)
    if (!t) {
      t = this.constant([v], [], dtype)
      this.constCache.set(key, t)
    }
    return t
  }

  int64s(values: readonly number[]): Tensor {
    const key = `i64:${values.join(',')}`
    let t = this.constCache.get(key)
    if (!t) {
      t = this.addInit(this.fresh('k'), 'int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))))
      this.constCache.set(key, t)
    }
    return t
  }

  /**
   * records t's shape (its symbolic dims included) in the model's value_info, for runtimes' shape
   * inference: onnxruntime gives an output whose leading dim it cannot infer (Reshape with −1,
   * Expand to a run-time shape) a fresh symbolic dim, and every node downstream another one, at a
   * cost that grows with the graph: session creation became quadratic in the node count (57 s for
   * a 9 700-node fused sampler). A declared 'B' stops that at the declared tensor.
   */
  declareShape(t: Tensor): Tensor {
    this.declared.add(t)
    return t
  }

  /** marks a tensor as a graph output under `name` (an Identity node renames it when needed) */
  output(t: Tensor, name: string): Tensor {
    let out = t
    if (t.name !== name) {
      out = new Tensor(this, this.claim(name), t.dtype, t.shape)
      this.push('Identity', [t], [out], {}, (_g, _n, [gy]) => [gy])
    }
    this.outputs.push({ tensor: out, name })
    return out
  }

  isInitializer(t: Tensor): boolean {
    return this.inits.has(t.name)
  }

  /** index of the node producing t, or −1 for inputs and initializers */
  producerIndex(t: Tensor): number {
    return this.producer.get(t.name) ?? -1
  }

  private push(op: string, inputs: Tensor[], outputs: Tensor[], attrs: Record<string, AttrValue>, grad?: GradRule, domain?: string, inputNames?: string[]): void {
    for (const t of inputs) if (t.graph !== this) throw new Error(`${op}: operand ${t.name} belongs to another graph`)
    const node: GraphNode = { op, inputs, outputs, attrs, grad, domain, inputNames }
    for (const o of outputs) this.producer.set(o.name, this.nodes.length)
    this.nodes.push(node)
  }

  /** emits a node with one fresh output of the given type and shape */
  emit(op: string, inputs: Tensor[], dtype: DType, shape: Shape, attrs: Record<string, AttrValue> = {}, grad?: GradRule): Tensor {
    const out = new Tensor(this, this.fresh('t'), dtype, shape)
    this.push(op, inputs, [out], attrs, grad)
    return out
  }

  /**
   * emits a node with several outputs and no shape check or gradient; used when inlining foreign
   * graphs (undefined inputs are ONNX's omitted optional inputs)
   */
  emitRaw(op: string, inputs: (Tensor | undefined)[], outs: { dtype: DType; shape: Shape }[], attrs: Record<string, AttrValue>, domain?: string): Tensor[] {
    const outputs = outs.map((o) => new Tensor(this, this.fresh('t'), o.dtype, o.shape))
    const present = inputs.filter((t): t is Tensor => t !== undefined)
    const names = inputs.some((t) => t === undefined) ? inputs.map((t) => t?.name ?? '') : undefined
    this.push(op, present, outputs, attrs, undefined, domain, names)
    return outputs
  }

  /** an initializer from raw ONNX tensor data (inlined foreign models) */
  initializerRaw(name: string, t: TensorData): Tensor {
    const dt = t.dtype
    if (dt !== 'float32' && dt !== 'float64' && dt !== 'int64' && dt !== 'bool') {
      const tensor = new Tensor(this, this.claim(name), 'float32', t.dims)
      this.inits.set(tensor.name, { ...t, name: tensor.name })
      return tensor
    }
    const tensor = new Tensor(this, this.claim(name), dt, t.dims)
    this.inits.set(tensor.name, { ...t, name: tensor.name })
    return tensor
  }

  private lift(a: Operand, like: Operand): Tensor {
    if (a instanceof Tensor) return a
    const dt = like instanceof Tensor && isFloat(like.dtype) ? like.dtype : this.float
    return this.scalar(a, dt)
  }

  private checkFloat(op: string, ...ts: Tensor[]): void {
    for (const t of ts) if (!isFloat(t.dtype)) throw new ShapeError(`${op}: operand ${t.name} is ${t.dtype}, expected a float tensor`)
    const d0 = ts[0]!.dtype
    for (const t of ts) if (t.dtype !== d0) throw new ShapeError(`${op}: operands mix ${d0} and ${t.dtype}`)
  }

  // -------------------------------------------------------------- broadcasting helpers

  /** sums a gradient of broadcast shape down to `shape` (the operand's shape) */
  reduceTo(gt: Tensor, shape: Shape): Tensor {
    const lead = gt.rank - shape.length
    if (lead < 0) throw new ShapeError(`reduceTo: gradient ${fmt(gt.shape)} has lower rank than ${fmt(shape)}`)
    const keepAxes: number[] = []
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === 1 && gt.shape[i + lead] !== 1) keepAxes.push(i + lead)
    }
    let r = gt
    if (keepAxes.length) r = this.reduceSum(r, keepAxes, true)
    if (lead > 0) r = this.reduceSum(r, Array.from({ length: lead }, (_, i) => i), false)
    return r
  }

  // -------------------------------------------------------------- elementwise binary

  private binary(op: string, a0: Operand, b0: Operand, grad: GradRule): Tensor {
    const a = this.lift(a0, b0)
    const b = this.lift(b0, a0)
    this.checkFloat(op, a, b)
    return this.emit(op, [a, b], a.dtype, broadcastShapes(op, a.shape, b.shape), {}, grad)
  }

  add(a: Operand, b: Operand): Tensor {
    return this.binary('Add', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      return gy ? [g.reduceTo(gy, x.shape), g.reduceTo(gy, y.shape)] : []
    })
  }

  sub(a: Operand, b: Operand): Tensor {
    return this.binary('Sub', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      return gy ? [g.reduceTo(gy, x.shape), g.reduceTo(g.neg(gy), y.shape)] : []
    })
  }

  mul(a: Operand, b: Operand): Tensor {
    return this.binary('Mul', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      return gy ? [g.reduceTo(g.mul(gy, y), x.shape), g.reduceTo(g.mul(gy, x), y.shape)] : []
    })
  }

  div(a: Operand, b: Operand): Tensor {
    return this.binary('Div', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      if (!gy) return []
      const gx = g.div(gy, y)
      // d(x/y)/dy = −x/y² = −(gy/y)·(x/y)
      const gyy = g.neg(g.mul(gx, n.outputs[0]!))
      return [g.reduceTo(gx, x.shape), g.reduceTo(gyy, y.shape)]
    })
  }

  /** a^b (elementwise); the gradient w.r.t. b uses ln a, so only differentiate b where a > 0 */
  pow(a: Operand, b: Operand): Tensor {
    return this.binary('Pow', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      if (!gy) return []
      const gx = g.mul(gy, g.mul(y, g.pow(x, g.sub(y, 1))))
      const gb = g.isInitializer(y) ? undefined : g.reduceTo(g.mul(gy, g.mul(n.outputs[0]!, g.log(x))), y.shape)
      return [g.reduceTo(gx, x.shape), gb]
    })
  }

  max(a: Operand, b: Operand): Tensor {
    return this.binary('Max', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      if (!gy) return []
      const mask = g.greaterOrEqual(x, y)
      const z = g.zerosLike(gy)
      return [g.reduceTo(g.where(mask, gy, z), x.shape), g.reduceTo(g.where(mask, z, gy), y.shape)]
    })
  }

  min(a: Operand, b: Operand): Tensor {
    return this.binary('Min', a, b, (g, n, [gy]) => {
      const [x, y] = n.inputs as [Tensor, Tensor]
      if (!gy) return []
      const mask = g.lessOrEqual(x, y)
      const z = g.zerosLike(gy)
      return [g.reduceTo(g.where(mask, gy, z), x.shape), g.reduceTo(g.where(mask, z, gy), y.shape)]
    })
  }

  // -------------------------------------------------------------- comparisons, masks, casts (no gradient)

  private compare(op: string, a0: Operand, b0: Operand): Tensor {
    const a = this.lift(a0, b0)
    const b = this.lift(b0, a0)
    this.checkFloat(op, a, b)
    return this.emit(op, [a, b], 'bool', broadcastShapes(op, a.shape, b.shape))
  }
  greater(a: Operand, b: Operand): Tensor {
    return this.compare('Greater', a, b)
  }
  less(a: Operand, b: Operand): Tensor {
    return this.compare('Less', a, b)
  }
  greaterOrEqual(a: Operand, b: Operand): Tensor {
    return this.compare('GreaterOrEqual', a, b)
  }
  lessOrEqual(a: Operand, b: Operand): Tensor {
    return this.compare('LessOrEqual', a, b)
  }

  /** where(cond, a, b): a where cond is true, else b (broadcasting over all three) */
  where(cond: Tensor, a0: Operand, b0: Operand): Tensor {
    const a = this.lift(a0, b0)
    const b = this.lift(b0, a0)
    if (cond.dtype !== 'bool') throw new ShapeError(`Where: condition ${cond.name} is ${cond.dtype}, expected bool`)
    this.checkFloat('Where', a, b)
    const shape = broadcastShapes('Where', broadcastShapes('Where', cond.shape, a.shape), b.shape)
    return this.emit('Where', [cond, a, b], a.dtype, shape, {}, (g, n, [gy]) => {
      if (!gy) return []
      const [c, x, y] = n.inputs as [Tensor, Tensor, Tensor]
      const z = g.zerosLike(gy)
      return [undefined, g.reduceTo(g.where(c, gy, z), x.shape), g.reduceTo(g.where(c, z, gy), y.shape)]
    })
  }

  cast(a: Tensor, to: DType): Tensor {
    if (a.dtype === to) return a
    const grad: GradRule | undefined = isFloat(a.dtype) && isFloat(to) ? (g, _n, [gy]) => [gy ? g.cast(gy, a.dtype) : undefined] : undefined
    return this.emit('Cast', [a], to, a.shape, { to: { type: 'int', i: ONNX_DTYPE[to] } }, grad)
  }

  /** zeros with the shape and type of t (Expand of a scalar: no arithmetic on t, so NaN-safe) */
  zerosLike(t: Tensor): Tensor {
    if (!isFloat(t.dtype)) throw new ShapeError(`zerosLike: ${t.name} is ${t.dtype}`)
    return this.expand(this.scalar(0, t.dtype), this.shapeOf(t), t.shape)
  }

  onesLike(t: Tensor): Tensor {
    if (!isFloat(t.dtype)) throw new ShapeError(`onesLike: ${t.name} is ${t.dtype}`)
    return this.expand(this.scalar(1, t.dtype), this.shapeOf(t), t.shape)
  }

  // -------------------------------------------------------------- elementwise unary

  private unary(op: string, a: Tensor, grad: GradRule, attrs: Record<string, AttrValue> = {}): Tensor {
    this.checkFloat(op, a)
    return this.emit(op, [a], a.dtype, a.shape, attrs, grad)
  }

  identity(a: Tensor): Tensor {
    return this.emit('Identity', [a], a.dtype, a.shape, {}, (_g, _n, [gy]) => [gy])
  }
  neg(a: Tensor): Tensor {
    return this.unary('Neg', a, (g, _n, [gy]) => [gy && g.neg(gy)])
  }
  exp(a: Tensor): Tensor {
    return this.unary('Exp', a, (g, n, [gy]) => [gy && g.mul(gy, n.outputs[0]!)])
  }
  log(a: Tensor): Tensor {
    return this.unary('Log', a, (g, n, [gy]) => [gy && g.div(gy, n.inputs[0]!)])
  }
  sqrt(a: Tensor): Tensor {
    return this.unary('Sqrt', a, (g, n, [gy]) => [gy && g.div(g.mul(gy, 0.5), n.outputs[0]!)])
  }
  reciprocal(a: Tensor): Tensor {
    return this.unary('Reciprocal', a, (g, n, [gy]) => {
      const y = n.outputs[0]!
      return [gy && g.neg(g.mul(gy, g.mul(y, y)))]
    })
  }
  sin(a: Tensor): Tensor {
    return this.unary('Sin', a, (g, n, [gy]) => [gy && g.mul(gy, g.cos(n.inputs[0]!))])
  }
  cos(a: Tensor): Tensor {
    return this.unary('Cos', a, (g, n, [gy]) => [gy && g.neg(g.mul(gy, g.sin(n.inputs[0]!)))])
  }
  sigmoid(a: Tensor): Tensor {
    return this.unary('Sigmoid', a, (g, n, [gy]) => {
      const y = n.outputs[0]!
      return [gy && g.mul(gy, g.mul(y, g.sub(1, y)))]
    })
  }
  tanh(a: Tensor): Tensor {
    return this.unary('Tanh', a, (g, n, [gy]) => {
      const y = n.outputs[0]!
      return [gy && g.mul(gy, g.sub(1, g.mul(y, y)))]
    })
  }
  softplus(a: Tensor): Tensor {
    return this.unary('Softplus', a, (g, n, [gy]) => [gy && g.mul(gy, g.sigmoid(n.inputs[0]!))])
  }
  abs(a: Tensor): Tensor {
    return this.unary('Abs', a, (g, n, [gy]) => [gy && g.mul(gy, g.sign(n.inputs[0]!))])
  }
  /** sign(a) ∈ {−1, 0, 1}; derivative zero almost everywhere */
  sign(a: Tensor): Tensor {
    return this.unary('Sign', a, (g, n, [gy]) => [gy && g.zerosLike(n.inputs[0]!)])
  }

  // composites
  square(a: Tensor): Tensor {
    return this.mul(a, a)
  }
  /** SiLU (swish): a·σ(a) */
  silu(a: Tensor): Tensor {
    return this.mul(a, this.sigmoid(a))
  }

  // -------------------------------------------------------------- linear algebra

  /** a[M,K] @ b[K,N] → [M,N] */
  matmul(a: Tensor, b: Tensor): Tensor {
    this.checkFloat('MatMul', a, b)
    if (a.rank !== 2 || b.rank !== 2) throw new ShapeError(`MatMul: expected rank-2 operands, got ${fmt(a.shape)} @ ${fmt(b.shape)}`)
    if (!dimEq(a.shape[1]!, b.shape[0]!)) throw new ShapeError(`MatMul: inner dimensions differ, ${fmt(a.shape)} @ ${fmt(b.shape)}`)
    return this.emit('MatMul', [a, b], a.dtype, [a.shape[0]!, b.shape[1]!], {}, (g, n, [gy]) => {
      if (!gy) return []
      const [x, w] = n.inputs as [Tensor, Tensor]
      return [g.matmul(gy, g.transpose(w, [1, 0])), g.matmul(g.transpose(x, [1, 0]), gy)]
    })
  }

  /**
   * a·b + c (ONNX Gemm without transposes or scaling), c broadcast to [rows of a, columns of b]:
   * one pass where MatMul then Add would make two when onnxruntime cannot fuse them itself (it
   * fuses only a bias whose shape it can check, not a c of a symbolic 'N_or_1' size).
   */
  gemm(a: Tensor, b: Tensor, c: Tensor): Tensor {
    this.checkFloat('Gemm', a, b, c)
    if (a.rank !== 2 || b.rank !== 2) throw new ShapeError(`Gemm: expected rank-2 operands, got ${fmt(a.shape)} @ ${fmt(b.shape)}`)
    if (!dimEq(a.shape[1]!, b.shape[0]!)) throw new ShapeError(`Gemm: inner dimensions differ, ${fmt(a.shape)} @ ${fmt(b.shape)}`)
    const out: Dim[] = [a.shape[0]!, b.shape[1]!]
    const bc = broadcastShapes('Gemm', out, c.shape)
    if (c.rank > 2 || bc.some((d, i) => !dimEq(d, out[i]!))) throw new ShapeError(`Gemm: c ${fmt(c.shape)} does not broadcast to ${fmt(out)}`)
    return this.emit('Gemm', [a, b, c], a.dtype, out, {}, (g, n, [gy]) => {
      if (!gy) return []
      const [x, w, cc] = n.inputs as [Tensor, Tensor, Tensor]
      return [g.matmul(gy, g.transpose(w, [1, 0])), g.matmul(g.transpose(x, [1, 0]), gy), g.reduceTo(gy, cc.shape)]
    })
  }

  transpose(a: Tensor, perm: number[]): Tensor {
    if (perm.length !== a.rank || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
      throw new ShapeError(`Transpose: perm [${perm}] is not a permutation of rank ${a.rank}`)
    }
    const inv = new Array<number>(perm.length)
    perm.forEach((p, i) => (inv[p] = i))
    return this.emit('Transpose', [a], a.dtype, perm.map((p) => a.shape[p]!), { perm: { type: 'ints', ints: perm } }, (g, _n, [gy]) => [
      gy && g.transpose(gy, inv),
    ])
  }

  // -------------------------------------------------------------- reductions

  reduceSum(a: Tensor, axes: number[], keepdims = false): Tensor {
    this.checkFloat('ReduceSum', a)
    const ax = [...new Set(axes.map((x) => normAxis(x, a.rank, 'ReduceSum')))].sort((x, y) => x - y)
    if (ax.length === 0) throw new ShapeError('ReduceSum: no axes given')
    const shape: Dim[] = []
    a.shape.forEach((d, i) => {
      if (!ax.includes(i)) shape.push(d)
      else if (keepdims) shape.push(1)
    })
    return this.emit('ReduceSum', [a, this.int64s(ax)], a.dtype, shape, { keepdims: { type: 'int', i: keepdims ? 1 : 0 } }, (g, n, [gy]) => {
      if (!gy) return []
      const x = n.inputs[0]!
      const gk = keepdims ? gy : g.unsqueeze(gy, ax)
      return [g.expand(gk, g.shapeOf(x), x.shape)]
    })
  }

  /** mean over axes; the count is read at run time, so symbolic axes (the batch) work */
  reduceMean(a: Tensor, axes: number[], keepdims = false): Tensor {
    this.checkFloat('ReduceMean', a)
    const ax = [...new Set(axes.map((x) => normAxis(x, a.rank, 'ReduceMean')))].sort((x, y) => x - y)
    const shape: Dim[] = []
    a.shape.forEach((d, i) => {
      if (!ax.includes(i)) shape.push(d)
      else if (keepdims) shape.push(1)
    })
    return this.emit('ReduceMean', [a, this.int64s(ax)], a.dtype, shape, { keepdims: { type: 'int', i: keepdims ? 1 : 0 } }, (g, n, [gy]) => {
      if (!gy) return []
      const x = n.inputs[0]!
      const y = n.outputs[0]!
      const gk = keepdims ? gy : g.unsqueeze(gy, ax)
      // 1/count = size(y)/size(x)
      const ratio = g.div(g.cast(g.size(y), x.dtype), g.cast(g.size(x), x.dtype))
      return [g.mul(g.expand(gk, g.shapeOf(x), x.shape), ratio)]
    })
  }

  /** sum of all elements → scalar */
  sumAll(a: Tensor): Tensor {
    return a.rank === 0 ? a : this.reduceSum(a, a.shape.map((_, i) => i), false)
  }

  // -------------------------------------------------------------- shape ops

  shapeOf(a: Tensor): Tensor {
    return this.emit('Shape', [a], 'int64', [a.rank])
  }

  size(a: Tensor): Tensor {
    return this.emit('Size', [a], 'int64', [])
  }

  /** Expand a to the run-time shape `shape` (int64[rank]); `outShape` is its build-time form */
  expand(a: Tensor, shape: Tensor, outShape: Shape): Tensor {
    if (shape.dtype !== 'int64' || shape.rank !== 1) throw new ShapeError(`Expand: shape operand ${shape.name} must be int64[rank]`)
    const out = broadcastShapes('Expand', a.shape, outShape)
    if (out.length !== outShape.length || out.some((d, i) => !dimEq(d, outShape[i]!))) {
      throw new ShapeError(`Expand: ${fmt(a.shape)} does not expand to ${fmt(outShape)}`)
    }
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, n, [gy]) => [gy && g.reduceTo(gy, n.inputs[0]!.shape)] : undefined
    return this.declareSymbolic(this.emit('Expand', [a, shape], a.dtype, outShape, {}, grad))
  }

  expandAs(a: Tensor, like: Tensor): Tensor {
    return this.expand(a, this.shapeOf(like), broadcastShapes('Expand', a.shape, like.shape))
  }

  /**
   * Reshape to `shape` (ONNX rules: 0 copies the input dimension, one −1 is inferred). The
   * build-time shape keeps symbolic dimensions that are copied with 0.
   */
  reshape(a: Tensor, shape: number[]): Tensor {
    const out: Dim[] = []
    let infer = -1
    let known = 1
    shape.forEach((d, i) => {
      if (d === 0) {
        if (i >= a.rank) throw new ShapeError(`Reshape: 0 at position ${i} but input ${fmt(a.shape)} has rank ${a.rank}`)
        out.push(a.shape[i]!)
      } else if (d === -1) {
        if (infer >= 0) throw new ShapeError('Reshape: more than one −1')
        infer = i
        out.push(-1)
      } else if (d > 0 && Number.isInteger(d)) out.push(d)
      else throw new ShapeError(`Reshape: bad dimension ${d}`)
    })
    for (let i = 0; i < out.length; i++) if (i !== infer && typeof out[i] === 'number') known *= out[i] as number
    const syms = (s: Shape) => s.filter((d, i) => typeof d === 'string' && !(s === out && i === infer)).map(String).sort()
    const inSyms = syms(a.shape)
    const outSyms = syms(out)
    const inKnown = elementCount(a.shape.filter((d): d is number => typeof d === 'number'))
    const sameSyms = inSyms.length === outSyms.length && inSyms.every((s, i) => s === outSyms[i])
    const bad = () => new ShapeError(`Reshape: ${fmt(a.shape)} cannot become [${shape.join(', ')}]`)
    if (infer >= 0) {
      if (sameSyms) {
        if (inKnown % known !== 0) throw bad()
        out[infer] = inKnown / known
      } else if (outSyms.length === 0 && inSyms.length === 1 && inKnown % known === 0) {
        // the one symbolic dimension folds into the −1 (e.g. [B, 3] → [-1] gives 'B*3')
        out[infer] = inKnown === known ? inSyms[0]! : `${inSyms[0]}*${inKnown / known}`
      } else throw bad()
    } else if (!sameSyms || inKnown !== known) throw bad()
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, n, [gy]) => [gy && g.reshapeLike(gy, n.inputs[0]!)] : undefined
    const r = this.emit('Reshape', [a, this.int64s(shape)], a.dtype, out, {}, grad)
    return infer >= 0 ? this.declareSymbolic(r) : r
  }

  /** declareShape for a tensor with a symbolic dim that a runtime cannot infer (plain names only, not 'B*3') */
  private declareSymbolic(t: Tensor): Tensor {
    const syms = t.shape.filter((d): d is string => typeof d === 'string')
    return syms.length > 0 && syms.every((d) => /^[A-Za-z_]\w*$/.test(d)) ? this.declareShape(t) : t
  }

  /** reshape a to the run-time shape of `like` (used by gradients) */
  reshapeLike(a: Tensor, like: Tensor): Tensor {
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, n, [gy]) => [gy && g.reshapeLike(gy, n.inputs[0]!)] : undefined
    return this.emit('Reshape', [a, this.shapeOf(like)], a.dtype, like.shape, {}, grad)
  }

  unsqueeze(a: Tensor, axes: number[]): Tensor {
    const rank = a.rank + axes.length
    const ax = axes.map((x) => normAxis(x, rank, 'Unsqueeze')).sort((x, y) => x - y)
    const out: Dim[] = []
    let j = 0
    for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : a.shape[j++]!)
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, n, [gy]) => [gy && g.squeeze(gy, ax)] : undefined
    return this.emit('Unsqueeze', [a, this.int64s(ax)], a.dtype, out, {}, grad)
  }

  squeeze(a: Tensor, axes: number[]): Tensor {
    const ax = axes.map((x) => normAxis(x, a.rank, 'Squeeze'))
    for (const i of ax) if (a.shape[i] !== 1) throw new ShapeError(`Squeeze: dimension ${i} of ${fmt(a.shape)} is not 1`)
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, _n, [gy]) => [gy && g.unsqueeze(gy, ax)] : undefined
    return this.emit('Squeeze', [a, this.int64s(ax)], a.dtype, a.shape.filter((_, i) => !ax.includes(i)), {}, grad)
  }

  concat(ts: Tensor[], axis: number): Tensor {
    if (ts.length === 0) throw new ShapeError('Concat: no operands')
    const t0 = ts[0]!
    const ax = normAxis(axis, t0.rank, 'Concat')
    this.checkFloat('Concat', ...ts)
    let total: Dim = 0
    for (const t of ts) {
      if (t.rank !== t0.rank) throw new ShapeError(`Concat: ranks differ (${fmt(t0.shape)} vs ${fmt(t.shape)})`)
      t.shape.forEach((d, i) => {
        if (i !== ax && !dimEq(d, t0.shape[i]!)) throw new ShapeError(`Concat: ${fmt(t0.shape)} and ${fmt(t.shape)} differ off axis ${ax}`)
      })
      const d = t.shape[ax]!
      if (typeof d !== 'number' || typeof total !== 'number') throw new ShapeError(`Concat: axis ${ax} must have fixed sizes (got ${fmt(t.shape)})`)
      total += d
    }
    const shape = t0.shape.map((d, i) => (i === ax ? total : d))
    return this.emit('Concat', ts, t0.dtype, shape, { axis: { type: 'int', i: ax } }, (g, n, [gy]) => {
      if (!gy) return []
      let off = 0
      return n.inputs.map((t) => {
        const len = t.shape[ax] as number
        const s = g.slice(gy, [off], [off + len], [ax])
        off += len
        return s
      })
    })
  }

  /** static slice along axes with fixed sizes (steps 1) */
  slice(a: Tensor, starts: number[], ends: number[], axes: number[]): Tensor {
    const ax = axes.map((x) => normAxis(x, a.rank, 'Slice'))
    const shape = [...a.shape]
    const pads = new Array<number>(2 * a.rank).fill(0)
    ax.forEach((i, k) => {
      const d = a.shape[i]!
      if (typeof d !== 'number') throw new ShapeError(`Slice: axis ${i} of ${fmt(a.shape)} is symbolic`)
      const s = starts[k]!
      const e = Math.min(ends[k]!, d)
      if (!(s >= 0 && e > s)) throw new ShapeError(`Slice: range [${s}, ${ends[k]}) empty or negative on axis ${i} (size ${d})`)
      shape[i] = e - s
      pads[i] = s
      pads[a.rank + i] = d - e
    })
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, _n, [gy]) => [gy && g.pad(gy, pads)] : undefined
    return this.emit('Slice', [a, this.int64s(starts), this.int64s(ends), this.int64s(ax)], a.dtype, shape, {}, grad)
  }

  /** zero padding; pads = [begin_0 … begin_{r−1}, end_0 … end_{r−1}] (only on fixed axes) */
  pad(a: Tensor, pads: number[]): Tensor {
    if (pads.length !== 2 * a.rank) throw new ShapeError(`Pad: ${pads.length} pads for rank ${a.rank}`)
    const shape = a.shape.map((d, i) => {
      const p = pads[i]! + pads[a.rank + i]!
      if (p === 0) return d
      if (typeof d !== 'number') throw new ShapeError(`Pad: axis ${i} of ${fmt(a.shape)} is symbolic`)
      return d + p
    })
    const starts: number[] = []
    const ends: number[] = []
    const axes: number[] = []
    a.shape.forEach((d, i) => {
      if (pads[i]! + pads[a.rank + i]! !== 0) {
        starts.push(pads[i]!)
        ends.push(pads[i]! + (d as number))
        axes.push(i)
      }
    })
    const grad: GradRule | undefined = isFloat(a.dtype) ? (g, _n, [gy]) => [gy && (axes.length ? g.slice(gy, starts, ends, axes) : gy)] : undefined
    return this.emit('Pad', [a, this.int64s(pads)], a.dtype, shape, { mode: { type: 'string', s: 'constant' } }, grad)
  }

  // -------------------------------------------------------------- export

  /** the ONNX graph; nodes that no output depends on are dropped, and so are unused constants */
  toGraphData(): GraphData {
    const needed = new Set<string>(this.outputs.map((o) => o.tensor.name))
    const keep: boolean[] = new Array<boolean>(this.nodes.length).fill(false)
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!
      if (n.outputs.some((o) => needed.has(o.name))) {
        keep[i] = true
        for (const t of n.inputs) needed.add(t.name)
      }
    }
    const nodes: NodeData[] = []
    this.nodes.forEach((n, i) => {
      if (!keep[i]) return
      const nd: NodeData = { opType: n.op, inputs: n.inputNames ? [...n.inputNames] : n.inputs.map((t) => t.name), outputs: n.outputs.map((t) => t.name), name: `n${i}`, attrs: n.attrs }
      if (n.domain) nd.domain = n.domain
      nodes.push(nd)
    })
    const vi = (t: Tensor, name = t.name) => ({ name, elemType: ONNX_DTYPE[t.dtype], shape: [...t.shape] })
    const ends = new Set([...this.inputs.map((t) => t.name), ...this.outputs.map((o) => o.name)])
    const valueInfo = [...this.declared].filter((t) => needed.has(t.name) && !ends.has(t.name)).map((t) => vi(t))
    return {
      name: this.name,
      nodes,
      initializers: [...this.inits.values()].filter((t) => needed.has(t.name)),
      inputs: this.inputs.map((t) => vi(t)),
      outputs: this.outputs.map((o) => vi(o.tensor, o.name)),
      ...(valueInfo.length > 0 ? { valueInfo } : {}),
    }
  }

  toModel(opts: { producerVersion?: string; metadata?: Record<string, string>; docString?: string; opset?: number } = {}): ModelData {
    if (this.outputs.length === 0) throw new Error('graph: no outputs')
    const domains = new Set(['', ...this.nodes.map((n) => n.domain ?? '')])
    const opset = opts.opset ?? OPSET
    return {
      // the IR version that introduced the opset (onnx/helper.py VERSION_TABLE)
      irVersion: opset <= 18 ? IR_VERSION : opset <= 20 ? 9 : opset <= 22 ? 10 : 11,
      opsets: [...domains].map((d) => ({ domain: d, version: d === '' ? opset : 1 })),
      producerName: 'diffmd-studio',
      producerVersion: opts.producerVersion ?? '',
      docString: opts.docString,
      graph: this.toGraphData(),
      metadata: opts.metadata ?? {},
    }
  }

  toBytes(opts?: { producerVersion?: string; metadata?: Record<string, string>; docString?: string; opset?: number }): Uint8Array {
    return encodeModel(this.toModel(opts))
  }
}
