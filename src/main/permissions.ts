/**
 * Web permissions for the renderer (Electron's permission request and check handlers). DiffMD
 * Studio uses none: WebGPU, WebAssembly threads, file drops, <input type=file> and downloads need
 * no permission. So every request and every check is denied — camera, microphone, geolocation,
 * notifications, clipboard reads, HID/serial/USB, openExternal from the page, and anything a later
 * Chromium adds — and the list below is where a permission the app starts to use would be named,
 * for its own origin only.
 * Plain module: no Electron import, unit-tested in Node.
 */
import { isAppUrl } from './navigation'

/** permissions the app uses (none today) */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set<string>()

/** May the page at `origin` (its URL or origin) have `permission`? Only allowed permissions, only for the app itself. */
export function permissionAllowed(permission: string, origin: string | undefined, devServerUrl?: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isAppUrl(origin, devServerUrl)
}
