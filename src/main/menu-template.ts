/**
 * The application menu's template. In a packaged (production) build there is no View menu — no
 * reload, no developer tools, no zoom that hides the layout — only in development.
 * Plain module: no Electron import (roles are plain strings), unit-tested in Node.
 */
export interface MenuItemSpec {
  role?: string
  label?: string
  submenu?: MenuItemSpec[]
  /** a documentation link opened in the user's browser (checked against the allowlist) */
  href?: string
}

export function menuTemplate(opts: { production: boolean; platform: NodeJS.Platform }): MenuItemSpec[] {
  return [
    ...(opts.platform === 'darwin' ? [{ role: 'appMenu' }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    ...(opts.production ? [] : [{ role: 'viewMenu' }]),
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: 'The paper (arXiv 2511.17741)', href: 'https://arxiv.org/abs/2511.17741' }] },
  ]
}
