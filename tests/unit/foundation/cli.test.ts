import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

// The bin shim runs the bundle that `npm ci` (prepare) and `npm test` build.
const built = existsSync('out/cli/diffmd.mjs')

describe.skipIf(!built)('diffmd CLI entry', () => {
  it('prints help and exits 0', () => {
    const r = spawnSync(process.execPath, ['bin/diffmd.js', '--help'], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/usage: diffmd <command>/)
    for (const c of ['simulate', 'analyze', 'train', 'dataset', 'export']) expect(r.stdout).toContain(c)
  })
  it('refuses an unknown command and an unknown flag with one line naming it', () => {
    const a = spawnSync(process.execPath, ['bin/diffmd.js', 'frobnicate'], { encoding: 'utf8' })
    expect(a.status).toBe(2)
    expect(a.stderr.trim().split('\n')).toHaveLength(1)
    expect(a.stderr).toMatch(/unknown command 'frobnicate'/)
    const b = spawnSync(process.execPath, ['bin/diffmd.js', 'info', '--bogus'], { encoding: 'utf8' })
    expect(b.status).toBe(2)
    expect(b.stderr).toMatch(/unknown flag --bogus/)
  })
})
