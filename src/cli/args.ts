import { UserError } from '../core/errors'

/** What a command accepts: flag name (without --) → kind. Repeated positional arguments are allowed when `positional` is set. */
export interface FlagSpec {
  [flag: string]: 'string' | 'number' | 'int' | 'boolean'
}

export interface ParsedArgs {
  flags: Record<string, string | number | boolean | undefined>
  positional: string[]
}

/**
 * Parses `--flag value`, `--flag=value` and boolean `--flag` / `--no-flag` against a spec.
 * Unknown flags, missing values and non-numeric numbers raise a one-line UserError naming the flag.
 */
export function parseArgs(command: string, argv: string[], spec: FlagSpec, allowPositional = false): ParsedArgs {
  const flags: ParsedArgs['flags'] = {}
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) {
      if (!allowPositional) throw new UserError(`${command}: unexpected argument '${arg}' (see diffmd ${command} --help)`, 'bad-flag')
      positional.push(arg)
      continue
    }
    let name = arg.slice(2)
    let value: string | undefined
    const eq = name.indexOf('=')
    if (eq >= 0) {
      value = name.slice(eq + 1)
      name = name.slice(0, eq)
    }
    const kind = spec[name]
    if (kind === undefined) {
      if (name.startsWith('no-') && spec[name.slice(3)] === 'boolean' && value === undefined) {
        flags[name.slice(3)] = false
        continue
      }
      throw new UserError(`${command}: unknown flag --${name} (see diffmd ${command} --help)`, 'bad-flag')
    }
    if (kind === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new UserError(`${command}: --${name} takes no value (got '${value}')`, 'bad-flag')
      }
      flags[name] = value !== 'false'
      continue
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined || (next.startsWith('--') && !/^--?\d/.test(next))) {
        throw new UserError(`${command}: --${name} needs a value`, 'bad-flag')
      }
      value = next
      i++
    }
    if (kind === 'number' || kind === 'int') {
      const num = Number(value)
      if (value.trim() === '' || !Number.isFinite(num)) {
        throw new UserError(`${command}: --${name} must be a number (got '${value}')`, 'bad-flag')
      }
      if (kind === 'int' && !Number.isInteger(num)) {
        throw new UserError(`${command}: --${name} must be an integer (got '${value}')`, 'bad-flag')
      }
      flags[name] = num
    } else {
      flags[name] = value
    }
  }
  return { flags, positional }
}

/** Helpers for commands: typed getters with clear one-line errors. */
export function requireFlag<T>(command: string, flags: ParsedArgs['flags'], name: string): T {
  const v = flags[name]
  if (v === undefined) throw new UserError(`${command}: --${name} is required`, 'bad-flag')
  return v as T
}

export function positiveFlag(command: string, flags: ParsedArgs['flags'], name: string, fallback?: number): number {
  const v = flags[name] ?? fallback
  if (v === undefined) throw new UserError(`${command}: --${name} is required`, 'bad-flag')
  if (typeof v !== 'number' || !(v > 0)) throw new UserError(`${command}: --${name} must be positive (got ${String(v)})`, 'bad-flag')
  return v
}

export function choiceFlag<T extends string>(command: string, flags: ParsedArgs['flags'], name: string, choices: readonly T[], fallback?: T): T {
  const v = (flags[name] ?? fallback) as string | undefined
  if (v === undefined) throw new UserError(`${command}: --${name} is required (one of ${choices.join(', ')})`, 'bad-flag')
  if (!choices.includes(v as T)) throw new UserError(`${command}: --${name} must be one of ${choices.join(', ')} (got '${v}')`, 'bad-flag')
  return v as T
}
