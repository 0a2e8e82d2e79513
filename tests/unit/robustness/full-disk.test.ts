/**
 * A full disk on a real size-limited file system: a 3 MiB tmpfs mounted for this test (it needs
 * root with mount rights; elsewhere this file is skipped and says why, and
 * full-disk-injected.test.ts runs the same scenarios with ENOSPC injected into node:fs).
 */
import { afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { promises as fs, mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fullDiskSuite } from './support/full-disk-scenarios'

const mountPoint = mkdtempSync(path.join(tmpdir(), 'diffmd-full-disk-'))
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]).status === 0
if (!mounted) console.warn(`full-disk tests on a tmpfs skipped: cannot mount a 3 MiB tmpfs at ${mountPoint} (needs root with mount rights); full-disk-injected.test.ts covers the same scenarios`)
const filler = path.join(mountPoint, 'filler')

afterAll(() => {
  if (mounted) spawnSync('umount', [mountPoint])
  rmSync(mountPoint, { recursive: true, force: true })
})

fullDiskSuite(
  'a full disk (real 3 MiB tmpfs) loses nothing',
  () => ({
    root: mountPoint,
    /** fills the file system until about `leave` bytes are free */
    async fill(leave) {
      await fs.rm(filler, { force: true })
      const st = statfsSync(mountPoint)
      const free = Number(st.bavail) * Number(st.bsize)
      const h = await fs.open(filler, 'w')
      try {
        const chunk = Buffer.alloc(64 * 1024, 1)
        let left = Math.max(0, free - leave)
        while (left > 0) {
          const n = Math.min(left, chunk.length)
          try {
            await h.write(chunk, 0, n)
          } catch {
            break
          }
          left -= n
        }
      } finally {
        await h.close()
      }
    },
    unfill: () => fs.rm(filler, { force: true }),
  }),
  !mounted
)
