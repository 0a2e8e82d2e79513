/**
 * Reverse-mode automatic differentiation over a Graph. The gradient is built from the same graph
 * ops (each op's rule in graph.ts), appended to the same graph, so it can be exported, run, and
 * differentiated again (an energy model is trained through s = −∇ₓE: a second derivative).
 */
import { Graph, Tensor, ShapeError } from './graph'

function isFloatTensor(t: Tensor): boolean {
  return t.dtype === 'float32' || t.dtype === 'float64'
}

/**
 * ∂(⟨seed, y⟩)/∂xs for each x in xs. Without a seed, y must be a scalar (seed 1).
 * Inputs y does not depend on get zeros of their shape.
 */
export function gradients(y: Tensor, xs: Tensor[], seed?: Tensor): Tensor[] {
  const g: Graph = y.graph
  if (!isFloatTensor(y)) throw new ShapeError(`gradients: ${y.name} is ${y.dtype}, not a float tensor`)
  for (const x of xs) {
    if (x.graph !== g) throw new Error(`gradients: ${x.name} belongs to another graph`)
    if (!isFloatTensor(x)) throw new ShapeError(`gradients: ${x.name} is ${x.dtype}, not a float tensor`)
  }
  if (!seed) {
    if (y.rank !== 0) throw new ShapeError(`gradients: ${y.name} has shape [${y.shape.join(', ')}]; give a seed or reduce it to a scalar`)
    seed = g.scalar(1, y.dtype as 'float32' | 'float64')
  } else if (seed.dtype !== y.dtype || seed.rank !== y.rank || seed.shape.some((d, i) => d !== y.shape[i])) {
    throw new ShapeError(`gradients: seed ${seed} does not match ${y}`)
  }

  const end = g.producerIndex(y)
  const nodes = g.nodes.slice(0, end + 1)

  // forward: tensors that depend on some x
  const dep = new Set<string>(xs.map((x) => x.name))
  for (const n of nodes) {
    if (n.inputs.some((t) => dep.has(t.name))) for (const o of n.outputs) if (isFloatTensor(o)) dep.add(o.name)
  }

  const grads = new Map<string, Tensor>()
  const acc = (t: Tensor, gt: Tensor): void => {
    const prev = grads.get(t.name)
    grads.set(t.name, prev ? g.add(prev, gt) : gt)
  }
  if (dep.has(y.name)) acc(y, seed)

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!
    const gys = n.outputs.map((o) => grads.get(o.name))
    if (gys.every((v) => v === undefined)) continue
    if (!n.inputs.some((t) => dep.has(t.name))) continue
    if (!n.grad) throw new Error(`gradients: op ${n.op} (producing ${n.outputs[0]?.name}) has no gradient rule`)
    const gins = n.grad(g, n, gys)
    n.inputs.forEach((t, k) => {
      const gt = gins[k]
      if (gt && dep.has(t.name)) {
        if (gt.shape.length !== t.shape.length || gt.shape.some((d, j) => d !== t.shape[j])) {
          throw new ShapeError(`gradients: rule of ${n.op} gave [${gt.shape.join(', ')}] for ${t}`)
        }
        acc(t, gt)
      }
    })
    // free memory of consumed gradients of intermediate tensors
    for (const o of n.outputs) if (!xs.some((x) => x.name === o.name)) grads.delete(o.name)
  }
  return xs.map((x) => grads.get(x.name) ?? g.zerosLike(x))
}
