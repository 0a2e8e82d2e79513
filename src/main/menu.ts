import { Menu, shell, type MenuItemConstructorOptions } from 'electron'

export function buildMenu(): Menu {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'The paper (arXiv 2511.17741)', click: () => void shell.openExternal('https://arxiv.org/abs/2511.17741') }],
    },
  ]
  return Menu.buildFromTemplate(template)
}
