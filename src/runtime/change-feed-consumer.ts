import type { BaseCache } from '../cache/base-cache.js'
import { isChangeStreamCache } from '../cache/full-flush.js'
import type { CacheConfig, ChangeFeedConfig, DbConfig } from '../config/process-config.js'
import { ChangeFeed } from '../data/change-feed.js'
import { tableRules } from '../data/change-rules.js'
import { dbTopology, leaderSourceFor } from '../data/db-topology.js'
import { OutgrowError } from '../errors/index.js'
import type { Logger } from './ports.js'
import type { ServiceDefinition } from './service.js'

function refuse (message: string): never {
  throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid process config: changeFeed: ${message}`, { field: 'changeFeed' })
}

/**
 * Starts this process's change feed when its config asks for one: the service's `invalidateOn`
 * rules on its cache, streaming from the primary the db config leads to (or `changeFeed.url`).
 * A service without rules gets a warning and no feed (the level presets turn it on for every
 * service); a cache with nothing to invalidate is refused, naming `changeFeed`.
 */
export function startChangeFeed (config: { changeFeed?: ChangeFeedConfig | undefined, db: DbConfig, cache: CacheConfig }, service: ServiceDefinition, cache: BaseCache, log: Logger): { close: () => Promise<void> } | undefined {
  const feed = config.changeFeed
  if (feed === undefined) return undefined
  if (service.invalidateOn === undefined) {
    log.warn({ service: service.name }, 'change feed off: the service declares no invalidateOn (nothing maps row changes to cache keys)')
    return undefined
  }
  if (config.cache.kind === 'none') refuse('the cache is none: there is nothing to invalidate')
  if (!isChangeStreamCache(cache)) refuse('this cache adapter cannot confirm invalidations')
  const tables = tableRules(service.invalidateOn)
  const leader = feed.url === undefined ? leaderSourceFor(dbTopology(config.db)) : undefined
  const members = new Map(dbTopology(config.db).members.map((m) => [m.name, m.url]))
  const primaryUrl = (): string | undefined => feed.url ?? members.get(leader?.current() ?? '')
  const changeFeed = new ChangeFeed({
    slot: feed.slot, publication: feed.publication, tables, cache, primaryUrl, log, retry: { minMs: 250, maxMs: feed.retryMaxMs }, maxNames: feed.maxKeys,
  })
  changeFeed.start()
  return {
    close: async () => {
      await changeFeed.close()
      leader?.close()
    },
  }
}
