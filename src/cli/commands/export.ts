import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { choiceFlag, parseArgs, requireFlag } from '../args'
import { EXPORT_FORMATS, exportTrajectoryFile, formatOfFile } from '../../services/exports'

const usage = `diffmd export --in FILE --out FILE [--format pdb|dcd|xyz|json] [--topology REF.pdb] [--replica N] [--select EXPR]

  Converts a trajectory (.json from diffmd simulate, .dcd, .xyz or multi-model .pdb; .gz allowed)
  to a multi-model PDB, a DCD (+ its topology NAME.top.pdb beside it), XYZ or JSON.
  --format defaults to the extension of --out. --topology names the atoms (a PDB of the same
  atoms, e.g. the dataset's topology.pdb); without it, atoms come from the input, or are dummy
  atoms X (3 coordinates each, zero-padded). --replica N (0-based) writes one replica; default all,
  one after another. --select EXPR writes only the selected atoms (docs/selection.md, e.g.
  'backbone', 'not hydrogen'; needs atom names). Provenance goes to REMARK lines and FILE.provenance.json.`

const cmd: Command = {
  summary: 'convert a trajectory to PDB, DCD or XYZ',
  usage,
  async run(argv) {
    const { flags } = parseArgs('export', argv, { in: 'string', out: 'string', format: 'string', topology: 'string', replica: 'int', select: 'string' })
    const input = requireFlag<string>('export', flags, 'in')
    const out = requireFlag<string>('export', flags, 'out')
    const format = choiceFlag('export', flags, 'format', EXPORT_FORMATS, formatOfFile(out))
    const replica = flags.replica as number | undefined
    if (replica !== undefined && replica < 0) throw new UserError(`export: --replica must be 0 or more (got ${replica})`, 'bad-flag')
    const files = await exportTrajectoryFile(input, flags.topology as string | undefined, format, out, { replica, ...(flags.select !== undefined ? { select: flags.select as string } : {}) })
    for (const f of files) process.stdout.write(`${f}\n`)
    return 0
  },
}
export default cmd
