/** one-line error text for the UI: first line of the message, without runtime prefixes and stack */
export function oneLine(err: unknown): string {
  let m = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err)
  m = m.split('\n').find((l) => l.trim()) ?? m
  m = m.replace(/^(Error|UserError|RuntimeError|TypeError):\s*/, '').trim()
  return m.length > 400 ? `${m.slice(0, 397)}…` : m || 'unknown error'
}
