// Bundles the headless entries (CLI, Node worker threads, browser-mode server) with esbuild into out/.
// Runs on `npm ci` (prepare) so `npx diffmd` works with no separate build step.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const nodeEntries = {
  'cli/diffmd': 'src/cli/main.ts',
  'serve/server': 'src/serve/server.ts',
}
// Worker threads get their own files next to the bundles that start them.
export const workerEntries = {
  'cli/train-worker': 'src/services/models/train-worker.ts',
  'cli/self-check-worker': 'src/services/models/self-check-worker.ts',
  'cli/simulate-worker': 'src/cli/simulate-worker.ts',
  'cli/run-worker': 'src/services/models/run-worker.ts',
}

const started = Date.now()
await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries({ ...nodeEntries, ...workerEntries }).map(([k, v]) => [k, path.join(root, v)])),
  outdir: path.join(root, 'out'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  // native/runtime packages stay external and load from node_modules
  external: ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'electron'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
})
if (process.env.DIFFMD_BUILD_QUIET !== '1') console.log(`diffmd: CLI built in ${Date.now() - started} ms`)
