/**
 * The full-disk scenarios on any machine: node:fs is wrapped so that, while a byte budget is set,
 * writes through file handles (write, writeFile) succeed up to the budget and then fail with
 * ENOSPC, as a full disk does (a partial write, then the error). full-disk.test.ts runs the same
 * scenarios on a real tmpfs where one can be mounted.
 */
import { afterAll, vi } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fullDiskSuite } from './support/full-disk-scenarios'

const budget = vi.hoisted(() => ({ left: Infinity }))

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>()
  const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' })
  /** the part of `n` bytes that fits the budget */
  const take = (n: number): number => {
    const k = Math.min(n, budget.left)
    budget.left -= k
    return k
  }
  const wrap = (h: import('node:fs/promises').FileHandle): import('node:fs/promises').FileHandle =>
    new Proxy(h, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return async (buf: Uint8Array | string, ...rest: unknown[]) => {
            if (typeof buf === 'string') buf = Buffer.from(buf)
            const offset = typeof rest[0] === 'number' ? rest[0] : 0
            const length = typeof rest[1] === 'number' ? rest[1] : buf.length - offset
            const position = rest[2] as number | null | undefined
            const k = take(length)
            if (k > 0) await target.write(buf, offset, k, position)
            if (k < length) throw enospc()
            return { bytesWritten: length, buffer: buf }
          }
        }
        if (prop === 'writeFile') {
          return async (data: string | Uint8Array) => {
            const bytes = typeof data === 'string' ? Buffer.from(data) : data
            const k = take(bytes.length)
            await target.writeFile(bytes.subarray(0, k))
            if (k < bytes.length) throw enospc()
          }
        }
        const v = Reflect.get(target, prop, receiver) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  const promises = {
    ...real.promises,
    open: async (...args: Parameters<typeof real.promises.open>) => wrap(await real.promises.open(...args)),
  }
  return { ...real, default: { ...real, promises }, promises }
})

const root = mkdtempSync(path.join(tmpdir(), 'diffmd-full-disk-injected-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

fullDiskSuite(
  'a full disk (ENOSPC injected into node:fs writes) loses nothing',
  () => ({
    root,
    async fill(leave) {
      budget.left = leave
    },
    async unfill() {
      budget.left = Infinity
    },
  }),
  false
)
