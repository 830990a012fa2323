import { dirname, join, resolve } from 'node:path'
import { BUNDLED_SHOP_CONFIG, resolveConfigFile } from './options.js'

/**
 * Where a stack keeps its data: --data-dir, else `.outgrow/` beside the config file (in the
 * working directory for the bundled shop). `up` and every command that talks to a running stack
 * agree on it this way.
 */
export function resolveDataDir (options: { dataDir?: string | undefined, config?: string | undefined }): string {
  if (options.dataDir !== undefined) return resolve(options.dataDir)
  const file = resolveConfigFile(options.config)
  return file === BUNDLED_SHOP_CONFIG ? resolve('.outgrow') : join(dirname(file), '.outgrow')
}
