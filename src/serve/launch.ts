/**
 * The page Chromium is opened on in browser mode. The token must not be on Chromium's command line
 * (any local user can read it with `ps`), so the command line names a file instead: a page readable
 * only by this user (0600, in a 0700 folder) that posts the token to /auth, which answers with the
 * session cookie and a redirect to the app. The file removes itself from disk after a minute.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function launchPageHtml(origin: string, token: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>DiffMD Studio</title></head>
<body><form method="post" action="${escapeHtml(origin)}/auth"><input type="hidden" name="token" value="${escapeHtml(token)}"><noscript><button>Open DiffMD Studio</button></noscript></form>
<script>document.forms[0].submit()</script></body></html>
`
}

export interface LaunchPage {
  /** file:// URL to open */
  url: string
  file: string
  remove(): Promise<void>
}

/** Writes the launch page into a private folder under `dir`; removes it after `ttlMs` (or on remove()). */
export async function writeLaunchPage(dir: string, origin: string, token: string, ttlMs = 60_000): Promise<LaunchPage> {
  const folder = path.join(dir, `.launch-${randomBytes(6).toString('hex')}`)
  await fs.mkdir(folder, { recursive: true, mode: 0o700 })
  await fs.chmod(folder, 0o700)
  const file = path.join(folder, 'open-diffmd-studio.html')
  await fs.writeFile(file, launchPageHtml(origin, token), { mode: 0o600, flag: 'wx' })
  const remove = (): Promise<void> => fs.rm(folder, { recursive: true, force: true })
  setTimeout(() => void remove().catch(() => undefined), ttlMs).unref()
  return { url: pathToFileURL(file).toString(), file, remove }
}
