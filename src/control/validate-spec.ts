import { defaultTokenRefusal } from '../config/admin-token.js'
import { firstZodIssue, parseOrThrow } from '../config/validate.js'
import { haConfigSchema } from '../ha/config.js'
import { OutgrowError } from '../errors/index.js'
import { policyFor } from './autoscaler/spec-policy.js'
import { connectionDemand, maxCopies } from './demand.js'
import { haConfigInput } from './ha-nodes.js'
import { expand } from './units.js'
import { REDIS_ROLES, redisFor, topologySpecSchema, type InstancesSpec, type TopologySpec } from './spec.js'

export { connectionDemand, maxCopies }

/** Connections PostgreSQL keeps for itself, replication and the supervisor's own checks. */
const RESERVED_CONNECTIONS = 10

function refuse (field: string, message: string): never {
  throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${field}: ${message}`, { field })
}

function checkInstances (field: string, instances: InstancesSpec): void {
  const { count, min, max } = instances
  if (min !== undefined && max !== undefined && min > max) refuse(`${field}.min`, `min ${min} is above max ${max}`)
  if (min !== undefined && count < min) refuse(`${field}.count`, `count ${count} is below min ${min}`)
  if (max !== undefined && count > max) refuse(`${field}.count`, `count ${count} is above max ${max}`)
}

/** An HA cluster needs the consensus store, connects clients to its nodes directly, and has valid timing. */
function checkHa (spec: TopologySpec, cluster: string): void {
  const db = spec.databases[cluster]
  if (db === undefined) return
  const field = `databases.${cluster}`
  if (spec.consensus === undefined) refuse(`${field}.ha.enabled`, 'failover with election needs the consensus store: add consensus: { members: 3 }')
  if (db.pooler.kind !== 'none') refuse(`${field}.pooler`, 'a pgbouncer pooler does not follow the elected leader yet: use pooler: { kind: \'none\' } with ha.enabled')
  const timing = haConfigSchema.safeParse(haConfigInput(db))
  if (!timing.success) {
    const { field: key, message } = firstZodIssue(timing.error, 'ha')
    refuse(`${field}.ha.${key.replace(/^ha\./, '')}`, message)
  }
}

/**
 * Parses a spec and refuses one that cannot work, with one line naming the field: dangling
 * references, roles served twice, several instances without a gateway or shared sessions, jobs
 * queued with nobody to run them, more connections than the database allows.
 */
export function validateSpec (input: unknown): TopologySpec {
  const spec = parseOrThrow(topologySpecSchema, input, 'topology')
  const listening = [...Object.values(spec.gateways).map((g) => g.host), ...Object.values(spec.services).flatMap((s) => s.listen === undefined ? [] : [s.listen.host])]
  const tokenRefusal = defaultTokenRefusal(spec.adminToken, listening)
  if (tokenRefusal !== undefined) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid topology: adminToken: ${tokenRefusal}`, { field: 'adminToken' })
  for (const role of REDIS_ROLES) {
    const servers = Object.entries(spec.redis).filter(([, r]) => r.roles.includes(role)).map(([n]) => n)
    if (servers.length > 1) refuse(`redis.${servers[1] as string}.roles`, `role ${role} is already served by redis ${servers[0] as string}`)
  }
  for (const [n, r] of Object.entries(spec.redis)) {
    const sentinel = r.sentinel
    if (!sentinel.enabled) continue
    if (sentinel.quorum > sentinel.sentinels) refuse(`redis.${n}.sentinel.quorum`, `${sentinel.quorum} of ${sentinel.sentinels} sentinels can never agree; at most ${sentinel.sentinels}`)
    // Sentinel's own warning: a master without persistence that restarts at once comes back empty
    // before anyone notices it was gone, and its replicas copy the emptiness.
    if (r.persistence === 'none') refuse(`redis.${n}.persistence`, 'a failed-over Redis needs persistence (aof): a master restarted empty would empty its replicas')
  }
  for (const [n, db] of Object.entries(spec.databases)) {
    if (db.ha.enabled) checkHa(spec, n)
    if (db.replication === 'sync' && db.replicas.count === 0) refuse(`databases.${n}.replication`, 'synchronous replication needs at least one replica')
  }
  const members = spec.consensus?.members
  if (members !== undefined && members % 2 === 0) {
    refuse('consensus.members', `${members} members: a quorum is a majority, so ${members} survive no more failures than ${members - 1}; use an odd count (1, 3, 5)`)
  }
  const routedServices = new Map<string, string>()
  const ports = new Map<number, string>()
  for (const [n, g] of Object.entries(spec.gateways)) {
    const services = new Set(g.routes.map((r) => r.service))
    g.routes.forEach((r, i) => {
      if (spec.services[r.service] === undefined) refuse(`gateways.${n}.routes.${i}.service`, `no service named ${r.service}`)
    })
    if (services.size > 1) refuse(`gateways.${n}.routes`, 'routes to more than one service are not available in this version')
    for (const s of services) routedServices.set(s, n)
    if (redisFor(spec, 'registry') === undefined) refuse(`gateways.${n}`, 'a gateway finds instances through a Redis server with the registry role')
    if (g.port !== 0) {
      if (ports.has(g.port)) refuse(`gateways.${n}.port`, `port ${g.port} is also used by ${ports.get(g.port) as string}`)
      ports.set(g.port, `gateway ${n}`)
    }
  }
  for (const [n, s] of Object.entries(spec.services)) {
    const field = `services.${n}`
    if (spec.databases[s.database] === undefined) refuse(`${field}.database`, `no database named ${s.database}`)
    checkInstances(`${field}.instances`, s.instances)
    if (s.autoscale !== undefined) policyFor(field, s.instances, s.autoscale)
    const routed = routedServices.has(n)
    if (!routed && s.listen === undefined) refuse(field, 'no gateway routes to it and it has no listen address')
    if (!routed && maxCopies(s.instances) > 1) refuse(`${field}.instances`, 'more than one instance needs a gateway route in front of them')
    if (routed && s.listen !== undefined) refuse(`${field}.listen`, `gateway ${routedServices.get(n) as string} routes to it: its instances bind a port of their own`)
    if (s.listen !== undefined && s.listen.port !== 0) {
      if (ports.has(s.listen.port)) refuse(`${field}.listen.port`, `port ${s.listen.port} is also used by ${ports.get(s.listen.port) as string}`)
      ports.set(s.listen.port, `service ${n}`)
    }
    if (s.prerender?.enabled === true && !routed) refuse(`${field}.prerender.enabled`, 'pre-rendered pages are served by a gateway: route one to this service (level 4), or turn pre-rendering off')
    if (maxCopies(s.instances) > 1 && redisFor(spec, 'sessions') === undefined) {
      refuse(`${field}.instances`, 'several instances need sessions kept outside them: a Redis server with the sessions role')
    }
    if (maxCopies(s.instances) > 1 && redisFor(spec, 'cache') === undefined) {
      refuse(`${field}.instances`, 'several instances with in-process caches would serve stale data after writes: a Redis server with the cache role')
    }
  }
  const queue = redisFor(spec, 'queue')
  for (const [n, w] of Object.entries(spec.workers)) {
    if (spec.services[w.service] === undefined) refuse(`workers.${n}.service`, `no service named ${w.service}`)
    checkInstances(`workers.${n}.instances`, w.instances)
    if (w.autoscale !== undefined) policyFor(`workers.${n}`, w.instances, w.autoscale)
    if (queue === undefined) refuse(`workers.${n}`, 'workers take jobs from a Redis server with the queue role')
  }
  if (queue !== undefined) {
    for (const service of Object.keys(spec.services)) {
      const workers = Object.values(spec.workers).filter((w) => w.service === service)
      if (workers.length === 0 || workers.every((w) => maxCopies(w.instances) === 0)) {
        refuse('workers', `jobs of service ${service} are queued in Redis ${queue} but no worker runs them`)
      }
    }
  }
  for (const [cluster, demand] of connectionDemand(spec)) {
    const db = spec.databases[cluster]
    if (db === undefined) continue
    const available = db.maxConnections - RESERVED_CONNECTIONS - db.replicas.count
    if (db.pooler.kind === 'pgbouncer') {
      if (db.pooler.poolSize > available) refuse(`databases.${cluster}.pooler.poolSize`, `${db.pooler.poolSize} server connections exceed the ${available} that maxConnections ${db.maxConnections} leaves`)
    } else if (demand > available) {
      refuse(`databases.${cluster}.maxConnections`, `instances × pool size may open ${demand} connections, above the ${available} that maxConnections ${db.maxConnections} leaves: lower pool.size, raise maxConnections or set pooler: { kind: 'pgbouncer' }`)
    }
  }
  const names = new Map<string, string>()
  for (const unit of expand(spec)) {
    const other = names.get(unit.name)
    if (other !== undefined && other !== unit.group) refuse(unit.group.replace(/\//g, '.'), `its process ${unit.name} has the same name as one of ${other.replace(/\//g, '.')}`)
    names.set(unit.name, unit.group)
  }
  return spec
}
