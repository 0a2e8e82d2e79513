// npm run serve [-- --port N --no-open --home DIR]: browser mode on 127.0.0.1 (builds first when needed).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ensureBuilt, root } from './ensure-built.mjs'

ensureBuilt()
const child = spawn(process.execPath, [path.join(root, 'out', 'serve', 'server.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' })
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code) => process.exit(code ?? 0))
