import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError } from 'commander'
import { SHAPE_NAMES, type ShapeName } from '../lab/load-shapes.js'

export const BUNDLED_SHOP_CONFIG = fileURLToPath(new URL('../../examples/shop/outgrow.config.js', import.meta.url))

/** --config, else outgrow.config.{js,mjs,json} in the working directory, else the bundled shop. */
export function resolveConfigFile (given: string | undefined): string {
  if (given !== undefined) return resolve(given)
  for (const name of ['outgrow.config.js', 'outgrow.config.mjs', 'outgrow.config.json']) {
    if (existsSync(name)) return resolve(name)
  }
  return BUNDLED_SHOP_CONFIG
}

export function integer (min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    const n = Number(value)
    if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    return n
  }
}

export function positiveNumber (value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number')
  return n
}

export function levelList (value: string): number[] {
  const levels = value.split(',').map((v) => v.trim())
  if (levels.some((l) => !/^[1-4]$/.test(l))) throw new InvalidArgumentError('expected levels from 1 to 4, comma-separated, e.g. 1,2,3,4')
  return levels.map(Number)
}

/** Only the options the user gave become config overrides; the config file supplies the rest. */
export function definedOnly (values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
}

export function scenarioList (value: string): ShapeName[] {
  const names = value.split(',').map((v) => v.trim())
  const unknown = names.find((n) => !(SHAPE_NAMES as readonly string[]).includes(n))
  if (unknown !== undefined || names.length === 0) throw new InvalidArgumentError(`expected scenarios from ${SHAPE_NAMES.join(', ')}, comma-separated, e.g. step,spike`)
  return names as ShapeName[]
}
