import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { exists, folderBytes, slug } from '../../../src/services/fs/paths'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-paths-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('services/fs/paths', () => {
  it('exists: files, folders and links (even dangling ones) exist; a missing name does not', async () => {
    writeFileSync(path.join(dir, 'f'), 'x')
    mkdirSync(path.join(dir, 'd'))
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'))
    expect(await exists(path.join(dir, 'f'))).toBe(true)
    expect(await exists(path.join(dir, 'd'))).toBe(true)
    // a dangling link still occupies the name (what matters when choosing a fresh folder name)
    expect(await exists(path.join(dir, 'dangling'))).toBe(true)
    expect(await exists(path.join(dir, 'nowhere'))).toBe(false)
  })

  it('folderBytes: the sum of the plain files directly inside; sub-folders not counted; a missing folder is 0', async () => {
    writeFileSync(path.join(dir, 'a'), Buffer.alloc(1000))
    writeFileSync(path.join(dir, 'b'), Buffer.alloc(24))
    mkdirSync(path.join(dir, 'sub'))
    writeFileSync(path.join(dir, 'sub', 'c'), Buffer.alloc(500))
    expect(await folderBytes(dir)).toBe(1024)
    expect(await folderBytes(path.join(dir, 'missing'))).toBe(0)
  })

  it('slug: lower-case ASCII with single dashes, accents dropped, capped without a trailing dash', () => {
    expect(slug('Alanine Dipeptide (ala2)', 40)).toBe('alanine-dipeptide-ala2')
    expect(slug('Café  Müller', 40)).toBe('cafe-muller')
    expect(slug('--x--', 40)).toBe('x')
    expect(slug('ab cd', 3)).toBe('ab') // 'ab-' capped at 3, then the dash dropped
    expect(slug('αβγ ✓', 40)).toBe('')
  })
})
