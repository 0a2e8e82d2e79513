// Builds the app (electron-vite: main, preload, renderer; esbuild: CLI + server) when any source is
// newer than the last build, so `npm start` / `npm run serve` always run what is in src/.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const stamp = path.join(root, 'out', '.build-stamp')

function newest(dir) {
  let t = 0
  if (!existsSync(dir)) return t
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

export function ensureBuilt({ quiet = false } = {}) {
  const sources = Math.max(newest(path.join(root, 'src')), statSync(path.join(root, 'electron.vite.config.ts')).mtimeMs, statSync(path.join(root, 'package.json')).mtimeMs)
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0
  if (built >= sources && existsSync(path.join(root, 'out', 'renderer', 'index.html')) && existsSync(path.join(root, 'out', 'serve', 'server.mjs'))) return
  if (!quiet) console.log('DiffMD Studio: building (sources changed since the last build)…')
  const bin = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'electron-vite.cmd' : 'electron-vite')
  let r = spawnSync(bin, ['build'], { cwd: root, stdio: quiet ? 'pipe' : ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) {
    if (quiet) process.stderr.write(r.stderr?.toString() ?? '')
    throw new Error('electron-vite build failed')
  }
  r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-cli.mjs')], { cwd: root, stdio: quiet ? 'pipe' : 'inherit', env: { ...process.env, DIFFMD_BUILD_QUIET: '1' } })
  if (r.status !== 0) throw new Error('CLI build failed')
  writeFileSync(stamp, new Date().toISOString())
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) ensureBuilt()
