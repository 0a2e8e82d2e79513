import type { Command } from '../main'
import { UserError } from '../../core/errors'

// Placeholder until the owning issue lands this command.
const cmd: Command = {
  summary: 'analyze',
  usage: 'diffmd analyze — not available in this build yet',
  async run() {
    throw new UserError('analyze: this command is not available in this build yet', 'unavailable')
  },
}
export default cmd
