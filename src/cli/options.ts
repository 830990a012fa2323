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

/** App instance counts for a scale-out run, e.g. 1,2,4,8 (each 1–32, increasing). */
export function instanceCountList (value: string): number[] {
  const counts = value.split(',').map((v) => v.trim())
  if (counts.length === 0 || counts.some((c) => !/^\d+$/.test(c) || Number(c) < 1 || Number(c) > 32)) throw new InvalidArgumentError('expected app instance counts from 1 to 32, comma-separated, e.g. 1,2,4,8')
  const numbers = counts.map(Number)
  if (numbers.some((n, i) => i > 0 && n <= (numbers[i - 1] as number))) throw new InvalidArgumentError('expected increasing instance counts, e.g. 1,2,4,8')
  return numbers
}

/** A fraction strictly between 0 and 1, e.g. 0.05. */
export function fraction (value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new InvalidArgumentError('expected a fraction between 0 and 1, e.g. 0.05')
  return n
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
