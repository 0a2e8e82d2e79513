#!/usr/bin/env node
// Shim for the `diffmd` command: runs the CLI bundle that `npm ci` builds (prepare → scripts/build-cli.mjs).
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bundle = path.join(root, 'out', 'cli', 'diffmd.mjs')
if (!existsSync(bundle)) {
  process.stderr.write('diffmd: the CLI is not built; run `npm ci` (or `npm run build:cli`) in ' + root + '\n')
  process.exit(1)
}
const { main } = await import(pathToFileURL(bundle).href)
process.exitCode = await main(process.argv.slice(2))
