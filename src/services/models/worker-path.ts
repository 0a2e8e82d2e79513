/**
 * Where a bundled worker-thread file lives relative to the running code: next to a CLI bundle or
 * chunk, in out/cli from Electron main or from source (tests); an environment variable overrides.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export function findBundledWorker(file: string, envVar: string): string | undefined {
  const env = process.env[envVar]
  if (env) return env
  for (const c of [`./${file}`, `../cli/${file}`, `../../out/cli/${file}`, `../../../out/cli/${file}`]) {
    try {
      const p = fileURLToPath(new URL(c, import.meta.url))
      if (existsSync(p)) return p
    } catch {
      // not a file: URL (bundled differently)
    }
  }
  return undefined
}
