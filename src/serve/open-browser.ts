import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

/** The Chromium to open browser mode in: $CHROMIUM_PATH, else the usual install paths. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium']
  return candidates.find((c): c is string => !!c && existsSync(c))
}

/** Chromium's command line for browser mode: the launch page's file URL, never a URL with the token. */
export function chromiumArgs(launchUrl: string): string[] {
  if (/[?&]token=/.test(launchUrl)) throw new Error('the token must not be on Chromium’s command line')
  return [`--app=${launchUrl}`, '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking']
}

/**
 * Opens the launch page (src/serve/launch.ts) in Chromium's --app mode when a Chromium and a display
 * exist; otherwise does nothing (the URL is printed).
 */
export function openBrowser(launchUrl: string): boolean {
  const chromium = findChromium()
  const hasDisplay = process.platform !== 'linux' || !!process.env.DISPLAY || !!process.env.WAYLAND_DISPLAY
  if (!chromium || !hasDisplay) return false
  const child = spawn(chromium, chromiumArgs(launchUrl), { stdio: 'ignore', detached: true })
  child.on('error', () => undefined)
  child.unref()
  return true
}
