import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// scripts/check-paths.mjs, run the way `npm test` runs it (a child process, exit status + one line per finding)
const root = path.resolve(__dirname, '../../..')
const script = path.join(root, 'scripts', 'check-paths.mjs')

function check(repo: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, '--root', repo], { encoding: 'utf8' })
  return { status: r.status, out: r.stdout + r.stderr }
}

/** a throw-away repository with the given files (relative path → text) */
function fakeRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'check-paths-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), text)
  }
  return dir
}

// the planted paths are assembled from pieces so that this file does not trip the check itself
const W = '/' + 'work'
const UP = '..' + '/'

describe('check-paths (no path outside the repository in src/, tests/, scripts/, bench/)', () => {
  it('the repository itself passes', () => {
    const r = check(root)
    expect(r.out).toContain('no path outside the repository')
    expect(r.status).toBe(0)
  })

  it('reports each planted path outside the repository, with file and line, and exits 1', () => {
    const repo = fakeRepo({
      'tests/unit/a.test.ts': [
        "import { x } from './x'", // 1: fine
        `const DATA = '${W}/shared/data/ala2'`, // 2: absolute host path
        `const data = path.join(root, '${UP}shared/data/ala2/x.pdb.gz')`, // 3: '..' on the repo root
        `const ref = readFileSync('${UP}shared/ref.json', 'utf8')`, // 4: cwd-relative fs read
        `const far = path.join(__dirname, '${UP}${UP}${UP}shared')`, // 5: climbs out from tests/unit
        `const t = '/' + 'tmp'`, // 6: pieces, not a path: fine
      ].join('\n'),
      'src/b.ts': `export const home = 'file://${'/' + 'home'}/me/data.json'\n`,
      'bench/c.ts': `const w = 'C:\\\\Users\\\\me\\\\x'\n`,
      'scripts/d.mjs': `import y from '${UP}${UP}elsewhere/y.mjs'\n`,
    })
    try {
      const r = check(repo)
      expect(r.status).toBe(1)
      const lines = r.out.split('\n').filter((l) => /:\d+: /.test(l))
      expect(lines.map((l) => l.split(': ')[0]).sort()).toEqual([
        'bench/c.ts:1',
        'scripts/d.mjs:1',
        'src/b.ts:1',
        'tests/unit/a.test.ts:2',
        'tests/unit/a.test.ts:3',
        'tests/unit/a.test.ts:4',
        'tests/unit/a.test.ts:5',
      ])
      expect(r.out).toContain('7 path(s) outside the repository')
    } finally {
      rmSync(repo, { recursive: true, force: true })
    }
  })

  it('passes what stays inside or is not project data: in-repo climbs, module imports, system programs, URL routes, tmpdir, opt-outs', () => {
    const repo = fakeRepo({
      'src/renderer/stores/s.ts': [
        `import type { T } from '${UP}${UP}${UP}api/contract'`,
        "const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'",
        "const route = '/api/upload'",
        "const dir = mkdtempSync(path.join(os.tmpdir(), 'x-'))",
        `const res = path.join(__dirname, '${UP}${UP}resources')`,
        `const id = '${UP}etc' // paths-ok: a deliberately bad id for the validator test`,
        `const bad = readFileSync('${UP}x') // paths-ok: fed to a validator`,
        "const worktmp = 'src/work/tmp/file'",
      ].join('\n'),
    })
    try {
      const r = check(repo)
      expect(r.out).toContain('no path outside the repository')
      expect(r.status).toBe(0)
    } finally {
      rmSync(repo, { recursive: true, force: true })
    }
  })

  it('an opt-out needs a reason', () => {
    const repo = fakeRepo({ 'tests/e.ts': `const DATA = '${W}/data' // paths-ok:\n` })
    try {
      expect(check(repo).status).toBe(1)
    } finally {
      rmSync(repo, { recursive: true, force: true })
    }
  })
})
