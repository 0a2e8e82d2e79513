/**
 * ONNX ModelProto encoding and decoding for the subset of onnx.proto the app needs
 * (graph, nodes, attributes, tensors with raw_data, value infos with symbolic shapes, opsets,
 * metadata). Uses protobufjs' minimal Writer/Reader: no reflection, hence no runtime code
 * generation (`new Function`), which a renderer worker under a strict CSP would refuse.
 * Field numbers are those of onnx/onnx.proto (IR version 8+).
 */
import protobuf from 'protobufjs/minimal'

const { Writer, Reader } = protobuf
type PbWriter = protobuf.Writer
type PbReader = protobuf.Reader

/** ONNX TensorProto.DataType codes for the element types the app uses */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 } as const
export type OnnxElemType = keyof typeof ONNX_DTYPE
const DTYPE_BY_CODE = new Map<number, OnnxElemType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as OnnxElemType]))

/** the element type of an ONNX TensorProto.DataType code, or undefined for codes the app does not use */
export function elemTypeOfCode(code: number): OnnxElemType | undefined {
  return DTYPE_BY_CODE.get(code)
}

export interface TensorData {
  name: string
  dtype: OnnxElemType
  dims: number[]
  /** little-endian element bytes (raw_data) */
  raw: Uint8Array
}

export type AttrValue =
  | { type: 'float'; f: number }
  | { type: 'int'; i: number }
  | { type: 'string'; s: string }
  | { type: 'tensor'; t: TensorData }
  | { type: 'floats'; floats: number[] }
  | { type: 'ints'; ints: number[] }
  | { type: 'graph'; g: GraphData }

export interface NodeData {
  opType: string
  inputs: string[]
  outputs: string[]
  name?: string
  domain?: string
  attrs: Record<string, AttrValue>
}

export interface ValueInfo {
  name: string
  /** ONNX element type code (see ONNX_DTYPE); 0 when unknown */
  elemType: number
  /** undefined = unknown rank; a string dim is symbolic; null = unknown dim */
  shape?: (number | string | null)[]
}

export interface GraphData {
  name: string
  nodes: NodeData[]
  initializers: TensorData[]
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  /** shapes of intermediate tensors (ONNX value_info), for runtimes' shape inference */
  valueInfo?: ValueInfo[]
}

export interface ModelData {
  irVersion: number
  opsets: { domain: string; version: number }[]
  producerName: string
  producerVersion: string
  docString?: string
  graph: GraphData
  metadata: Record<string, string>
}

// ---------------------------------------------------------------- encoding

const LEN = 2
const VARINT = 0
const FIXED32 = 5
const tag = (field: number, wire: number): number => ((field << 3) | wire) >>> 0

function writeString(w: PbWriter, field: number, s: string): void {
  w.uint32(tag(field, LEN)).string(s)
}

function writeTensor(w: PbWriter, t: TensorData): void {
  if (t.dims.length > 0) {
    w.uint32(tag(1, LEN)).fork()
    for (const d of t.dims) w.int64(d)
    w.ldelim()
  }
  w.uint32(tag(2, VARINT)).int32(ONNX_DTYPE[t.dtype])
  if (t.name) writeString(w, 8, t.name)
  w.uint32(tag(9, LEN)).bytes(t.raw)
}

function writeAttr(w: PbWriter, name: string, a: AttrValue): void {
  writeString(w, 1, name)
  switch (a.type) {
    case 'float':
      w.uint32(tag(2, FIXED32)).float(a.f)
      w.uint32(tag(20, VARINT)).int32(1)
      break
    case 'int':
      w.uint32(tag(3, VARINT)).int64(a.i)
      w.uint32(tag(20, VARINT)).int32(2)
      break
    case 'string':
      w.uint32(tag(4, LEN)).bytes(new TextEncoder().encode(a.s))
      w.uint32(tag(20, VARINT)).int32(3)
      break
    case 'tensor':
      w.uint32(tag(5, LEN)).fork()
      writeTensor(w, a.t)
      w.ldelim()
      w.uint32(tag(20, VARINT)).int32(4)
      break
    case 'graph':
      w.uint32(tag(6, LEN)).fork()
      writeGraph(w, a.g)
      w.ldelim()
      w.uint32(tag(20, VARINT)).int32(5)
      break
    case 'floats':
      w.uint32(tag(7, LEN)).fork()
      for (const f of a.floats) w.float(f)
      w.ldelim()
      w.uint32(tag(20, VARINT)).int32(6)
      break
    case 'ints':
      w.uint32(tag(8, LEN)).fork()
      for (const i of a.ints) w.int64(i)
      w.ldelim()
      w.uint32(tag(20, VARINT)).int32(7)
      break
  }
}

