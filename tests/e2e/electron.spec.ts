import { _electron as electron, expect, test } from '@playwright/test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

function electronBinary(): string | undefined {
  if (process.env.ELECTRON_EXEC_PATH && existsSync(process.env.ELECTRON_EXEC_PATH)) return process.env.ELECTRON_EXEC_PATH
  const pathTxt = path.resolve('node_modules/electron/path.txt')
  if (!existsSync(pathTxt)) return undefined
  const bin = path.resolve('node_modules/electron/dist', readFileSync(pathTxt, 'utf8').trim())
  return existsSync(bin) ? bin : undefined
}

const bin = electronBinary()
const SKIP_REASON = 'Electron binary not installed (offline install: its download is blocked here); set ELECTRON_EXEC_PATH to run this spec'
if (!bin) console.log(`skipping the Electron e2e spec: ${SKIP_REASON}`)

test('Electron window opens with the secure bridge and talks to the services', async () => {
  test.skip(!bin, SKIP_REASON)
  const home = mkdtempSync(path.join(tmpdir(), 'diffmd-electron-'))
  const app = await electron.launch({ executablePath: bin!, args: [path.resolve('.')], env: { ...process.env, DIFFMD_HOME: home } })
  try {
    const win = await app.firstWindow()
    await expect(win.getByTestId('projects')).toContainText('Examples')
    expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined')
    expect(await win.evaluate(() => typeof window.diffmd?.call)).toBe('function')
    // served from app://studio with COOP/COEP: multi-threaded WASM works as in browser mode
    expect(await win.evaluate(() => window.crossOriginIsolated)).toBe(true)
    await win.screenshot({ path: test.info().outputPath('electron.png') })
  } finally {
    await app.close()
    rmSync(home, { recursive: true, force: true })
  }
})
