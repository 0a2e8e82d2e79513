/**
 * Links that leave the app open in the user's browser only when they point at documentation the app
 * cites: https, an exact host from this list, no credentials, the default port. Anything else
 * (file:, smb:, custom schemes that launch programs, look-alike hosts) is refused.
 * Plain module: no Electron import, unit-tested in Node.
 */
export const EXTERNAL_HOSTS: ReadonlySet<string> = new Set([
  // the paper the method comes from
  'arxiv.org',
  // the project's repository and its docs/
  'github.com',
  // tools the docs point to: reference simulations, trajectory readers, runtime, viewer
  'manual.gromacs.org',
  'www.gromacs.org',
  'mdtraj.org',
  'www.mdanalysis.org',
  'docs.mdanalysis.org',
  'onnxruntime.ai',
  'nglviewer.org',
])

export function externalUrlAllowed(url: string): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  return u.protocol === 'https:' && !u.username && !u.password && u.port === '' && EXTERNAL_HOSTS.has(u.hostname)
}
