import { describe, expect, it } from 'vitest'
import { choiceFlag, parseArgs, positiveFlag } from '../../../src/cli/args'
import { UserError } from '../../../src/core/errors'

const spec = { eta: 'number', replicas: 'int', out: 'string', align: 'boolean' } as const

describe('parseArgs', () => {
  it('reads --flag value, --flag=value, booleans and --no-flag', () => {
    const { flags } = parseArgs('simulate', ['--eta', '0.01', '--replicas=4', '--out', 'a.json', '--no-align'], spec)
    expect(flags).toEqual({ eta: 0.01, replicas: 4, out: 'a.json', align: false })
    expect(parseArgs('simulate', ['--align'], spec).flags.align).toBe(true)
  })
  it('accepts negative numbers as values (so range checks can name them)', () => {
    expect(parseArgs('simulate', ['--eta', '-1'], spec).flags.eta).toBe(-1)
  })
  it('names the flag in every error', () => {
    const cases: [string[], RegExp][] = [
      [['--bogus', '1'], /unknown flag --bogus/],
      [['--eta'], /--eta needs a value/],
      [['--eta', 'fast'], /--eta must be a number \(got 'fast'\)/],
      [['--replicas', '2.5'], /--replicas must be an integer/],
      [['stray'], /unexpected argument 'stray'/],
      [['--align=maybe'], /--align takes no value/],
    ]
    for (const [argv, re] of cases) {
      expect(() => parseArgs('simulate', argv, spec)).toThrowError(re)
      try {
        parseArgs('simulate', argv, spec)
      } catch (e) {
        expect(e).toBeInstanceOf(UserError)
        expect((e as Error).message).not.toContain('\n')
      }
    }
  })
  it('checks positive and choice flags', () => {
    expect(() => positiveFlag('simulate', { eta: -0.1 }, 'eta')).toThrowError(/--eta must be positive/)
    expect(positiveFlag('simulate', {}, 'eta', 2)).toBe(2)
    expect(() => choiceFlag('simulate', { mode: 'fast' }, 'mode', ['bridge', 'tied'] as const)).toThrowError(/--mode must be one of bridge, tied/)
    expect(choiceFlag('simulate', {}, 'mode', ['bridge', 'tied'] as const, 'bridge')).toBe('bridge')
  })
})
