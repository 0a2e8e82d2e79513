/** PDB coordinates for the sampler tests (the tiny model itself is built in the page: src/renderer/harness/tiny-model.ts). */
export function pdbCoordinates(pdb: string): Float32Array {
  const xs: number[] = []
  for (const line of pdb.split('\n')) {
    if (!line.startsWith('ATOM') && !line.startsWith('HETATM')) continue
    xs.push(Number(line.slice(30, 38)), Number(line.slice(38, 46)), Number(line.slice(46, 54)))
  }
  return Float32Array.from(xs)
}

export function centred(x: Float32Array): Float32Array {
  const n = x.length / 3
  const c = [0, 0, 0]
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) c[k]! += x[3 * i + k]! / n
  return x.map((v, i) => v - c[i % 3]!)
}
