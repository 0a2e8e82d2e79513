/**
 * The self-check from the app (browser mode, real server, real onnxruntime-node in its worker
 * thread, real Chromium): on the Examples project's default model, run the check at a tiny size from
 * the Check tab, see progress, the verdict and the per-Δt tables; the Sample panel's Δt per adapter
 * step follows the recommendation and says so; after a reload the verdict and tables are still
 * there; a long check can be cancelled and leaves the verdict as it was. Screenshots of the panel
 * are left in the test's output folder.
 */
import { expect, test, type Page } from '@playwright/test'
import { startTestServer, type TestServer } from './support/server'

test.describe.configure({ mode: 'serial' })

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

/** the whole panel (a tall window for the picture, so the side column does not scroll) */
async function shot(name: string): Promise<void> {
  const size = page.viewportSize()!
  await page.setViewportSize({ width: size.width, height: 2400 })
  await page.getByTestId('selfcheck-panel').screenshot({ path: test.info().outputPath(`${name}.png`) })
  await page.setViewportSize(size)
}

test('a tiny self-check from the Check tab gives a verdict and tables; the Sample panel takes the recommended Δt', async () => {
  // the Sample panel before: the shipped model's own check (its card) recommends 2 ps, three steps per
  // frame of 6 ps (the nearest whole number of steps to the default 5-ps frames)
  await page.getByTestId('tab-sample').click()
  await expect(page.getByTestId('param-dtPerFrame')).toHaveValue('6')
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('3')
  await expect(page.getByTestId('dt-recommended')).toContainText('Δt = 2 ps per adapter step: recommended by the self-check')
  await expect(page.getByTestId('dt-advice')).toHaveCount(0)
  // calibrated time, on with the shipped check (docs/self-check.md "Calibrated time"): one 5-ps step takes
  // the width that relaxes like 5 ps and is vouched for; 7 ps lies beyond the widest step the check ran
  await expect(page.getByTestId('time-calibration-toggle')).toBeChecked()
  await expect(page.getByTestId('dt-calibrated-limit')).toContainText('Calibrated steps are vouched for up to 5 ps per adapter step')
  await page.getByTestId('dt-use-calibrated').click()
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('1')
  await expect(page.getByTestId('param-dtPerFrame')).toHaveValue('5')
  await expect(page.getByTestId('time-calibration-step')).toContainText('each 5-ps step is as wide as an uncalibrated')
  await expect(page.getByTestId('dt-advice')).toHaveCount(0)
  await page.getByTestId('param-dtPerFrame').fill('7')
  await expect(page.getByTestId('dt-advice')).toContainText(/calibrates time for steps up to 6\.\d+ ps; 7 ps is beyond it/)
  await expect(page.getByTestId('param-error-dtPerFrame')).toContainText("beyond the self-check's calibrated range")
  await expect(page.getByTestId('run-start')).toBeDisabled()
  // uncalibrated (η = D·Δt): one step per 6-ps frame is 6 ps, above what the check vouches for: it says so, and why
  await page.getByTestId('time-calibration-toggle').uncheck()
  await page.getByTestId('param-dtPerFrame').fill('6')
  await expect(page.getByTestId('dt-advice')).toContainText("Not vouched for: the model's self-check")
  await expect(page.getByTestId('dt-advice')).toContainText('recommends Δt ≤ 2 ps per adapter step; 6 ps is above it.')
  // 5 ps, a Δt the check ran: its own finding
  await page.getByTestId('param-dtPerFrame').fill('5')
  await expect(page.getByTestId('dt-advice')).toContainText('at 5 ps it found the kinetic time scale −25 ± 7 % against Δt → 0, not shown within tolerance')
  await page.getByTestId('dt-use-recommended').click()
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('3')
  await expect(page.getByTestId('param-dtPerFrame')).toHaveValue('6')
  await expect(page.getByTestId('dt-advice')).toHaveCount(0)

  await page.getByTestId('tab-check').click()
  await expect(page.getByTestId('selfcheck-model')).toHaveText('Alanine dipeptide (default)')
  // the shipped check, with its tables
  await expect(page.getByTestId('selfcheck-verdict')).toContainText('Recommended Δt: 2 ps')
  await expect(page.getByTestId('selfcheck-recommended')).toHaveText('2 ps')
  // its time-scale fit calibrates time (the card: −0.28 over 5 ps, i.e. −5.7 % per ps in ln)
  await expect(page.getByTestId('selfcheck-calibration')).toContainText('changes by −5.7 ± 1.5 % per ps of Δt')
  await expect(page.getByTestId('selfcheck-calibration')).toContainText('calibrated steps are vouched for up to 5 ps')
  await expect(page.getByTestId('check-dt-5')).toContainText('k C5→C7eq')
  // the default settings (diffmd check's) take a while: the estimate says how long
  await expect(page.getByTestId('check-estimate')).toContainText(/Takes about \d+ min/)
  // a second round of replicas may follow: the estimate gives the most it can take too
  await expect(page.getByTestId('check-estimate')).toContainText(/up to \d+ min( \d+ s)? if it must add replicas or a Δt drifts/)
  await shot('selfcheck-defaults')
  await page.getByTestId('check-dt').fill('2.5')
  await page.getByTestId('check-nsPerReplica').fill('0.3')
  await page.getByTestId('check-replicas').fill('4')
  // fewer than the replicas is refused beside the field; equal means one round
  await page.getByTestId('check-maxReplicas').fill('2')
  await expect(page.getByTestId('check-start')).toBeDisabled()
  await page.getByTestId('check-maxReplicas').fill('4')
  await page.getByText('More: i.i.d. draw').click()
  await page.getByTestId('check-iidSamples').fill('200')
  await page.getByTestId('check-iidSteps').fill('40')
  await page.getByTestId('check-seed').fill('1')
  await expect(page.getByTestId('check-estimate')).toContainText(/Takes about \d+ s/)
  // one round: only the integrator-resolution run (made if a Δt drifts) can add to it
  await expect(page.getByTestId('check-estimate')).not.toContainText('add replicas')
  await expect(page.getByTestId('check-estimate')).toContainText('if a Δt drifts')
  // a bad Δt list is refused beside the field
  await page.getByTestId('check-dt').fill('2.5, x')
  await expect(page.getByTestId('check-error-dtText')).toContainText("'x' is not a positive time step")
  await expect(page.getByTestId('check-start')).toBeDisabled()
  await page.getByTestId('check-dt').fill('2.5')
  await shot('selfcheck-settings')

  await page.getByTestId('check-start').click()
  const verdict = page.getByTestId('selfcheck-verdict')
  await expect(verdict).toBeVisible({ timeout: 150_000 })
  await expect(verdict).toContainText('Recommended Δt: 2.5 ps')
  await expect(page.getByTestId('selfcheck-recommended')).toHaveText('2.5 ps')
  const section = page.getByTestId('check-dt-2.5')
  await expect(section).toContainText('Ramachandran JSD vs i.i.d.')
  await expect(section).toContainText('k C5→C7eq')
  await expect(section).toContainText('ACF φ 50 ps')
  // 4 × 0.3 ns is far below 20 τ_int: the panel says the runs are too short
  await expect(page.getByTestId('check-too-short')).toContainText('Runs too short')
  await expect(page.getByTestId('check-vs-snapshots')).toContainText('i.i.d. samples vs snapshots: JSD')
  await shot('selfcheck-result')

  // the Sample panel now defaults to 2.5 ps per adapter step (two per 5-ps frame) and says why
  await page.getByTestId('tab-sample').click()
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('2')
  await expect(page.getByTestId('param-dtPerFrame')).toHaveValue('5')
  // 4 × 0.3 ns cannot show 2.5-ps kinetics converged: the check then recommends the best it tried, and
  // the panel says so beneath (when this machine's runs did show them converged, nothing is said)
  await expect(page.getByTestId('dt-recommended')).toBeVisible()
  if (await page.getByTestId('dt-advice').count()) await expect(page.getByTestId('dt-advice')).toContainText('recommends 2.5 ps per adapter step only as the best Δt it tried; at 2.5 ps it found')
  await expect(page.getByTestId('dt-recommended')).toContainText('Δt = 2.5 ps per adapter step: recommended by the self-check')
  await page.getByTestId('sampler-panel').screenshot({ path: test.info().outputPath('sample-panel-recommended.png') })
  // a value the user types stays; "use" brings the recommendation back
  await page.getByTestId('param-innerSteps').fill('1')
  await expect(page.getByTestId('dt-use-recommended')).toBeVisible()
  await expect(page.getByTestId('dt-advice')).toContainText('recommends Δt ≤ 2.5 ps per adapter step; 5 ps is above it.')
  await page.getByTestId('dt-use-recommended').click()
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('2')
})

