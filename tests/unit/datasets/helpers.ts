import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { vi } from 'vitest'

/** recursive listing of a folder: relative path → 'dir' or sha256 of the content ('absent' when the folder does not exist) */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!existsSync(dir)) return { '.': 'absent' }
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e)
      const rel = path.relative(dir, p)
      if (statSync(p).isDirectory()) {
        out[rel + '/'] = 'dir'
        walk(p)
      } else {
        out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex')
      }
    }
  }
  walk(dir)
  return out
}

export function tempDir(prefix = 'diffmd-ds-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** captures what a CLI command writes to stdout and stderr (restore with vi.restoreAllMocks()) */
export function capture(): { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
  return { out: () => out, err: () => err }
}
