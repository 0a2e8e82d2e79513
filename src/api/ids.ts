/**
 * The one id rule, shared by the API schemas (src/api) and every service that turns an id into a
 * folder name (projects, datasets, models, runs, imports, training jobs). An id is safe as a single
 * path segment on Linux, macOS and Windows:
 *   - 1…128 characters: ASCII letters, digits, '.', '_' and '-';
 *   - starts with a letter or digit (no hidden files, no option-like '-x');
 *   - no '..' anywhere (no parent-directory segment, no 'a..b' that some tools collapse);
 *   - does not end with '.' (Windows drops a trailing dot, so 'a.' and 'a' would be one folder);
 *   - is not a Windows device name (CON, PRN, AUX, NUL, COM1…9, LPT1…9, with or without an extension).
 */
import { z } from 'zod'
import { UserError } from '../core/errors'

export const ID_MAX_LENGTH = 128
const ID_CHARS = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i

/** Why `id` is not a valid id, or undefined when it is. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'an id must be a string'
  if (id.length === 0) return 'an id must not be empty'
  if (id.length > ID_MAX_LENGTH) return `an id has at most ${ID_MAX_LENGTH} characters`
  if (!ID_CHARS.test(id)) return "an id is letters, digits, '.', '_' and '-', starting with a letter or digit"
  if (id.includes('..')) return "an id must not contain '..'"
  if (id.endsWith('.')) return "an id must not end with '.'"
  if (WINDOWS_DEVICE.test(id)) return 'an id must not be a Windows device name (CON, PRN, AUX, NUL, COM1…9, LPT1…9)'
  return undefined
}

export function isValidId(id: unknown): id is string {
  return idProblem(id) === undefined
}

/**
 * Throws a one-line UserError (code 'bad-input') naming what the id is for when it is not valid.
 * `what` is e.g. 'project', 'dataset', 'model', 'run'.
 */
export function checkId(id: string, what: string): string {
  const p = idProblem(id)
  if (p) throw new UserError(`${what} id '${String(id).slice(0, 60)}' is not valid: ${p}`, 'bad-input')
  return id
}

/** The zod schema of an id in API requests (same rule as checkId). */
export const idSchema = z.string().superRefine((v, ctx) => {
  const p = idProblem(v)
  if (p) ctx.addIssue({ code: 'custom', message: p })
})
