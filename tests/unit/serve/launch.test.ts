import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchPageHtml, writeLaunchPage } from '../../../src/serve/launch'
import { chromiumArgs } from '../../../src/serve/open-browser'

describe('launch page', () => {
  it('is private to the user, posts the token in a form body, and removes itself', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'diffmd-launch-unit-'))
    try {
      const page = await writeLaunchPage(dir, 'http://127.0.0.1:4321', 'tok_EN-123', 60_000)
      expect(page.url.startsWith('file://')).toBe(true)
      expect(page.url).not.toContain('tok_EN-123')
      const file = fileURLToPath(page.url)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
      const html = readFileSync(file, 'utf8')
      expect(html).toContain('<form method="post" action="http://127.0.0.1:4321/auth">')
      expect(html).toContain('name="token" value="tok_EN-123"')
      await page.remove()
      expect(existsSync(file)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('escapes what it embeds', () => {
    const html = launchPageHtml('http://127.0.0.1:1"><script>x</script>', 'a"b<c')
    expect(html).not.toContain('"><script>x')
    expect(html).toContain('a&#34;b&#60;c')
  })
  it('Chromium gets the launch file, never a URL with the token', () => {
    expect(chromiumArgs('file:///home/u/DiffMD/.launch-ab/open-diffmd-studio.html')[0]).toBe('--app=file:///home/u/DiffMD/.launch-ab/open-diffmd-studio.html') // paths-ok: a string for chromiumArgs, never opened
    expect(() => chromiumArgs('http://127.0.0.1:1/?token=abc')).toThrow(/token/)
  })
})
