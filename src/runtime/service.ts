import type { FastifyInstance } from 'fastify'
import type { InvalidationRules } from '../data/change-rules.js'
import type { Db, JobHandler, Ports, WriteBehindApplier } from './ports.js'

export interface SeedOptions {
  readonly products: number
  readonly users: number
}

/**
 * An Outgrow application: routes as a Fastify plugin that receives ports, background job
 * handlers, and its schema and seed. The same definition runs at every level.
 */
export interface ServiceDefinition {
  readonly name: string
  readonly routes: (app: FastifyInstance, ports: Ports) => Promise<void> | void
  readonly jobs?: Readonly<Record<string, JobHandler>>
  /** Write-behind streams and the applier of each (ports.writeBehind.append names the stream). */
  readonly writeBehind?: Readonly<Record<string, WriteBehindApplier>>
  /** Idempotent schema set-up, run on the primary before any instance starts. */
  readonly migrate?: (db: Db) => Promise<void>
  readonly seed?: (db: Db, options: SeedOptions) => Promise<void>
  /** Runs once per app instance after its ports are connected (e.g. to re-enqueue lost work). */
  readonly onStart?: (ports: Ports) => Promise<void>
  /**
   * What a row change invalidates, by table, for invalidation from the database's change stream
   * (docs/cache.md): `{ products: ({ row }) => ({ keys: [`product:${row.id}`], tags: ['product-lists'] }) }`.
   * Used where the process config turns the change feed on.
   */
  readonly invalidateOn?: InvalidationRules
}

export function defineService (definition: ServiceDefinition): ServiceDefinition {
  return definition
}

export async function importService (modulePath: string): Promise<ServiceDefinition> {
  const { pathToFileURL } = await import('node:url')
  const mod = await import(pathToFileURL(modulePath).href) as { default?: ServiceDefinition }
  if (mod.default === undefined || typeof mod.default.routes !== 'function') {
    const { OutgrowError } = await import('../errors/index.js')
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: app.service: ${modulePath} has no default export made by defineService`, { field: 'app.service' })
  }
  return mod.default
}
