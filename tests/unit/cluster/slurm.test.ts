/**
 * A real single-node Slurm (Debian's slurm-wlm and munge; docs/cluster.md): the test starts munged,
 * slurmctld and slurmd itself with a temporary slurm.conf for this machine, submits a sweep's
 * 2-task job array with `diffmd sweep --submit`, requeues task 0 while it runs (`scontrol requeue`
 * kills it), lets it resume its checkpoint, merges, and compares with the single-process run bit
 * for bit. Skipped, with the reason printed, when Slurm or munge is not installed or not root.
 * Daemons are always torn down (by the pids this test started).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { trajectoryFromJson, type Trajectory } from '../../../src/core/trajectory'

const which = (cmd: string): string | undefined => {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) if (existsSync(path.join(d, cmd))) return path.join(d, cmd)
  return undefined
}
const tools = ['sbatch', 'squeue', 'scontrol', 'sinfo', 'slurmctld', 'slurmd', 'munged']
const missing = tools.filter((t) => !which(t))
const built = existsSync('out/cli/diffmd.mjs')
const root = process.getuid?.() === 0
const skipReason = missing.length ? `Slurm/munge not installed (missing ${missing.join(', ')}; apt-get install slurm-wlm munge)` : !root ? 'slurmd must run as root' : !built ? 'the CLI is not built (npm run build:cli)' : ''
if (skipReason) console.warn(`slurm.test: skipped: ${skipReason}`)

const SIM = ['--system', 'double-well', '--dim', '8', '--eta', '0.001', '--replicas', '16', '--frames', '3000', '--inner-steps', '20', '--seed', '3']
const ROW_BYTES = 8 * 8 * 4

let dir = ''
let env: NodeJS.ProcessEnv = {}
const daemons: ChildProcess[] = []
let jobId = ''

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

function sh(cmd: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' }
}

function daemon(cmd: string, args: string[], log: string): ChildProcess {
  const fd = openSync(path.join(dir, log), 'a')
  const p = spawn(which(cmd)!, args, { env, stdio: ['ignore', fd, fd] })
  daemons.push(p)
  return p
}

async function until<T>(what: string, seconds: number, probe: () => T | undefined | false, logs: string[] = []): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() - t0 > seconds * 1000) {
      const tail = logs.map((l) => `--- ${l}\n${existsSync(path.join(dir, l)) ? readFileSync(path.join(dir, l), 'utf8').split('\n').slice(-15).join('\n') : '(none)'}`).join('\n')
      throw new Error(`slurm.test: timed out after ${seconds} s waiting for ${what}\n${tail}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function startSlurm(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-slurm-'))
  chmodSync(dir, 0o755)
  for (const d of ['state', 'spool']) mkdirSync(path.join(dir, d))
  const key = path.join(dir, 'munge.key')
  const dd = spawnSync('dd', ['if=/dev/urandom', `of=${key}`, 'bs=1', 'count=1024'], { stdio: 'ignore' })
  if (dd.status !== 0) throw new Error('slurm.test: dd could not write the munge key')
  chmodSync(key, 0o400)
  const sock = path.join(dir, 'munge.sock')
  env = { ...process.env, SLURM_CONF: path.join(dir, 'slurm.conf') }
  daemon('munged', ['-F', '--force', `--key-file=${key}`, `--socket=${sock}`, `--pid-file=${dir}/munged.pid`, `--log-file=${dir}/munged.log`, `--seed-file=${dir}/munged.seed`], 'munged.out')
  await until('munged to create its socket', 15, () => existsSync(sock), ['munged.out'])
  const node = hostname().split('.')[0]!
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()]
  writeFileSync(
    env.SLURM_CONF!,
    [
      'ClusterName=diffmdtest',
      `SlurmctldHost=${node}(127.0.0.1)`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${sock}`,
      'CredType=cred/munge',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SchedulerType=sched/builtin',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      'ReturnToService=2',
      'KillWait=2',
      'MinJobAge=300',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus().length} RealMemory=500 State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n')
  )
  daemon('slurmctld', ['-D', '-i', '-f', env.SLURM_CONF!], 'slurmctld.out')
  daemon('slurmd', ['-D', '-f', env.SLURM_CONF!, '-N', node], 'slurmd.out')
  await until('the node to come up idle (sinfo)', 40, () => /idle/.test(sh(which('sinfo')!, ['-h', '-o', '%T']).out), ['slurmctld.out', 'slurmctld.log', 'slurmd.out', 'slurmd.log'])
}

async function stopSlurm(): Promise<void> {
  if (jobId) sh(which('scancel') ?? 'scancel', [jobId])
  // slurmd first (its job steps are gone once scancel'd), then the controller, then munge
  for (const p of daemons.slice().reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue
    const gone = new Promise<void>((r) => p.once('exit', () => r()))
    p.kill('SIGTERM')
    const t = setTimeout(() => p.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(t)
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
}

const bytes = (t: Trajectory): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)
const read = (file: string): Trajectory => trajectoryFromJson(readFileSync(file, 'utf8'), file)

describe.skipIf(skipReason !== '')('a real single-node Slurm: sweep --submit, requeue a running task, merge', () => {
  beforeAll(startSlurm, 60_000)
  afterAll(stopSlurm, 30_000)

  it('the merged 2-task array equals the single-process run bit for bit after task 0 was killed and requeued', async () => {
    const job = path.join(dir, 'job')
    const diffmd = (args: string[]): { code: number | null; out: string; err: string } => sh(process.execPath, ['bin/diffmd.js', ...args])
    const sub = diffmd(['sweep', '--out', job, '--replica-blocks', '2', '--throttle', '2', '--submit', ...SIM])
    expect(sub.err).toBe('')
    expect(sub.code).toBe(0)
    jobId = /submitted job (\d+)/.exec(sub.out)?.[1] ?? ''
    expect(jobId).not.toBe('')
    const task0 = `${jobId}_0`
    const ck = path.join(job, 'shards', '0', 'checkpoint', 'frames.f32')
    const logs = ['slurmctld.log', 'slurmd.log']
    // task 0 running with frames on disk (appended 64 at a time), then requeued: Slurm kills it
    await until('task 0 to store 128 frames', 60, () => existsSync(ck) && statSync(ck).size >= 128 * ROW_BYTES, logs)
    const rq = sh(which('scontrol')!, ['requeue', task0])
    expect(rq.err).toBe('')
    expect(rq.code).toBe(0)
    const killedAt = statSync(ck).size / ROW_BYTES
    expect(killedAt).toBeLessThan(3000)
    // a requeued job waits ~2 min (BeginTime); let it go now
    await until('task 0 to be pending after the requeue', 20, () => /PENDING/.test(sh(which('scontrol')!, ['show', 'job', task0]).out), logs)
    expect(existsSync(path.join(job, 'shards', '0', 'frames.json'))).toBe(false)
    expect(sh(which('scontrol')!, ['update', `JobId=${task0}`, 'StartTime=now']).code).toBe(0)
    await until('both tasks to finish', 90, () => sh(which('squeue')!, ['-h', '-j', jobId]).out.trim() === '' && [0, 1].every((k) => existsSync(path.join(job, 'shards', String(k), 'frames.json'))), logs)
    const log0 = readFileSync(path.join(job, 'logs', 'task-0.out'), 'utf8')
    expect(log0).toMatch(/resuming from frame \d+ stored in/)
    expect(sh(which('scontrol')!, ['show', 'job', task0]).out).toMatch(/Restarts=1/)
    const merged = diffmd(['merge', job])
    expect(merged.code).toBe(0)
    const ref = path.join(dir, 'ref.json')
    expect(diffmd(['simulate', ...SIM, '--threads', '1', '--out', ref]).code).toBe(0)
    const a = read(ref)
    const b = read(path.join(job, 'merged', 'r0.json'))
    expect([b.replicas, b.frames]).toEqual([16, 3000])
    expect(bytes(b).equals(bytes(a))).toBe(true)
  }, 150_000)
})
