/**
 * `diffmd merge DIR`: joins a sweep's shards into one JSON trajectory per run (docs/cluster.md);
 * the merged run equals the single-process run with the same seed bit for bit.
 */
import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { parseArgs } from '../args'
import { mergeJob } from '../../services/cluster/merge'

const usage = `diffmd merge — join a sweep's shards into runs

  diffmd merge DIR [--out FOLDER]

  DIR          a job folder written by diffmd sweep whose array tasks have all finished
  --out FOLDER where the runs go (default DIR/merged): ID.json per run, the JSON trajectory that
               diffmd export / analyze and the app's import read
  --json       print what was written as JSON`

const cmd: Command = {
  summary: "join a sweep's shards into one trajectory per run",
  usage,
  async run(argv) {
    const { flags, positional } = parseArgs('merge', argv, { out: 'string', json: 'boolean' }, true)
    if (positional.length !== 1) throw new UserError('merge: give one job folder (diffmd merge DIR)', 'bad-flag')
    const dir = positional[0]!
    const { runs } = await mergeJob(dir, flags.out as string | undefined)
    if (flags.json) {
      process.stdout.write(JSON.stringify({ runs: runs.map((r) => ({ id: r.run.id, label: r.run.label, file: r.file, replicas: r.trajectory.replicas, frames: r.trajectory.frames })) }) + '\n')
    } else {
      for (const r of runs) process.stdout.write(`wrote ${r.file}: ${r.run.label}, ${r.trajectory.replicas} replicas × ${r.trajectory.frames} frames × ${r.trajectory.dim} coordinates\n`)
    }
    return 0
  },
}
export default cmd
