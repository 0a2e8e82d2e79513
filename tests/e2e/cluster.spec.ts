/**
 * "Run on a cluster…" from the Sample panel (browser mode, real server, real Chromium; docs/cluster.md
 * "From the app"): the chosen settings are written as a job folder (its path shown), the job's
 * shards are run by the real CLI as Slurm array tasks would (`diffmd sweep --local`), and the
 * finished folder is opened as a run of the project: listed, selected, with every frame stored.
 */
import { expect, test, type Page } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { startTestServer, type TestServer } from './support/server'

let server: TestServer
let page: Page

test.beforeAll(async ({ browser }) => {
  server = await startTestServer()
  page = await browser.newPage()
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`))
  await page.goto(server.url)
  await expect(page.getByTestId('project-view')).toContainText('Examples')
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
})

test.afterAll(async () => {
  await page?.close()
  await server?.stop()
})

test('write a job folder from the Sample panel, run its shards with the CLI, open the finished folder as a run', async () => {
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('param-replicas').fill('32')
  await page.getByTestId('param-frames').fill('3')
  await page.getByTestId('cluster-toggle').click()
  await page.getByTestId('cluster-folder').fill('jobs/e2e')
  await page.getByTestId('cluster-blocks').fill('2')
  await page.getByTestId('cluster-write').click()
  const folder = path.join(server.home, 'jobs', 'e2e')
  await expect(page.getByTestId('cluster-path')).toHaveText(folder)
  await expect(page.getByTestId('cluster-written')).toContainText('2 tasks')
  expect(readFileSync(path.join(folder, 'sweep.sbatch'), 'utf8')).toMatch(/^#SBATCH --array=0-1%8$/m)

  // opening it before the tasks ran says which have not finished
  await page.getByTestId('cluster-open').click()
  await expect(page.getByTestId('cluster-error')).toContainText('tasks 0, 1 have not finished')

  const r = spawnSync(process.execPath, ['bin/diffmd.js', 'sweep', '--local', folder], { encoding: 'utf8', timeout: 120_000 })
  expect(r.stderr.replace(/diffmd: (warning: |calibrated time \().*\n/g, '')).toBe('')
  expect(r.status).toBe(0)
  expect(existsSync(path.join(folder, 'shards', '1', 'frames.json'))).toBe(true)

  const runsBefore = await page.getByTestId('run-list').getByTestId('run-item').count()
  await page.getByTestId('cluster-open').click()
  await expect(page.getByTestId('run-list').getByTestId('run-item')).toHaveCount(runsBefore + 1)
  const item = page.getByTestId('run-list').getByTestId('run-item').filter({ hasText: 'cluster ·' })
  await expect(item).toContainText('3 frames × 32')
  await expect(page.getByTestId('cluster-error')).toHaveCount(0)
  await page.getByTestId('sampler-panel').screenshot({ path: test.info().outputPath('cluster-panel.png') })
})
