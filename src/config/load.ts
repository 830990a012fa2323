import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { OutgrowError } from '../errors/index.js'
import { parseStackConfig, type StackConfig } from './stack-config.js'

export interface LoadedConfig {
  readonly config: StackConfig
  /** Absolute path of the service module named by `app.service`. */
  readonly servicePath: string
  readonly file: string
}

/** Loads `outgrow.config.{js,mjs,json}`: JSON files are read, JS modules imported (default export). */
export async function loadStackConfig (file: string, overrides: Record<string, unknown> = {}): Promise<LoadedConfig> {
  const path = resolve(file)
  if (!existsSync(path)) throw new OutgrowError('OUTGROW_CONFIG_NOT_FOUND', `config file not found: ${file}`)
  let raw: unknown
  if (path.endsWith('.json')) {
    try {
      raw = JSON.parse(await readFile(path, 'utf8'))
    } catch (err) {
      throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: ${file} is not valid JSON: ${(err as Error).message}`)
    }
  } else {
    const mod = await import(pathToFileURL(path).href) as { default?: unknown }
    raw = mod.default
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: ${file} must export an object`)
  }
  const config = parseStackConfig({ ...raw, ...overrides })
  return { config, servicePath: resolve(dirname(path), config.app.service), file: path }
}
