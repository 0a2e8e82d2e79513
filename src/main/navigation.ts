/**
 * Which URLs are the app's own renderer. Production: app://studio/…; development (electron-vite dev):
 * the dev server's origin. Compared as parsed origins, never as string prefixes: a prefix check of
 * 'http://localhost:5173' would admit 'http://localhost:5173.evil.com' and 'http://localhost:51730'.
 * Plain module: no Electron import, unit-tested in Node.
 */
export const APP_SCHEME = 'app'
export const APP_HOST = 'studio'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`

function parse(url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/**
 * True when `url` belongs to the renderer: in development (`devServerUrl` set) the dev server's exact
 * origin (scheme, host and port); otherwise app://studio/.
 */
export function isAppUrl(url: string | undefined | null, devServerUrl?: string): boolean {
  if (!url) return false
  const u = parse(url)
  if (!u || u.username || u.password) return false
  if (devServerUrl) {
    const dev = parse(devServerUrl)
    return !!dev && (dev.protocol === 'http:' || dev.protocol === 'https:') && u.origin === dev.origin
  }
  // app://studio is a standard scheme: its URL parses with host 'studio'
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST
}

/** will-navigate: the renderer may only reload itself (same app URL); everything else is prevented. */
export function navigationAllowed(url: string, devServerUrl?: string): boolean {
  return isAppUrl(url, devServerUrl)
}
