/**
 * Small file-system helpers the services share (one copy each, instead of one per module).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'

/** true when anything (file, folder, or a link — even a dangling one) is at `p` */
export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p)
    return true
  } catch {
    return false
  }
}

/** total size in bytes of the plain files directly inside `dir` (sub-folders not counted; 0 when `dir` is missing) */
export async function folderBytes(dir: string): Promise<number> {
  let n = 0
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) n += (await fs.stat(path.join(dir, e.name)).catch(() => ({ size: 0 }))).size
  }
  return n
}

/**
 * A folder-name-safe slug of a display name: lower case, accents dropped (NFKD), every run of other
 * characters one '-', no '-' at either end, at most `maxLength` characters; '' when nothing is left
 * (the caller picks its own fallback).
 */
export function slug(name: string, maxLength: number): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // the combining accents NFKD split off ('ü' → 'u' + '̈')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/, '')
}
