import type { Command } from '../main'
import { UserError } from '../../core/errors'

// Placeholder until the owning issue lands this command.
const cmd: Command = {
  summary: 'simulate',
  usage: 'diffmd simulate — not available in this build yet',
  async run() {
    throw new UserError('simulate: this command is not available in this build yet', 'unavailable')
  },
}
export default cmd
