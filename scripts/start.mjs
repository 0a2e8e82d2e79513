// npm start: build if needed, then launch the Electron app; without an Electron binary (offline
// install), say so in one line and start browser mode instead.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ensureBuilt, root } from './ensure-built.mjs'
import { electronBinary } from './electron-binary.mjs'

ensureBuilt()
const bin = electronBinary()
let child
if (bin) {
  child = spawn(bin, [root, ...process.argv.slice(2)], { stdio: 'inherit' })
} else {
  console.log('DiffMD Studio: the Electron binary is not installed (its download was blocked or skipped), so starting browser mode instead.')
  child = spawn(process.execPath, [path.join(root, 'out', 'serve', 'server.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' })
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code) => process.exit(code ?? 0))
