// npm test: lint, type-check, build, unit tests (vitest), end-to-end tests (Playwright in Chromium).
// Ends with one line "N passed, N failed" summing every runner (lint, the path check and type-check count as one
// check each). The path check (scripts/check-paths.mjs) fails on any path outside the repository in src/, tests/,
// scripts/, bench/.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { ensureBuilt, root } from './ensure-built.mjs'

const bin = (name) => path.join(root, 'node_modules', '.bin', name)
const results = { passed: 0, failed: 0, skipped: 0 }
const failures = []
const only = process.argv.slice(2)
const want = (step) => only.length === 0 || only.includes(step)
mkdirSync(path.join(root, 'test-results'), { recursive: true })

function run(label, cmd, args, env = {}) {
  const started = Date.now()
  console.log(`\n── ${label} ──`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  console.log(`── ${label}: ${r.status === 0 ? 'ok' : `exit ${r.status ?? r.signal}`} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  return r.status === 0
}

function check(label, ok) {
  if (ok) results.passed++
  else {
    results.failed++
    failures.push(label)
  }
}

if (want('lint')) check('lint', run('lint (eslint)', bin('eslint'), ['.', '--max-warnings=0']))
if (want('paths')) check('paths', run('paths (nothing outside the repository)', process.execPath, [path.join(root, 'scripts', 'check-paths.mjs')]))
if (want('typecheck')) check('type-check', run('type-check (vue-tsc)', bin('vue-tsc'), ['--noEmit', '-p', 'tsconfig.json']))

try {
  ensureBuilt({ quiet: true })
} catch (err) {
  check('build', false)
  console.error(`build failed: ${err.message}`)
}

if (want('unit')) {
  const out = path.join(root, 'test-results', 'vitest.json')
  rmSync(out, { force: true })
  const ok = run('unit (vitest)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile=${out}`])
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'))
    results.passed += j.numPassedTests ?? 0
    results.failed += j.numFailedTests ?? 0
    results.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0)
    if (!ok && (j.numFailedTests ?? 0) === 0) check('vitest (suite error)', false)
    if ((j.numFailedTests ?? 0) > 0) failures.push('unit tests')
  } else check('vitest (no report)', false)
}

if (want('e2e')) {
  const out = path.join(root, 'test-results', 'playwright.json')
  rmSync(out, { force: true })
  const ok = run('e2e (playwright, chromium)', bin('playwright'), ['test'])
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'))
    const s = j.stats ?? {}
    results.passed += (s.expected ?? 0) + (s.flaky ?? 0)
    results.failed += s.unexpected ?? 0
    results.skipped += s.skipped ?? 0
    if (!ok && (s.unexpected ?? 0) === 0) check('playwright (suite error)', false)
    if ((s.unexpected ?? 0) > 0) failures.push('e2e tests')
  } else check('playwright (no report)', false)
}

console.log('')
if (results.skipped) console.log(`${results.skipped} skipped (each prints its reason above)`)
if (failures.length) console.log(`failed: ${failures.join(', ')}`)
console.log(`${results.passed} passed, ${results.failed} failed`)
process.exit(results.failed === 0 ? 0 : 1)
