import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { expect } from 'vitest'
import { UserError } from '../../../src/core/errors'

export const ROOT = path.resolve(__dirname, '../../..')
export const FIXTURES = path.join(ROOT, 'tests/fixtures/pdb')
export const ALA2_DIR = path.join(ROOT, 'resources/examples/ala2')
export const ALA2_ALL = path.join(ALA2_DIR, 'ala2_snapshots_all.pdb.gz')
export const ALA2_HEAVY = path.join(ALA2_DIR, 'ala2_snapshots_heavy.pdb.gz')
export const ALA2_REF = path.join(ALA2_DIR, 'ala2_reference.pdb')

let ala2Text: string | undefined
/** the ala2 snapshot PDB as text (decompressed with Node's zlib, independent of our gzip code) */
export function ala2AllText(): string {
  ala2Text ??= gunzipSync(readFileSync(ALA2_ALL)).toString('latin1')
  return ala2Text
}

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'latin1')
}

/** asserts fn throws a one-line UserError whose message contains every fragment; returns the message */
export function expectUserError(fn: () => unknown, ...fragments: (string | RegExp)[]): string {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  return checkUserError(caught, fragments)
}

export async function expectUserErrorAsync(p: Promise<unknown>, ...fragments: (string | RegExp)[]): Promise<string> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  return checkUserError(caught, fragments)
}

function checkUserError(caught: unknown, fragments: (string | RegExp)[]): string {
  expect(caught, 'expected a UserError to be thrown').toBeInstanceOf(UserError)
  const msg = (caught as Error).message
  expect(msg).not.toMatch(/[\r\n]/)
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f)
    else expect(msg).toMatch(f)
  }
  return msg
}

/** a small deterministic PRNG for test data */
export function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

/** the first n complete models of the ala2 snapshots (header REMARKs included) */
export function ala2Models(n: number): string {
  const t = ala2AllText()
  let pos = 0
  for (let i = 0; i < n; i++) pos = t.indexOf('ENDMDL\n', pos) + 7
  return t.slice(0, pos)
}
