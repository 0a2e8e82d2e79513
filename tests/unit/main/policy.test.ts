/**
 * The Electron shell's security decisions, as plain functions (no Electron binary needed):
 * navigation/IPC origin checks, permissions, the openExternal allowlist, app:// parsing and headers,
 * the production menu.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import path from 'node:path'
import { APP_ORIGIN, isAppUrl, navigationAllowed } from '../../../src/main/navigation'
import { ALLOWED_PERMISSIONS, permissionAllowed } from '../../../src/main/permissions'
import { EXTERNAL_HOSTS, externalUrlAllowed } from '../../../src/main/external'
import { appResponseHeaders, resolveAppRequest } from '../../../src/main/app-protocol'
import { RENDERER_CSP } from '../../../src/main/csp'
import { menuTemplate, type MenuItemSpec } from '../../../src/main/menu-template'

const DEV = 'http://localhost:5173'

describe('navigation and IPC sender checks', () => {
  it('development: only the dev server origin itself, not look-alike hosts or ports (the old prefix check admitted them)', () => {
    expect(isAppUrl('http://localhost:5173/', DEV)).toBe(true)
    expect(isAppUrl('http://localhost:5173/index.html?x=1#y', DEV)).toBe(true)
    for (const evil of ['http://localhost:5173.evil.com/', 'http://localhost:51730/', 'http://localhost:5173@evil.com/', 'https://localhost:5173/', 'http://user:pw@localhost:5173/', 'http://127.0.0.1:5173/', 'app://studio/index.html']) {
      expect(isAppUrl(evil, DEV), evil).toBe(false)
      // what the old check did: url.startsWith(rendererUrl)
      if (evil.startsWith('http://localhost:5173')) expect(evil.startsWith(DEV)).toBe(true)
    }
  })
  it('production: app://studio only', () => {
    expect(isAppUrl(`${APP_ORIGIN}/index.html`)).toBe(true)
    expect(isAppUrl(`${APP_ORIGIN}/`)).toBe(true)
    for (const evil of ['app://studio.evil/index.html', 'app://other/index.html', 'file:///etc/passwd', 'https://studio/', 'http://localhost:5173/', '', 'not a url', 'app://user@studio/']) {
      expect(isAppUrl(evil), evil).toBe(false)
      expect(navigationAllowed(evil), evil).toBe(false)
    }
    expect(isAppUrl(undefined)).toBe(false)
  })
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof isAppUrl(s)).toBe('boolean')
        expect(typeof isAppUrl(s, DEV)).toBe('boolean')
      }),
      { seed: 7, numRuns: 500 }
    )
  })
})

describe('permissions', () => {
  const ALL = ['media', 'geolocation', 'notifications', 'midiSysex', 'pointerLock', 'fullscreen', 'openExternal', 'clipboard-read', 'clipboard-sanitized-write', 'hid', 'serial', 'usb', 'display-capture', 'fileSystem', 'idle-detection', 'local-fonts', 'window-management', 'unknown']
  it('denies every permission, for the app itself and for anyone else', () => {
    expect(ALLOWED_PERMISSIONS.size).toBe(0)
    for (const p of ALL) {
      expect(permissionAllowed(p, `${APP_ORIGIN}/index.html`), p).toBe(false)
      expect(permissionAllowed(p, 'https://evil.example/'), p).toBe(false)
      expect(permissionAllowed(p, `${DEV}/`, DEV), p).toBe(false)
    }
  })
})

describe('openExternal allowlist', () => {
  it('opens https documentation hosts only', () => {
    expect(externalUrlAllowed('https://arxiv.org/abs/2511.17741')).toBe(true)
    expect(externalUrlAllowed('https://manual.gromacs.org/current/index.html')).toBe(true)
    for (const bad of [
      'http://arxiv.org/abs/1',
      'https://arxiv.org.evil.com/',
      'https://evil.com/?https://arxiv.org',
      'https://user@arxiv.org/',
      'https://arxiv.org:8443/',
      'file:///etc/passwd',
      'smb://host/share',
      'ms-msdt:/id PCWDiagnostic',
      'javascript:alert(1)',
      'https://evilarxiv.org/',
      'not a url',
    ]) {
      expect(externalUrlAllowed(bad), bad).toBe(false)
    }
    for (const h of EXTERNAL_HOSTS) expect(externalUrlAllowed(`https://${h}/`), h).toBe(true)
  })
})

describe('app:// protocol', () => {
  const root = path.resolve('/srv/renderer') // paths-ok: a synthetic root for path mapping only, never read
  it('maps app://studio paths into the renderer folder', () => {
    expect(resolveAppRequest('app://studio/', root)).toEqual({ file: path.join(root, 'index.html') })
    expect(resolveAppRequest('app://studio/assets/a%20b.js', root)).toEqual({ file: path.join(root, 'assets', 'a b.js') })
    // the URL parser already resolves dot segments (also %2e%2e): they stay inside the root
    expect(resolveAppRequest('app://studio/%2e%2e/%2e%2e/x', root)).toEqual({ file: path.join(root, 'x') })
  })
  it('answers malformed or hostile URLs with a status instead of throwing', () => {
    const cases: [string, number][] = [
      ['app://studio/%E0%A4%A', 400],
      ['app://studio/a%00b', 400],
      ['app://studio/..%2f..%2fetc%2fpasswd', 403],
      ['app://other/index.html', 404],
      ['::not a url', 400],
    ]
    for (const [url, status] of cases) {
      const r = resolveAppRequest(url, root)
      expect('status' in r ? r.status : 'file', url).toBe(status)
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = resolveAppRequest(`app://studio/${s}`, root)
        if ('file' in r) expect(r.file.startsWith(root + path.sep)).toBe(true)
      }),
      { seed: 11, numRuns: 1000 }
    )
  })
  it('sends the CSP as a header with COOP/COEP', () => {
    const h = appResponseHeaders(path.join(root, 'index.html'))
    expect(h['Content-Security-Policy']).toBe(RENDERER_CSP)
    expect(h['Cross-Origin-Opener-Policy']).toBe('same-origin')
    expect(h['Cross-Origin-Embedder-Policy']).toBe('require-corp')
    expect(h['Content-Type']).toMatch(/^text\/html/)
    expect(RENDERER_CSP).toMatch(/default-src 'self'/)
    expect(RENDERER_CSP).toMatch(/object-src 'none'/)
    expect(RENDERER_CSP).toMatch(/frame-ancestors 'none'/)
    expect(RENDERER_CSP).not.toMatch(/'unsafe-eval'/)
  })
})

describe('menu', () => {
  const roles = (t: MenuItemSpec[]): string[] => t.flatMap((i) => [i.role ?? '', ...roles(i.submenu ?? [])])
  it('has no View menu (reload, devtools) in production, and has one in development', () => {
    expect(roles(menuTemplate({ production: true, platform: 'linux' }))).not.toContain('viewMenu')
    expect(roles(menuTemplate({ production: true, platform: 'darwin' }))).not.toContain('toggleDevTools')
    expect(roles(menuTemplate({ production: false, platform: 'linux' }))).toContain('viewMenu')
  })
  it('every link in the menu passes the openExternal allowlist', () => {
    const hrefs = (t: MenuItemSpec[]): string[] => t.flatMap((i) => [...(i.href ? [i.href] : []), ...hrefs(i.submenu ?? [])])
    const all = hrefs(menuTemplate({ production: true, platform: 'linux' }))
    expect(all.length).toBeGreaterThan(0)
    for (const h of all) expect(externalUrlAllowed(h), h).toBe(true)
  })
})
