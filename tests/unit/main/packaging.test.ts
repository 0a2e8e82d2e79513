/**
 * electron-builder.yml: valid against electron-builder's own schema, and its electronFuses block
 * turns into the @electron/fuses settings the security checklist asks for, through the same
 * mapping electron-builder applies when it packages (PlatformPackager.generateFuseConfig).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

// electron-builder's own modules, resolved the way it resolves them (js-yaml is its dependency)
const requireFromBuilder = createRequire(path.resolve('node_modules/app-builder-lib/package.json'))
const yaml = requireFromBuilder('js-yaml') as { load(text: string): unknown }
const { validateConfiguration } = requireFromBuilder('./out/util/config/config.js') as { validateConfiguration(config: unknown, log: { add(k: string, v: unknown): void }): Promise<void> }
const { PlatformPackager } = requireFromBuilder('./out/index.js') as { PlatformPackager: { prototype: { generateFuseConfig(f: unknown): Promise<Record<string | number, unknown>> } } }
const { FuseV1Options } = requireFromBuilder('@electron/fuses') as { FuseV1Options: Record<string, number> }

const config = yaml.load(readFileSync(path.resolve('electron-builder.yml'), 'utf8')) as Record<string, unknown> & { electronFuses?: Record<string, boolean> }

describe('packaging configuration', () => {
  it('passes electron-builder’s schema', async () => {
    await expect(validateConfiguration(structuredClone(config), { add: () => undefined })).resolves.toBeUndefined()
  })
  it('flips the fuses: no run-as-node, NODE_OPTIONS or --inspect; cookie encryption, ASAR integrity and ASAR-only loading on', async () => {
    expect(config.electronFuses).toBeDefined()
    const fuses = await PlatformPackager.prototype.generateFuseConfig.call({}, config.electronFuses)
    expect(fuses[FuseV1Options.RunAsNode!]).toBe(false)
    expect(fuses[FuseV1Options.EnableCookieEncryption!]).toBe(true)
    expect(fuses[FuseV1Options.EnableNodeOptionsEnvironmentVariable!]).toBe(false)
    expect(fuses[FuseV1Options.EnableNodeCliInspectArguments!]).toBe(false)
    expect(fuses[FuseV1Options.EnableEmbeddedAsarIntegrityValidation!]).toBe(true)
    expect(fuses[FuseV1Options.OnlyLoadAppFromAsar!]).toBe(true)
    expect(fuses[FuseV1Options.GrantFileProtocolExtraPrivileges!]).toBe(false)
  })
  it('packs the app into an ASAR archive (the integrity and ASAR-only fuses need one)', () => {
    expect(config.asar).not.toBe(false)
  })
})
