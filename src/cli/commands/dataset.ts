import path from 'node:path'
import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { parseArgs, requireFlag } from '../args'
import { importDataset, listDatasets, type DatasetManifest } from '../../services/datasets'

const usage = `diffmd dataset import FILES... --project DIR [--select EXPR] [--top FILE] [--stride S] [--begin PS] [--end PS] [--name NAME] [--no-align] [--reference N] [--json]
diffmd dataset list --project DIR [--json]

  import   reads snapshots (many files and/or multi-model files; all must list the same atoms):
           PDB, mmCIF, GRO, PQR, XYZ (also extended and Tinker), plain, .gz or .bz2, identified
           by content; or DCD/XTC/TRR trajectories with their topology (the one structure file
           given with them, or --top FILE), every --stride S-th frame of those between --begin
           and --end (ps; docs/formats.md). Keeps the selected atoms, centres and superposes every frame on
           the reference frame (0-based --reference, default 0; --no-align keeps coordinates as
           read) and stores them as DIR/datasets/<id>/. Prints the id, frames, atoms and σ_data
           (the RMS of the stored coordinates minus the mean structure, Å).
           --select: a selection (docs/selection.md): all (default), heavy, backbone, ca, or an
           expression such as 'protein and not hydrogen', 'name CA', 'resid 2 to 5'. Water and ions
           are left out unless the selection names them (water, ion, solvent); a note says so.
  list     the datasets of a project.`

function summary(m: DatasetManifest): Record<string, unknown> {
  return {
    id: m.id,
    name: m.name,
    created: m.created,
    frames: m.frames,
    atoms: m.atoms.count,
    selection: m.atoms.selection,
    aligned: m.aligned,
    referenceFrame: m.referenceFrame,
    sigmaData: m.sigmaData,
    alignmentRmsd: m.alignmentRmsd,
    duplicates: m.duplicates,
    sources: m.sources.map((s) => ({ name: s.name, frames: s.frames, sha256: s.sha256, ...(s.role ? { role: s.role, format: s.format, framesInFile: s.framesInFile, spacingPs: s.spacingPs } : {}) })),
    warnings: m.warnings,
  }
}

async function runImport(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs('dataset import', argv, { project: 'string', select: 'string', name: 'string', align: 'boolean', reference: 'int', json: 'boolean', top: 'string', stride: 'int', begin: 'number', end: 'number' }, true)
  const project = requireFlag<string>('dataset import', flags, 'project')
  if (positional.length === 0) throw new UserError('dataset import: give one or more snapshot files, or a trajectory and its topology (diffmd dataset import FILES... --project DIR)', 'bad-flag')
  const select = (flags.select as string | undefined) ?? 'all' // any selection expression (docs/selection.md), checked by the import
  const json = flags.json === true
  const showProgress = !json && process.stderr.isTTY === true
  let lastPct = -1
  const manifest = await importDataset(project, positional, {
    select,
    name: flags.name as string | undefined,
    align: flags.align !== false,
    referenceFrame: flags.reference as number | undefined,
    top: flags.top as string | undefined,
    stride: flags.stride as number | undefined,
    beginPs: flags.begin as number | undefined,
    endPs: flags.end as number | undefined,
    onProgress: showProgress
      ? (p) => {
          const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100
          if (pct !== lastPct) {
            lastPct = pct
            process.stderr.write(`\rreading ${path.basename(p.file)}: ${pct}% (${p.frames} frames)`)
          }
        }
      : undefined,
  })
  if (showProgress) process.stderr.write('\n')
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary(manifest), path: path.join(path.resolve(project), 'datasets', manifest.id) }, null, 2) + '\n')
  } else {
    for (const w of manifest.warnings) process.stderr.write(`warning: ${w}\n`)
    process.stdout.write(
      `${manifest.id}\n  frames: ${manifest.frames}\n  atoms: ${manifest.atoms.count} (${manifest.atoms.selection} of ${manifest.atoms.sourceCount})\n  sigma_data: ${manifest.sigmaData.toFixed(4)} Å\n` +
        (manifest.alignmentRmsd ? `  aligned on frame ${manifest.referenceFrame}: RMSD mean ${manifest.alignmentRmsd.mean.toFixed(3)} Å, max ${manifest.alignmentRmsd.max.toFixed(3)} Å\n` : '  not aligned\n') +
        manifest.sources.map((s) => `  ${s.role === 'topology' ? 'topology' : 'source'}: ${s.name}${s.role === 'topology' ? '' : ` (${s.frames}${s.framesInFile !== undefined && s.framesInFile !== s.frames ? ` of ${s.framesInFile}` : ''} frames${s.spacingPs != null ? `, spacing ${s.spacingPs} ps` : ''})`}\n`).join('') +
        `  duplicates: ${manifest.duplicates.exact} exact, ${manifest.duplicates.nearPairs} near pairs (RMSD < ${manifest.duplicates.thresholdA} Å)\n`
    )
  }
  return 0
}

async function runList(argv: string[]): Promise<number> {
  const { flags } = parseArgs('dataset list', argv, { project: 'string', json: 'boolean' })
  const project = requireFlag<string>('dataset list', flags, 'project')
  const all = await listDatasets(project)
  if (flags.json === true) {
    process.stdout.write(JSON.stringify(all.map(summary), null, 2) + '\n')
    return 0
  }
  if (all.length === 0) {
    process.stdout.write(`no datasets in ${path.resolve(project)}\n`)
    return 0
  }
  for (const m of all) {
    process.stdout.write(`${m.id}\t${m.frames} frames\t${m.atoms.count} atoms (${m.atoms.selection})\tsigma_data ${m.sigmaData.toFixed(4)} Å\t${m.created}\t${m.name}\n`)
  }
  return 0
}

const cmd: Command = {
  summary: 'import snapshots (PDB, mmCIF, GRO, PQR, XYZ; DCD/XTC/TRR with a topology) into a project dataset',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv
    if (sub === 'import') return runImport(rest)
    if (sub === 'list') return runList(rest)
    throw new UserError(`dataset: unknown subcommand '${sub ?? ''}' (use import or list; see diffmd dataset --help)`, 'bad-flag')
  },
}
export default cmd
