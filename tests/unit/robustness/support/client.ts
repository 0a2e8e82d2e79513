/**
 * A second (third, …) client process for the robustness tests: bundled by support/bundle.ts and run
 * with node, so the tests exercise real concurrent processes on one project home.
 *   client counter FILE N            N locked read-modify-write increments of FILE's JSON counter
 *   client append HOME PROJECT RUN V appends frames of value V·10⁶ + frame + i/1000 until the run is
 *                                    full; prints the frames this process wrote as JSON
 *   client hold FILE MS              takes FILE's lock, prints "held", holds it MS ms
 *   client examples HOME RESOURCES   seeds the Examples project (as a server does at start)
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { withFileLock } from '../../../../src/services/fs/lock'
import { appendRunFrames, getRunSummary } from '../../../../src/services/runs/store'
import { ensureExamplesProject } from '../../../../src/services/project/examples'

const [mode, ...args] = process.argv.slice(2)

async function counter(file: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await withFileLock(file, async () => {
      const v = JSON.parse(await fs.readFile(file, 'utf8')) as { count: number }
      // widen the read-modify-write window: without the lock, the other process would slip in here
      await new Promise((r) => setImmediate(r))
      await fs.writeFile(file, JSON.stringify({ count: v.count + 1 }))
    })
  }
}

async function append(home: string, projectId: string, runId: string, v: number): Promise<void> {
  const meta = await getRunSummary(home, projectId, runId)
  const row = meta.params.replicas * meta.dim
  const F = meta.params.frames
  const mine: number[] = []
  let seed = v * 7919
  const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647
  for (;;) {
    // this client's (possibly stale) view of what is stored, as a client that lost a reply has
    const st = await fs.stat(path.join(meta.path, 'frames.f32'))
    const stored = Math.floor(st.size / (row * 4))
    if (stored >= F) break
    const start = Math.max(0, stored - Math.floor(rnd() * 2))
    const n = Math.min(F - start, 1 + Math.floor(rnd() * 3))
    const a = new Float32Array(n * row)
    for (let t = 0; t < n; t++) for (let i = 0; i < row; i++) a[t * row + i] = v * 1e6 + (start + t) + i / 1000
    const res = await appendRunFrames(home, projectId, runId, start, new Uint8Array(a.buffer))
    for (let f = res.framesStored - res.written; f < res.framesStored; f++) mine.push(f)
  }
  process.stdout.write(JSON.stringify(mine) + '\n')
}

async function hold(file: string, ms: number): Promise<void> {
  await withFileLock(file, async () => {
    process.stdout.write('held\n')
    await new Promise((r) => setTimeout(r, ms))
  })
}

async function main(): Promise<void> {
  if (mode === 'counter') await counter(args[0]!, Number(args[1]))
  else if (mode === 'append') await append(args[0]!, args[1]!, args[2]!, Number(args[3]))
  else if (mode === 'hold') await hold(args[0]!, Number(args[1]))
  else if (mode === 'examples') await ensureExamplesProject({ home: args[0]!, resourcesDir: args[1]!, transport: 'http', emit: () => undefined })
  else throw new Error(`client: unknown mode ${String(mode)}`)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(1)
  }
)
