/**
 * Shared setup of the component tests: build (app + harness), browser mode, the harness page, and
 * guards that fail a test on page errors, console errors or CSP violations.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** app build (when sources changed) then the harness build (when stale) */
export function buildAll(): void {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'ensure-built.mjs')], { cwd: root, stdio: 'inherit' })
  execFileSync(process.execPath, [path.join(root, 'tests', 'e2e', 'components', 'build-harness.mjs')], { cwd: root, stdio: 'inherit' })
}

/** the bundled example's reference PDB (shipped in resources/examples/ala2) */
export function ala2Pdb(): string {
  return readFileSync(path.join(root, 'resources', 'examples', 'ala2', 'ala2_reference.pdb'), 'utf8')
}

export interface PageProblems {
  errors: string[]
}

/** records uncaught errors, console errors and CSP violations of the page */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { errors: [] }
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    // failed loads are reported with their URL by the response listener below
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.errors.push(`console: ${m.text()}`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.errors.push(`HTTP ${r.status()}: ${r.url()}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))
  })
  return problems
}

export async function openHarness(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/harness/index.html`)
  await page.waitForFunction(() => !!window.__harness, undefined, { timeout: 30_000 })
}