function writeValueInfo(w: PbWriter, v: ValueInfo): void {
  writeString(w, 1, v.name)
  w.uint32(tag(2, LEN)).fork() // TypeProto
  w.uint32(tag(1, LEN)).fork() // tensor_type
  w.uint32(tag(1, VARINT)).int32(v.elemType)
  if (v.shape) {
    w.uint32(tag(2, LEN)).fork() // TensorShapeProto
    for (const d of v.shape) {
      w.uint32(tag(1, LEN)).fork()
      if (typeof d === 'number') w.uint32(tag(1, VARINT)).int64(d)
      else if (typeof d === 'string') writeString(w, 2, d)
      w.ldelim()
    }
    w.ldelim()
  }
  w.ldelim()
  w.ldelim()
}

function writeNode(w: PbWriter, n: NodeData): void {
  for (const i of n.inputs) writeString(w, 1, i)
  for (const o of n.outputs) writeString(w, 2, o)
  if (n.name) writeString(w, 3, n.name)
  writeString(w, 4, n.opType)
  for (const [k, a] of Object.entries(n.attrs)) {
    w.uint32(tag(5, LEN)).fork()
    writeAttr(w, k, a)
    w.ldelim()
  }
  if (n.domain) writeString(w, 7, n.domain)
}

function writeGraph(w: PbWriter, g: GraphData): void {
  for (const n of g.nodes) {
    w.uint32(tag(1, LEN)).fork()
    writeNode(w, n)
    w.ldelim()
  }
  writeString(w, 2, g.name)
  for (const t of g.initializers) {
    w.uint32(tag(5, LEN)).fork()
    writeTensor(w, t)
    w.ldelim()
  }
  for (const v of g.inputs) {
    w.uint32(tag(11, LEN)).fork()
    writeValueInfo(w, v)
    w.ldelim()
  }
  for (const v of g.outputs) {
    w.uint32(tag(12, LEN)).fork()
    writeValueInfo(w, v)
    w.ldelim()
  }
  for (const v of g.valueInfo ?? []) {
    w.uint32(tag(13, LEN)).fork()
    writeValueInfo(w, v)
    w.ldelim()
  }
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelData): Uint8Array {
  const w = Writer.create()
  w.uint32(tag(1, VARINT)).int64(m.irVersion)
  writeString(w, 2, m.producerName)
  writeString(w, 3, m.producerVersion)
  if (m.docString) writeString(w, 6, m.docString)
  w.uint32(tag(7, LEN)).fork()
  writeGraph(w, m.graph)
  w.ldelim()
  for (const o of m.opsets) {
    w.uint32(tag(8, LEN)).fork()
    if (o.domain) writeString(w, 1, o.domain)
    w.uint32(tag(2, VARINT)).int64(o.version)
    w.ldelim()
  }
  for (const [k, v] of Object.entries(m.metadata)) {
    w.uint32(tag(14, LEN)).fork()
    writeString(w, 1, k)
    writeString(w, 2, v)
    w.ldelim()
  }
  const out = w.finish()
  // a Node Buffer from the pool would share its ArrayBuffer: hand out a standalone copy
  return new Uint8Array(out)
}

// ---------------------------------------------------------------- decoding

function toNum(v: number | { toNumber(): number } | { low: number; high: number }): number {
  if (typeof v === 'number') return v
  if ('toNumber' in v) return v.toNumber()
  return v.high * 4294967296 + (v.low >>> 0)
}

