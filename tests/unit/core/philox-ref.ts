/**
 * Philox4x32-10 on BigInt words (Salmon et al., SC'11), written independently of src/core/rng:
 * exact 64-bit products, nothing shared with philox.ts, normals.ts or ziggurat.wat. The rng tests
 * check the generators against it bit for bit.
 */
export const MASK = 0xffffffffn

/** the four output words of counter c under key k */
export function philoxRef(c: [bigint, bigint, bigint, bigint], k: [bigint, bigint]): number[] {
  let [x0, x1, x2, x3] = c
  let [k0, k1] = k
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * x0
    const p1 = 0xcd9e8d57n * x2
    const n0 = ((p1 >> 32n) ^ x1 ^ k0) & MASK
    const n1 = p1 & MASK
    const n2 = ((p0 >> 32n) ^ x3 ^ k1) & MASK
    const n3 = p0 & MASK
    x0 = n0
    x1 = n1
    x2 = n2
    x3 = n3
    k0 = (k0 + 0x9e3779b9n) & MASK
    k1 = (k1 + 0xbb67ae85n) & MASK
  }
  return [x0, x1, x2, x3].map(Number)
}
