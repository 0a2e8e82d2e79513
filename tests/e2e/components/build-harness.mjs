// Builds the component harness (src/renderer/harness/index.html) with the app's own renderer
// configuration — electron.vite.config.ts resolved by electron-vite, only the input changed — into
// out/renderer/harness/, where browser mode serves it at /harness/index.html. The main build
// (`node scripts/ensure-built.mjs`) empties out/renderer, so this runs after it, and skips the
// work when the harness output is newer than every renderer/core source.
//   node tests/e2e/components/build-harness.mjs [--force]
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const outDir = path.join(root, 'out', 'renderer')
const stamp = path.join(outDir, 'harness', '.harness-stamp')

function newest(p) {
  if (!existsSync(p)) return 0
  const st = statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  let t = 0
  for (const e of readdirSync(p)) t = Math.max(t, newest(path.join(p, e)))
  return t
}

export async function buildHarness({ force = false, quiet = false } = {}) {
  const sources = Math.max(newest(path.join(root, 'src', 'renderer')), newest(path.join(root, 'src', 'core')), newest(path.join(root, 'electron.vite.config.ts')))
  if (!force && existsSync(stamp) && existsSync(path.join(outDir, 'harness', 'index.html')) && statSync(stamp).mtimeMs >= sources) return false
  process.env.NODE_ENV_ELECTRON_VITE = 'production'
  const { resolveConfig } = await import('electron-vite')
  const { build } = await import('vite')
  const resolved = await resolveConfig({ root, logLevel: quiet ? 'warn' : 'info' }, 'build', 'production')
  const renderer = resolved.config.renderer
  if (!renderer) throw new Error('electron.vite.config.ts has no renderer config')
  renderer.build ??= {}
  const input = { harness: path.join(root, 'src', 'renderer', 'harness', 'index.html') }
  renderer.build.rolldownOptions = { ...(renderer.build.rolldownOptions ?? {}), input }
  renderer.build.rollupOptions = renderer.build.rolldownOptions
  renderer.build.outDir = outDir
  renderer.build.emptyOutDir = false
  renderer.build.assetsDir = 'harness/assets'
  renderer.logLevel = quiet ? 'warn' : 'info'
  await build(renderer)
  writeFileSync(stamp, new Date().toISOString())
  return true
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now()
  buildHarness({ force: process.argv.includes('--force') }).then(
    (built) => console.log(built ? `harness built in ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'harness up to date'),
    (err) => {
      console.error(err)
      process.exit(1)
    }
  )
}