function sub(r: PbReader): PbReader {
  const len = r.uint32()
  const out = Reader.create(r.buf.subarray(r.pos, r.pos + len))
  r.pos += len
  return out
}

function readPackedOrOne(r: PbReader, wire: number, one: (rr: PbReader) => number, into: number[]): void {
  if (wire === LEN) {
    const s = sub(r)
    while (s.pos < s.len) into.push(one(s))
  } else into.push(one(r))
}
const rdInt64 = (rr: PbReader): number => toNum(rr.int64())
const rdFloat = (rr: PbReader): number => rr.float()
const rdDouble = (rr: PbReader): number => rr.double()
const rdInt32 = (rr: PbReader): number => rr.int32()

const decoder = new TextDecoder()

function rawFromTyped(dtype: OnnxElemType, values: number[]): Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(values).buffer)
    case 'float64':
      return new Uint8Array(Float64Array.from(values).buffer)
    case 'int64':
      return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer)
    case 'int32':
      return new Uint8Array(Int32Array.from(values).buffer)
    case 'bool':
    case 'uint8':
      return Uint8Array.from(values)
    case 'int8':
      return new Uint8Array(Int8Array.from(values).buffer)
    default:
      throw new Error(`decodeModel: typed data of ${dtype} tensors is not supported`)
  }
}

function readTensor(r: PbReader): TensorData {
  const dims: number[] = []
  let code = 0
  let name = ''
  let raw: Uint8Array | undefined
  const f32: number[] = []
  const i32: number[] = []
  const i64: number[] = []
  const f64: number[] = []
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    const wire = t & 7
    if (field === 1) readPackedOrOne(r, wire, rdInt64, dims)
    else if (field === 2) code = r.int32()
    else if (field === 4) readPackedOrOne(r, wire, rdFloat, f32)
    else if (field === 5) readPackedOrOne(r, wire, rdInt32, i32)
    else if (field === 7) readPackedOrOne(r, wire, rdInt64, i64)
    else if (field === 8) name = r.string()
    else if (field === 9) raw = new Uint8Array(r.bytes())
    else if (field === 10) readPackedOrOne(r, wire, rdDouble, f64)
    else if (field === 14) throw new Error(`decodeModel: tensor '${name}' keeps its data outside the file (external data is not supported)`)
    else r.skipType(wire)
  }
  const dtype = DTYPE_BY_CODE.get(code)
  if (!dtype) throw new Error(`decodeModel: tensor '${name}' has unsupported element type ${code}`)
  if (!raw) {
    const vals = dtype === 'float32' ? f32 : dtype === 'float64' ? f64 : dtype === 'int64' ? i64 : i32
    raw = rawFromTyped(dtype, vals)
  }
  return { name, dtype, dims, raw }
}

function readAttr(r: PbReader): [string, AttrValue | undefined] {
  let name = ''
  let type = 0
  let f = 0
  let i = 0
  let s = ''
  let t: TensorData | undefined
  let g: GraphData | undefined
  const floats: number[] = []
  const ints: number[] = []
  while (r.pos < r.len) {
    const tg = r.uint32()
    const field = tg >>> 3
    const wire = tg & 7
    if (field === 1) name = r.string()
    else if (field === 2) f = r.float()
    else if (field === 3) i = toNum(r.int64())
    else if (field === 4) s = decoder.decode(r.bytes())
    else if (field === 5) t = readTensor(sub(r))
    else if (field === 6) g = readGraph(sub(r))
    else if (field === 7) readPackedOrOne(r, wire, rdFloat, floats)
    else if (field === 8) readPackedOrOne(r, wire, rdInt64, ints)
    else if (field === 20) type = r.int32()
    else r.skipType(wire)
  }
  switch (type) {
    case 1:
      return [name, { type: 'float', f }]
    case 2:
      return [name, { type: 'int', i }]
    case 3:
      return [name, { type: 'string', s }]
    case 4:
      return [name, t ? { type: 'tensor', t } : undefined]
    case 5:
      return [name, g ? { type: 'graph', g } : undefined]
    case 6:
      return [name, { type: 'floats', floats }]
    case 7:
      return [name, { type: 'ints', ints }]
    default:
      return [name, undefined]
  }
}

