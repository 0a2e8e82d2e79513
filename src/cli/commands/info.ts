import type { Command } from '../main'
import { parseArgs } from '../args'
import { VERSION } from '../../core/version'

const info: Command = {
  summary: 'version and available runtimes',
  usage: 'diffmd info [--json]\n  Prints the version, platform and whether onnxruntime-node loads.',
  async run(argv) {
    const { flags } = parseArgs('info', argv, { json: 'boolean' })
    const result: Record<string, unknown> = { version: VERSION, platform: process.platform, arch: process.arch, node: process.versions.node }
    try {
      const ort = await import('onnxruntime-node')
      result.onnxruntimeNode = ort.env.versions?.node ?? 'available'
    } catch (err) {
      result.onnxruntimeNode = `unavailable: ${(err as Error).message.split('\n')[0]}`
    }
    process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : Object.entries(result).map(([k, v]) => `${k}: ${String(v)}`).join('\n') + '\n')
    return 0
  },
}
export default info
