import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { OutgrowError } from '../errors/index.js'
import { specFromConfig } from '../control/presets.js'
import type { TopologySpec } from '../control/spec.js'
import { validateSpec } from '../control/validate-spec.js'
import { parseStackConfig, type StackConfig } from './stack-config.js'

export interface LoadedConfig {
  readonly config: StackConfig
  /** Absolute path of the service module named by `app.service`. */
  readonly servicePath: string
  readonly file: string
  /** The topology the config describes: its level's preset with its overrides, validated. */
  readonly spec: TopologySpec
}

/**
 * Reads a config file: JSON is parsed, a JS module imported (its default export). `what` names the
 * kind of config in errors ("config", "gateway config").
 */
export async function readConfigFile (file: string, what: string): Promise<{ path: string, raw: Record<string, unknown> }> {
  const path = resolve(file)
  if (!existsSync(path)) throw new OutgrowError('OUTGROW_CONFIG_NOT_FOUND', `config file not found: ${file}`)
  let raw: unknown
  if (path.endsWith('.json')) {
    try {
      raw = JSON.parse(await readFile(path, 'utf8'))
    } catch (err) {
      throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid ${what}: ${file} is not valid JSON: ${(err as Error).message}`)
    }
  } else {
    raw = (await import(pathToFileURL(path).href) as { default?: unknown }).default
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid ${what}: ${file} must export an object`)
  }
  return { path, raw: raw as Record<string, unknown> }
}

/** Loads `outgrow.config.{js,mjs,json}` with overrides (e.g. from the command line) on top. */
export async function loadStackConfig (file: string, overrides: Record<string, unknown> = {}): Promise<LoadedConfig> {
  const { path, raw } = await readConfigFile(file, 'config')
  const config = parseStackConfig({ ...raw, ...overrides })
  const servicePath = resolve(dirname(path), config.app.service)
  const spec = resolveSpecModules(validateSpec(specFromConfig(config, servicePath)), dirname(path))
  // Checked once the config's shape is known to be right. A module that is not there, found only
  // once the stack starts, would fail every process that imports it, again on every restart.
  const missing = (module: string): boolean => !existsSync(module)
  if (missing(servicePath)) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: app.service: module not found: ${config.app.service} (relative to the config file: ${servicePath})`)
  for (const [name, service] of Object.entries(spec.services)) {
    if (missing(service.module)) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: services.${name}.module: module not found: ${service.module}`)
  }
  return { config, servicePath, file: path, spec }
}

/** Service modules named in a config are relative to the config file. */
function resolveSpecModules (spec: TopologySpec, dir: string): TopologySpec {
  const services = Object.fromEntries(Object.entries(spec.services).map(([n, s]) => [n, { ...s, module: resolve(dir, s.module) }]))
  return { ...spec, services }
}
