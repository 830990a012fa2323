import type { FastifyInstance } from 'fastify'
import type { InvalidationRules } from '../data/change-rules.js'
import type { EventBus, EventEnvelope } from '../events/bus.js'
import type { Db, JobHandler, JobTypeOptions, JsonValue, Ports, RepeatableJob, WriteBehindApplier } from './ports.js'

export interface SeedOptions {
  readonly products: number
  readonly users: number
}

/**
 * An Outgrow application: routes as a Fastify plugin that receives ports, background job
 * handlers, and its schema and seed. The same definition runs at every level.
 */
/**
 * A consumer of one topic, in the consumer group `<service name>-<subscription name>`: every
 * instance and worker of the service joins the group and they share its events (docs/events.md).
 */
export interface ServiceSubscription {
  readonly topic: string
  readonly handler: (event: EventEnvelope<JsonValue>, ports: Ports) => Promise<void>
  readonly concurrency?: number
  readonly maxDeliveries?: number
  readonly ackWaitMs?: number
}

export interface ServiceDefinition {
  readonly name: string
  readonly routes: (app: FastifyInstance, ports: Ports) => Promise<void> | void
  readonly jobs?: Readonly<Record<string, JobHandler>>
  /** Attempts and back-off per job type (docs/jobs.md); an enqueue's own options win. */
  readonly jobOptions?: Readonly<Record<string, JobTypeOptions>>
  /** Jobs enqueued on a schedule, by schedule name: one run per tick across every process (docs/jobs.md). */
  readonly repeat?: Readonly<Record<string, RepeatableJob>>
  /** Write-behind streams and the applier of each (ports.writeBehind.append names the stream). */
  readonly writeBehind?: Readonly<Record<string, WriteBehindApplier>>
  /** Event consumers by name (the name is part of the group's). */
  readonly subscriptions?: Readonly<Record<string, ServiceSubscription>>
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

/** Joins the consumer groups of the service's subscriptions (group `<service>-<subscription>`). */
export async function subscribeService (service: ServiceDefinition, ports: Ports, bus: EventBus): Promise<void> {
  for (const [name, s] of Object.entries(service.subscriptions ?? {})) {
    await bus.subscribe(s.topic, `${service.name}-${name}`, async (event) => { await s.handler(event, ports) }, {
      ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
      ...(s.maxDeliveries === undefined ? {} : { maxDeliveries: s.maxDeliveries }),
      ...(s.ackWaitMs === undefined ? {} : { ackWaitMs: s.ackWaitMs }),
    })
  }
}
