import client from 'prom-client'
import { registry } from '../runtime/metrics.js'

/** The change feed's metrics (src/data/change-feed.ts), on the process-wide registry. */

export const changeFeedActive = new client.Gauge({
  name: 'outgrow_change_feed_active',
  help: 'Whether this process holds the change feed\'s replication slot and streams from it (1) or waits for it (0)',
  registers: [registry],
})

export const changeFeedLagBytes = new client.Gauge({
  name: 'outgrow_change_feed_lag_bytes',
  help: 'WAL bytes between the primary\'s current position and the slot\'s confirmed position (polled by the active consumer)',
  registers: [registry],
})

export const changeFeedLagSeconds = new client.Gauge({
  name: 'outgrow_change_feed_lag_seconds',
  help: 'Age of the oldest committed change received but not yet applied and confirmed (0 when none waits)',
  registers: [registry],
})

export const changeFeedDelay = new client.Histogram({
  name: 'outgrow_change_feed_delay_seconds',
  help: 'From a transaction\'s commit on the primary to its invalidations being confirmed by the cache',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
})

export const changeFeedRows = new client.Counter({
  name: 'outgrow_change_feed_rows_total',
  help: 'Row changes received from the change stream, by table and operation',
  labelNames: ['table', 'op'] as const,
  registers: [registry],
})

export const changeFeedInvalidations = new client.Counter({
  name: 'outgrow_change_feed_invalidations_total',
  help: 'Invalidations applied from the change stream and confirmed by the cache, by kind (key, tag)',
  labelNames: ['kind'] as const,
  registers: [registry],
})

export const changeFeedFullFlushes = new client.Counter({
  name: 'outgrow_change_feed_full_flushes_total',
  help: 'Times every cache entry was removed because changes could not be named, by reason (slot_created, too_many_keys, truncate, rule_failed)',
  labelNames: ['reason'] as const,
  registers: [registry],
})

export const changeFeedRestarts = new client.Counter({
  name: 'outgrow_change_feed_restarts_total',
  help: 'Times the change feed (re)started streaming or gave up a try, by reason (started, slot_busy, not_primary, error, ended)',
  labelNames: ['reason'] as const,
  registers: [registry],
})
