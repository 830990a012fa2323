import { randomUUID } from 'node:crypto'
import type { DbConfig, JobsConfig } from '../config/process-config.js'
import { dbTopology, leaderSourceFor } from '../data/db-topology.js'
import type { Events } from '../events/bus.js'
import { deleteEntriesOnSuccess } from '../outbox/finished-jobs.js'
import { OutboxRelay } from '../outbox/relay.js'
import type { Db, JobHandler, Jobs, Logger } from './ports.js'

/** Whether a queue of this kind keeps an accepted job when the process that enqueued it dies. */
export function jobsAreDurable (config: JobsConfig): boolean {
  return config.kind !== 'inprocess'
}

/** The service's job handlers as this process runs them: outbox entries of in-process jobs end with their job. */
export function outboxJobHandlers (config: JobsConfig, handlers: Readonly<Record<string, JobHandler>>, db: Db, log: Logger): Readonly<Record<string, JobHandler>> {
  return jobsAreDurable(config) ? handlers : deleteEntriesOnSuccess(handlers, db, log)
}

/**
 * Starts this process's outbox relay (docs/outbox.md). Every app instance and worker runs one; the
 * lease lets one of them deliver, and another takes over within the lease when it dies. LISTEN goes
 * to the server the db config leads to, followed through failovers.
 */
export function startOutboxRelay (config: { db: DbConfig, jobs: JobsConfig, instanceId: string }, ports: { db: Db, jobs: Jobs, events: Events, log: Logger }): { close: () => Promise<void> } {
  const topology = dbTopology(config.db)
  const leader = leaderSourceFor(topology)
  const members = new Map(topology.members.map((m) => [m.name, m.url]))
  const relay = new OutboxRelay({
    ...ports,
    jobsDurable: jobsAreDurable(config.jobs),
    // Unique even for two relays in one process (tests run several instances in one).
    owner: `${config.instanceId}-${process.pid}-${randomUUID().slice(0, 8)}`,
    primaryUrl: () => members.get(leader.current() ?? ''),
  })
  relay.start()
  return {
    close: async () => {
      await relay.close()
      leader.close()
    },
  }
}
