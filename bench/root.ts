import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: benchmarks run bundled from out/scripts/ (scripts/run-ts.mjs) or from bench/. */
export function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!(existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src')))) {
    const up = path.dirname(dir)
    if (up === dir) return process.cwd()
    dir = up
  }
  return dir
}
