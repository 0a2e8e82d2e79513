// Runs a TypeScript script (benchmarks, tools) by bundling it with esbuild into out/scripts and running node on it.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { root } from './ensure-built.mjs'

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args…]')
  process.exit(2)
}
const outfile = path.join(root, 'out', 'scripts', path.basename(entry).replace(/\.ts$/, '.mjs'))
await build({
  entryPoints: [path.resolve(entry)],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'electron', 'playwright-core', '@playwright/test', 'playwright'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
})
const child = spawn(process.execPath, [outfile, ...args], { stdio: 'inherit' })
child.on('exit', (code) => process.exit(code ?? 1))