test('after a reload the stored verdict and tables show for the model, and the Sample panel keeps its Δt', async () => {
  await page.reload()
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('2')
  await page.getByTestId('tab-check').click()
  await expect(page.getByTestId('selfcheck-verdict')).toContainText('Recommended Δt: 2.5 ps')
  await expect(page.getByTestId('check-dt-2.5')).toContainText('k C5→C7eq')
  await expect(page.getByTestId('selfcheck-verdict')).toContainText('snapshots: dataset Alanine dipeptide')
})

test('a long check shows progress and can be cancelled; the verdict stays as it was', async () => {
  await page.getByTestId('check-nsPerReplica').fill('500')
  await expect(page.getByTestId('check-estimate')).toContainText(/Takes about \d+ (min|h)/)
  await page.getByTestId('check-start').click()
  const progress = page.getByTestId('check-progress')
  await expect(progress).toBeVisible()
  await expect(progress).toContainText('run at Δt = 2.5 ps', { timeout: 60_000 })
  await shot('selfcheck-progress')
  await page.getByTestId('check-cancel').click()
  await expect(page.getByTestId('check-cancelled')).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('selfcheck-verdict')).toContainText('Recommended Δt: 2.5 ps')
  await expect(page.getByTestId('check-start')).toBeEnabled()
})
