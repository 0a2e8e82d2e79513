/** Bundles a robustness-test client (TypeScript) into out/test-clients/ with esbuild and runs it as a real process. */
import { build } from 'esbuild'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

export async function bundleClient(entry: string): Promise<string> {
  const outfile = path.resolve('out', 'test-clients', path.basename(entry).replace(/\.ts$/, '.mjs'))
  await build({
    entryPoints: [path.resolve(entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'electron'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  })
  return outfile
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** runs `node script args…`; resolves when it exits */
export function runClient(script: string, args: string[], onStdout?: (text: string, child: ChildProcess) => void): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
    onStdout?.(stdout, child)
  })
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Finished>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })))
  return { child, done }
}
