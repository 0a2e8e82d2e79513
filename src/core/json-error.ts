/**
 * What is wrong with a JSON text, without quoting it. V8's JSON.parse messages quote the text
 * (`Unexpected token 'S', "SECRET…" is not valid JSON`), so a file that is not JSON — a key file
 * dropped as a model card, say — would have its content echoed into an error the UI shows and the
 * API returns. This keeps only the kind of problem and where it is.
 */
export function jsonSyntaxProblem(err: unknown, text?: string): string {
  const message = err instanceof Error ? err.message : String(err)
  if (/Unexpected end of JSON input/i.test(message)) return 'the JSON text ends early'
  const at = /at position (\d+)/.exec(message)
  if (at) {
    const pos = Number(at[1])
    const where = text !== undefined ? lineColumn(text, pos) : `position ${pos}`
    const kind = message.split(' in JSON')[0]!
    // V8's grammar phrases (e.g. "Expected ',' or '}' after property value") name JSON syntax, not content
    return /^(Expected|Unterminated|Bad|Exponent|No number)[^"]*$/.test(kind) ? `${kind} at ${where}` : `invalid JSON at ${where}`
  }
  return text !== undefined && text.trim() === '' ? 'the file is empty' : 'not JSON text'
}

function lineColumn(text: string, pos: number): string {
  let line = 1
  let col = 1
  for (let i = 0; i < Math.min(pos, text.length); i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      col = 1
    } else col++
  }
  return `line ${line}, column ${col}`
}
