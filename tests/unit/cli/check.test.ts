/**
 * `diffmd check` end to end on the shipped ala2 model (real onnxruntime-node), at a size that runs
 * in seconds: the report has every Δt, the verdict follows the per-Δt flags, the summary lands in
 * the model card (and --no-save leaves the card byte for byte), and bad input is one clear line.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import check from '../../../src/cli/commands/check'
import { UserError } from '../../../src/core/errors'

const repo = path.resolve(__dirname, '../../..')
let dir = ''
let model = ''
let card = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffmd-check-'))
  // the card names its data relative to itself: ../examples/ala2/…
  await mkdir(path.join(dir, 'models'))
  await mkdir(path.join(dir, 'examples/ala2'), { recursive: true })
  model = path.join(dir, 'models/ala2.onnx')
  card = path.join(dir, 'models/ala2.card.json')
  await copyFile(path.join(repo, 'resources/models/ala2-default.onnx'), model)
  await copyFile(path.join(repo, 'resources/models/ala2-default.card.json'), card)
  await copyFile(path.join(repo, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz'), path.join(dir, 'examples/ala2/ala2_snapshots_all.pdb.gz'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  try {
    return { code: await check.run(argv), stdout }
  } finally {
    spy.mockRestore()
  }
}

const tiny = ['--dt', '5', '--ns', '0.3', '--replicas', '4', '--iid', '200', '--iid-steps', '40', '--seed', '3']

describe('diffmd check', () => {
  it('writes the verdict and recommended Δt into the model card, consistent with the per-Δt flags', async () => {
    const { code, stdout } = await run(['--model', model, ...tiny, '--json'])
    expect(code).toBe(0)
    const out = JSON.parse(stdout) as { summary: { perDt: { dtPs: number; equilibriumOk: boolean; kineticsOk: boolean }[]; recommendedDtPs?: number; verdict: string }; report: { perDt: unknown[]; options: { framePs: number } } }
    expect(out.report.perDt).toHaveLength(1)
    // Δt 5 and Δt/2 = 2.5: frames every 5 ps
    expect(out.report.options.framePs).toBe(5)
    const row = out.summary.perDt[0]!
    expect(row.dtPs).toBe(5)
    // a Δt is recommended when its equilibrium is right, or not resolved (too short a run to tell — the
    // verdict then says so); a Δt whose equilibrium differs never is
    const row2 = row as { equilibriumOk: boolean; equilibriumUnresolved?: boolean }
    if (row2.equilibriumOk || row2.equilibriumUnresolved) expect(out.summary.recommendedDtPs).toBe(5)
    else expect(out.summary.recommendedDtPs).toBeUndefined()
    if (row2.equilibriumUnresolved) expect(out.summary.verdict).toMatch(/not resolved/)
    const saved = JSON.parse(await readFile(card, 'utf8')) as { selfCheck?: { verdict: string; recommendedDtPs?: number } }
    expect(saved.selfCheck?.verdict).toBe(out.summary.verdict)
    expect(saved.selfCheck?.recommendedDtPs).toBe(out.summary.recommendedDtPs)
  })
  it('--no-save leaves the card unchanged; the same seed gives the same report on one thread and with work side by side in three', async () => {
    const before = await readFile(card)
    // 600 i.i.d. samples are 3 chunks: more than the 2 runs (Δt 5 and 2.5 ps)
    const tiny600 = tiny.map((v, i) => (tiny[i - 1] === '--iid' ? '600' : v))
    const a = await run(['--model', model, ...tiny600, '--json', '--no-save', '--threads', '1'])
    const b = await run(['--model', model, ...tiny600, '--json', '--no-save', '--threads', '3'])
    expect(Buffer.compare(before, await readFile(card))).toBe(0)
    expect(JSON.parse(a.stdout).report.concurrency).toBe(1)
    // three worker threads (run-pool.ts), each with its own onnxruntime session: the i.i.d. chunks
    // use all three, the two runs two of them
    expect(JSON.parse(b.stdout).report.concurrency).toBe(3)
    const strip = (s: string) => JSON.stringify({ ...JSON.parse(s).report, wallSeconds: 0, concurrency: 0 }) + JSON.stringify({ ...JSON.parse(s).summary, createdAt: '' })
    expect(strip(a.stdout)).toBe(strip(b.stdout))
  })
  it('refuses bad input with one line naming the flag or file, leaving the card as it was', async () => {
    const before = await readFile(card)
    await expect(run(['--dt', '1'])).rejects.toThrow(/--model FILE.onnx is required/)
    await expect(run(['--model', model, '--dt', '1,x'])).rejects.toThrow(/--dt '1,x'/)
    await expect(run(['--model', model, '--dt', '5', '--replicas', '2'])).rejects.toThrow(/--replicas must be a whole number ≥ 4/)
    await expect(run(['--model', model, '--dt', '5', '--replicas', '8', '--max-replicas', '6'])).rejects.toThrow(/--max-replicas must be a whole number ≥ --replicas \(8\)/)
    const lone = path.join(dir, 'lone.onnx')
    await copyFile(model, lone)
    await expect(run(['--model', lone])).rejects.toThrow(UserError)
    await expect(run(['--model', lone])).rejects.toThrow(/no model card beside it/)
    expect(Buffer.compare(before, await readFile(card))).toBe(0)
  })
})
