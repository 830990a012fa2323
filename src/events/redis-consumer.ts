import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from '../runtime/ports.js'
import type { Subscription } from './bus.js'
import type { Delivery, DeliveryRunner } from './delivery-runner.js'
import { deliveryCounts, entriesOfRead, parseEntries, type StreamEntry } from './redis-stream-entries.js'

/** Longest XREADGROUP block: how soon a consumer notices its own due retries and a close. */
const MAX_BLOCK_MS = 250

export interface RedisConsumerOptions {
  readonly stream: string
  readonly group: string
  readonly commands: Redis
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  readonly reader: Redis
  readonly runner: DeliveryRunner
  readonly ackWaitMs: number
  readonly log: Logger
}

/**
 * One member of a consumer group on one stream. Entries are read with XREADGROUP (new ones) and
 * taken over with XAUTOCLAIM once another member left them unacknowledged for the ack wait (it
 * crashed); a failed entry stays pending and this member claims it back after its back-off
 * (XCLAIM counts the delivery); a running handler's entry is kept by XCLAIM … JUSTID, which resets
 * its idle time without counting a delivery.
 */
export class RedisStreamConsumer implements Subscription {
  readonly name = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  readonly #o: RedisConsumerOptions
  readonly #dueRetries = new Map<string, number>()
  #nextClaimAt = 0
  #closing = false
  #loop: Promise<void> | undefined
  #onClose: () => void = () => {}

  constructor (options: RedisConsumerOptions) {
    this.#o = options
  }

  start (onClose: () => void): void {
    this.#onClose = onClose
    this.#loop = this.#run()
  }

  async #run (): Promise<void> {
    const { runner, log, group, stream } = this.#o
    while (!this.#closing) {
      await runner.slot()
      if (this.#closing) break
      try {
        const entries = await this.#nextEntries(runner.freeSlots)
        for (const [entry, deliveries] of entries) this.#handle(entry, deliveries)
      } catch (err) {
        if (this.#closing) break
        log.warn({ err, group, stream }, 'reading the event stream failed; trying again')
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  }

  /** Due retries first, then entries abandoned by dead members, then new entries. */
  async #nextEntries (count: number): Promise<Array<[StreamEntry, number]>> {
    const { commands, stream, group } = this.#o
    const now = Date.now()
    const due = [...this.#dueRetries].filter(([, at]) => at <= now).slice(0, count).map(([id]) => id)
    if (due.length > 0) {
      for (const id of due) this.#dueRetries.delete(id)
      return await this.#withCounts(parseEntries(await commands.call('XCLAIM', stream, group, this.name, 0, ...due)))
    }
    if (now >= this.#nextClaimAt) {
      this.#nextClaimAt = now + Math.max(100, Math.floor(this.#o.ackWaitMs / 2))
      const [, claimed, deleted] = await commands.call('XAUTOCLAIM', stream, group, this.name, this.#o.ackWaitMs, '0-0', 'COUNT', count) as [string, unknown, string[] | undefined]
      // Trimmed by MAXLEN while pending: gone from the stream, only the pending entry is left.
      for (const id of deleted ?? []) {
        this.#o.log.error({ stream, group, entryId: id }, 'a pending event was trimmed from its stream before it was handled (MAXLEN too small for this backlog)')
        await commands.call('XACK', stream, group, id)
      }
      const entries = parseEntries(claimed)
      if (entries.length > 0) return await this.#withCounts(entries)
    }
    const nextDue = Math.min(...this.#dueRetries.values(), this.#nextClaimAt)
    const block = Math.max(1, Math.min(MAX_BLOCK_MS, nextDue - Date.now()))
    const reply = await this.#o.reader.call('XREADGROUP', 'GROUP', group, this.name, 'COUNT', count, 'BLOCK', block, 'STREAMS', stream, '>')
    return entriesOfRead(reply).map((entry) => [entry, 1])
  }

  /** Claimed entries with their delivery counts (XPENDING), which XCLAIM and XAUTOCLAIM raised. */
  async #withCounts (entries: StreamEntry[]): Promise<Array<[StreamEntry, number]>> {
    if (entries.length === 0) return []
    const { commands, stream, group } = this.#o
    // This member's pending entries: the ones just claimed, plus those running or waiting for a retry.
    const counts = deliveryCounts(await commands.call('XPENDING', stream, group, '-', '+', 10_000, this.name))
    return entries.map((entry) => [entry, counts.get(entry.id) ?? 2])
  }

  #handle (entry: StreamEntry, deliveries: number): void {
    const { commands, stream, group, runner, log } = this.#o
    if (entry.envelope === undefined) {
      log.error({ stream, group, entryId: entry.id }, 'a stream entry that is not an event envelope was acknowledged without handling')
      void commands.call('XACK', stream, group, entry.id).catch(() => {})
      return
    }
    const delivery: Delivery = {
      envelope: { ...entry.envelope, deliveries },
      ack: async () => { await commands.call('XACK', stream, group, entry.id) },
      retry: async (delayMs) => { this.#dueRetries.set(entry.id, Date.now() + delayMs) },
      extend: async () => { await commands.call('XCLAIM', stream, group, this.name, 0, entry.id, 'JUSTID') },
    }
    void runner.start(delivery)
  }

  async close ({ graceMs = 10_000 }: { readonly graceMs?: number } = {}): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    this.#o.runner.stopTaking()
    // The loop ends after its current read (at most MAX_BLOCK_MS), so nothing read is left unstarted.
    await this.#loop
    const finished = await this.#o.runner.drain(graceMs)
    const { commands, stream, group } = this.#o
    try {
      // A member with nothing pending leaves the group; one with pending entries stays, so others can claim them.
      const pending = await commands.call('XPENDING', stream, group, '-', '+', 1, this.name) as unknown[]
      if (finished && this.#dueRetries.size === 0 && pending.length === 0) await commands.call('XGROUP', 'DELCONSUMER', stream, group, this.name)
    } catch {}
    this.#o.reader.disconnect()
    this.#onClose()
  }
}
