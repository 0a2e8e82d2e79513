// Fails when code in src/, tests/, scripts/ or bench/ refers to a path outside the repository, so that
// `npm ci && npm test` passes on a machine that has nothing beside the checkout.
//
// The rule (every text file under those folders; node_modules, out and binary files are skipped):
//  1. Machine-specific absolute paths: a path from the filesystem root into one of HOST_ROOTS (work, home,
//     Users, root, tmp, mnt, media, srv, scratch, opt, var, private; also after file://), or a Windows
//     drive path into Users, home or work. These name one person's machine. Temporary files come from os.tmpdir(), test data
//     from the repository. System locations that name programs or devices (/usr, /bin, /dev, /proc, /etc,
//     e.g. /usr/bin/chromium as a fallback browser) are allowed: they are never project data.
//  2. Relative paths that climb out: a quoted string whose text starts with `..` (up to the first `${`)
//       a. as a module specifier (import … from, import(), require(), vi.mock(), new URL(…, import.meta.url))
//          or anywhere else, resolved from the file's own folder, must stay inside the repository;
//       b. joined onto the repository root or the working directory (path.join/resolve(root | repoRoot |
//          ROOT | REPO_ROOT | process.cwd(), '..…')) always leaves the repository: refused;
//       c. as the first argument of an fs call (readFileSync, readFile, existsSync, stat, open, …) it is
//          read from the working directory, which is the repository root when tests run: refused.
//  A line may opt out with a comment `paths-ok: <reason>` (for tests that feed deliberately bad paths to
//  a validator); the reason is required.
//
// Usage: node scripts/check-paths.mjs [--root DIR]   (prints each finding as file:line: reason; exit 1 if any)
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const FOLDERS = ['src', 'tests', 'scripts', 'bench']
const SKIP_DIRS = new Set(['node_modules', 'out', 'dist', '.git', 'test-results', 'playwright-report'])
const BINARY_EXT = new Set(['.onnx', '.gz', '.bin', '.png', '.jpg', '.jpeg', '.gif', '.ico', '.woff', '.woff2', '.ttf', '.dcd', '.xtc', '.trr', '.wasm', '.zip'])

const HOST_ROOTS = 'work|home|Users|root|tmp|mnt|media|srv|scratch|opt|var|private'
const ABSOLUTE = new RegExp(`(?<![\\w.~\\-/])(?:file://)?/(?:${HOST_ROOTS})(?=[/'"\`\\s)\\],;:]|$)`)
const WINDOWS = /(?<![\w])[A-Za-z]:(?:\\\\|\\|\/)(?:Users|home|work)\b/i
const STRING = /(['"`])((?:\\.|(?!\1)[^\\\n])*)\1/g
const ROOT_JOIN = /\b(?:join|resolve)\(\s*(?:root|repoRoot|ROOT|REPO_ROOT|process\.cwd\(\))\s*,\s*(['"`])\.\.(?:[/\\]|\1)/
const FS_CALL = /\b(?:readFileSync|readFile|writeFileSync|writeFile|existsSync|exists|statSync|stat|lstat|readdirSync|readdir|openSync|open|access|accessSync|createReadStream|createWriteStream|copyFile|cp|rm|rmSync|mkdir|mkdirSync)\(\s*(['"`])\.\.(?:[/\\]|\1)/
const OPT_OUT = /paths-ok:\s*\S/

/**
 * Findings for one file's text. `file` is the file's absolute path, `root` the repository's.
 * @returns {{ line: number, reason: string }[]}
 */
export function checkText(text, file, root) {
  const findings = []
  const dir = path.dirname(file)
  const inside = (p) => {
    const rel = path.relative(root, p)
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
  }
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (OPT_OUT.test(line)) continue
    const at = (reason) => findings.push({ line: i + 1, reason })
    const abs = line.match(ABSOLUTE) ?? line.match(WINDOWS)
    if (abs) at(`absolute path outside the repository (${abs[0].trim()}…): keep test data in the repository, temporary files under os.tmpdir()`)
    if (ROOT_JOIN.test(line)) at("'..' joined onto the repository root points outside it")
    if (FS_CALL.test(line)) at("a relative '../' path read from the working directory (the repository root) points outside it")
    for (const m of line.matchAll(STRING)) {
      const body = m[2].split('${')[0]
      if (body !== '..' && !body.startsWith('../') && !body.startsWith('..\\')) continue
      const target = path.resolve(dir, body.replace(/\\/g, '/'))
      if (!inside(target)) at(`'${m[2]}' resolved from ${path.relative(root, dir) || '.'}/ leaves the repository`)
    }
  }
  return findings
}

function* textFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* textFiles(p)
    else if (entry.isFile() && !BINARY_EXT.has(path.extname(entry.name).toLowerCase())) yield p
  }
}

/** findings for every text file under FOLDERS of `root` */
export function checkRepo(root) {
  const out = []
  for (const folder of FOLDERS) {
    const base = path.join(root, folder)
    try {
      if (!statSync(base).isDirectory()) continue
    } catch {
      continue
    }
    for (const file of textFiles(base)) {
      const buf = readFileSync(file)
      if (buf.includes(0)) continue // binary
      for (const f of checkText(buf.toString('utf8'), file, root)) out.push({ file: path.relative(root, file), ...f })
    }
  }
  return out
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--root')
  const root = path.resolve(i > 0 ? process.argv[i + 1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'))
  const findings = checkRepo(root)
  for (const f of findings) console.log(`${f.file}:${f.line}: ${f.reason}`)
  console.log(findings.length ? `check-paths: ${findings.length} path(s) outside the repository` : `check-paths: no path outside the repository in ${FOLDERS.join('/, ')}/`)
  process.exit(findings.length ? 1 : 0)
}
