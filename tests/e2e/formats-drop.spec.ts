/**
 * Drag-and-drop of a trajectory together with its topology (issue 11, docs/formats.md): an XTC and
 * its PDB dropped at once become one dataset with the stride and time window set in the Data tab;
 * the import says how many snapshots it kept and their spacing. An mmCIF dropped alone imports;
 * a tar archive is refused by name beside the file. Real files from tests/fixtures/real/ (MDTraj's
 * times of ala2_40.xtc are 0, 20, …, 780 ps: 100–700 ps every 5th frame keeps 7, 100 ps apart).
 */
import { expect, test, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { startTestServer, type TestServer } from './support/server'

test.describe.configure({ mode: 'serial' })

let server: TestServer
let page: Page
const REAL = path.resolve('tests/fixtures/real')

/** a real DataTransfer drop of the named fixture files on the window */
async function drop(names: string[]): Promise<void> {
  const files = names.map((n) => ({ name: n, b64: readFileSync(path.join(REAL, n)).toString('base64') }))
  await page.evaluate((list) => {
    const dt = new DataTransfer()
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name))
    for (const type of ['dragenter', 'dragover', 'drop']) document.body.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }))
  }, files)
}

test.beforeAll(async ({ browser }) => {
  server = await startTestServer()
  page = await browser.newPage()
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`))
  await page.goto(server.url)
  await expect(page.getByTestId('projects')).toContainText('Examples')
  await page.getByTestId('new-project').fill('Formats')
  await page.getByTestId('new-project').press('Enter')
  await expect(page.getByTestId('project-view')).toContainText('Formats')
  await page.getByTestId('tab-data').click()
})

test.afterAll(async () => {
  await page?.close()
  await server?.stop()
})

test('an XTC dropped with its PDB imports with the stride and time window; the count and spacing are shown', async () => {
  await page.getByTestId('import-stride').fill('5')
  await page.getByTestId('import-begin').fill('100')
  await page.getByTestId('import-begin').dispatchEvent('change')
  await page.getByTestId('import-end').fill('700')
  await page.getByTestId('import-end').dispatchEvent('change')
  await drop(['ala2_40.xtc', 'ala2_top.pdb'])
  await expect(page.getByTestId('import-result').first()).toContainText('ala2_40', { timeout: 60_000 })
  await expect(page.getByTestId('import-summary').first()).toHaveText('7 snapshots: every 5th frame of 40, 100–700 ps; spacing 100 ps')
  await expect(page.getByTestId('dataset-frames')).toHaveText('7')
  await expect(page.getByTestId('dataset-sources')).toHaveText('ala2_top.pdb (topology), ala2_40.xtc (trajectory: 7 of 40 frames, spacing 100 ps)')
})

test('an mmCIF imports by itself; a tar archive is refused beside the file with what to do', async () => {
  await page.getByTestId('import-stride').fill('1')
  await drop(['ala2_3models.cif'])
  await expect(page.getByTestId('import-result').first()).toContainText('ala2_3models', { timeout: 60_000 })
  await expect(page.getByTestId('dataset-frames')).toHaveText('3')
  await drop(['two_pdbs.tar'])
  await expect(page.locator('[data-testid=import-file][data-file="two_pdbs.tar"]').first()).toContainText('two_pdbs.tar: is a tar archive; extract it (tar -xf FILE) and import the files inside', { timeout: 60_000 })
})
