/**
 * Errors meant for a user: the message is one line that names the file, flag or setting that was
 * wrong and what to do. The CLI prints `diffmd: <message>` and exits non-zero; the API returns it as
 * `{ error: { code, message } }`; the UI shows it next to the thing it concerns.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** short machine-readable code, e.g. 'bad-flag', 'parse', 'not-found', 'unstable' */
    readonly code: string = 'user'
  ) {
    super(message)
    this.name = 'UserError'
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof Error && (err as { name?: string }).name !== undefined && err instanceof UserError
}