function readNode(r: PbReader): NodeData {
  const n: NodeData = { opType: '', inputs: [], outputs: [], attrs: {} }
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    if (field === 1) n.inputs.push(r.string())
    else if (field === 2) n.outputs.push(r.string())
    else if (field === 3) n.name = r.string()
    else if (field === 4) n.opType = r.string()
    else if (field === 5) {
      const [k, v] = readAttr(sub(r))
      if (v) n.attrs[k] = v
    } else if (field === 7) n.domain = r.string()
    else r.skipType(t & 7)
  }
  return n
}

function readValueInfo(r: PbReader): ValueInfo {
  const v: ValueInfo = { name: '', elemType: 0 }
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    if (field === 1) v.name = r.string()
    else if (field === 2) {
      const tp = sub(r)
      while (tp.pos < tp.len) {
        const t2 = tp.uint32()
        if (t2 >>> 3 !== 1) {
          tp.skipType(t2 & 7)
          continue
        }
        const tt = sub(tp)
        while (tt.pos < tt.len) {
          const t3 = tt.uint32()
          const f3 = t3 >>> 3
          if (f3 === 1) v.elemType = tt.int32()
          else if (f3 === 2) {
            const sh = sub(tt)
            const dims: (number | string | null)[] = []
            while (sh.pos < sh.len) {
              const t4 = sh.uint32()
              if (t4 >>> 3 !== 1) {
                sh.skipType(t4 & 7)
                continue
              }
              const dm = sub(sh)
              let dim: number | string | null = null
              while (dm.pos < dm.len) {
                const t5 = dm.uint32()
                if (t5 >>> 3 === 1) dim = toNum(dm.int64())
                else if (t5 >>> 3 === 2) dim = dm.string()
                else dm.skipType(t5 & 7)
              }
              dims.push(dim)
            }
            v.shape = dims
          } else tt.skipType(t3 & 7)
        }
      }
    } else r.skipType(t & 7)
  }
  return v
}

function readGraph(r: PbReader): GraphData {
  const g: GraphData = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] }
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    if (field === 1) g.nodes.push(readNode(sub(r)))
    else if (field === 2) g.name = r.string()
    else if (field === 5) g.initializers.push(readTensor(sub(r)))
    else if (field === 11) g.inputs.push(readValueInfo(sub(r)))
    else if (field === 12) g.outputs.push(readValueInfo(sub(r)))
    else if (field === 13) (g.valueInfo ??= []).push(readValueInfo(sub(r)))
    else r.skipType(t & 7)
  }
  return g
}

/** Parses ONNX protobuf bytes (the fields listed in ModelData; others are skipped). */
export function decodeModel(bytes: Uint8Array): ModelData {
  const r = Reader.create(bytes)
  const m: ModelData = { irVersion: 0, opsets: [], producerName: '', producerVersion: '', graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] }, metadata: {} }
  let sawGraph = false
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    if (field === 1) m.irVersion = toNum(r.int64())
    else if (field === 2) m.producerName = r.string()
    else if (field === 3) m.producerVersion = r.string()
    else if (field === 6) m.docString = r.string()
    else if (field === 7) {
      m.graph = readGraph(sub(r))
      sawGraph = true
    } else if (field === 8) {
      const o = sub(r)
      let domain = ''
      let version = 0
      while (o.pos < o.len) {
        const t2 = o.uint32()
        if (t2 >>> 3 === 1) domain = o.string()
        else if (t2 >>> 3 === 2) version = toNum(o.int64())
        else o.skipType(t2 & 7)
      }
      m.opsets.push({ domain, version })
    } else if (field === 14) {
      const e = sub(r)
      let k = ''
      let v = ''
      while (e.pos < e.len) {
        const t2 = e.uint32()
        if (t2 >>> 3 === 1) k = e.string()
        else if (t2 >>> 3 === 2) v = e.string()
        else e.skipType(t2 & 7)
      }
      m.metadata[k] = v
    } else r.skipType(t & 7)
  }
  if (!sawGraph) throw new Error('decodeModel: no graph in the file (is it an ONNX model?)')
  return m
}
