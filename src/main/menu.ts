import { Menu, shell, type MenuItemConstructorOptions } from 'electron'
import { menuTemplate, type MenuItemSpec } from './menu-template'
import { externalUrlAllowed } from './external'

function toElectron(item: MenuItemSpec): MenuItemConstructorOptions {
  const href = item.href
  return {
    ...(item.role ? { role: item.role as MenuItemConstructorOptions['role'] } : {}),
    ...(item.label ? { label: item.label } : {}),
    ...(item.submenu ? { submenu: item.submenu.map(toElectron) } : {}),
    ...(href ? { click: () => void (externalUrlAllowed(href) ? shell.openExternal(href) : undefined) } : {}),
  }
}

export function buildMenu(production: boolean): Menu {
  return Menu.buildFromTemplate(menuTemplate({ production, platform: process.platform }).map(toElectron))
}
