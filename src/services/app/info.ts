import { VERSION } from '../../core/version'
import type { ServiceContext } from '../context'
import { examplesProblems } from '../project/examples'

let ortNode: Promise<string | null> | undefined

/** Whether onnxruntime-node loads in this process (cached; the first call loads the native binding). */
export function onnxruntimeNodeVersion(): Promise<string | null> {
  ortNode ??= import('onnxruntime-node').then(
    (ort) => ort.env.versions?.node ?? 'available',
    () => null
  )
  return ortNode
}

export async function appInfo(ctx: ServiceContext) {
  return {
    name: 'DiffMD Studio',
    version: VERSION,
    platform: process.platform,
    arch: process.arch,
    transport: ctx.transport,
    home: ctx.home,
    runtimes: { onnxruntimeNode: await onnxruntimeNodeVersion(), webgpu: null },
    /** problems the user should know about that no request of theirs caused (e.g. example seeding) */
    notices: await examplesProblems(ctx.home),
  }
}
