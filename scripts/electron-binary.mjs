// Finds the Electron binary without `require('electron')` (which would try to download it).
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { root } from './ensure-built.mjs'

export function electronBinary() {
  if (process.env.ELECTRON_EXEC_PATH && existsSync(process.env.ELECTRON_EXEC_PATH)) return process.env.ELECTRON_EXEC_PATH
  const dir = path.join(root, 'node_modules', 'electron')
  const pathTxt = path.join(dir, 'path.txt')
  if (!existsSync(pathTxt)) return undefined
  const bin = path.join(dir, 'dist', readFileSync(pathTxt, 'utf8').trim())
  return existsSync(bin) ? bin : undefined
}
