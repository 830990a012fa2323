import type { CpuWindow, ResidentRole, ServerCpu } from './cpu-window.js'
import { STARVED_BELOW } from './upstream-balance.js'

/**
 * The bottleneck finder: from a CPU window at the knee, which emulated server is at its CPU quota,
 * and what the playbook scales next for it. Pure: fed a window, it reads nothing itself.
 */

export interface BottleneckOptions {
  /** Use of its quota from which a server is saturated (default 0.9). */
  readonly saturatedAt?: number
  /**
   * Share of periods throttled from which a server is saturated too, when it also uses `busyAt` of
   * its quota (defaults 0.15, 0.5). Low on purpose: each throttled CFS period stalls every request
   * on the server for the rest of the period (75 ms of 100 at a quarter core), so a server
   * throttled in one period in six breaks a 100 ms p99 long before it averages 90 % of its quota.
   */
  readonly throttledAt?: number
  readonly busyAt?: number
  /** Share of the machine's cores busy from which the machine itself is the limit (default 0.9). */
  readonly machineBusyAt?: number
  /** What mostly loads the database primary, when known (pg_stat_statements): reads call for a cache or replicas, writes for sharding. */
  readonly primaryWorkload?: 'reads' | 'writes' | undefined
  /** Which instance the gateway starved and why (upstream-balance.ts), when its balance was uneven. */
  readonly unevenBalance?: string | undefined
}

/** What kind of server is the bottleneck; `machine` when no server is at its quota but every core is busy. */
export type BottleneckKind = 'colocated' | 'postgres-primary' | 'postgres-replica' | 'app' | 'gateway' | 'redis' | 'worker' | 'pooler' | 'other' | 'machine' | 'none'

export interface Bottleneck {
  readonly kind: BottleneckKind
  /** Saturated servers, busiest first. */
  readonly saturated: readonly ServerCpu[]
  readonly machineSaturated: boolean
  /** One line: the saturated server and what to scale next. */
  readonly verdict: string
  /** What to do, concretely, naming the server. */
  readonly advice: string
}

export function isSaturated (s: ServerCpu, options: BottleneckOptions = {}): boolean {
  const throttled = s.throttledShare !== undefined && s.throttledShare >= (options.throttledAt ?? 0.15) && s.utilization >= (options.busyAt ?? 0.5)
  return s.utilization >= (options.saturatedAt ?? 0.9) || throttled
}

const has = (s: ServerCpu, ...roles: ResidentRole[]): boolean => s.residents.some((r) => roles.includes(r.role))

/** The part a server plays, from the processes on it; the database first where several share it. */
export function serverKind (s: ServerCpu): Exclude<BottleneckKind, 'machine' | 'none'> {
  const database = has(s, 'postgres primary', 'postgres replica', 'postgres')
  if (database && has(s, 'app')) return 'colocated'
  if (has(s, 'postgres primary', 'postgres')) return 'postgres-primary'
  if (has(s, 'postgres replica')) return 'postgres-replica'
  if (has(s, 'redis')) return 'redis'
  if (has(s, 'gateway')) return 'gateway'
  if (has(s, 'app')) return 'app'
  if (has(s, 'worker')) return 'worker'
  if (has(s, 'pooler')) return 'pooler'
  return 'other'
}

const percent = (x: number): string => `${Math.round(x * 100)}%`
const cores = (x: number): string => `${Math.round(x * 100) / 100}`

function describeServer (s: ServerCpu): string {
  const who = s.residents.map((r) => `${r.name}: ${r.role}${r.usedCores === undefined || s.usedCores <= 0 ? '' : ` ${percent(r.usedCores / s.usedCores)}`}`).join(', ')
  const budget = s.source === 'cgroup' ? `its ${cores(s.quotaCores)}-core CPU quota` : s.quotaCores === 1 ? 'its one pinned core' : `the machine's ${cores(s.quotaCores)} cores`
  const throttled = s.throttledShare === undefined ? '' : `, throttled in ${percent(s.throttledShare)} of periods`
  return `${s.server} (${who}) at ${percent(s.utilization)} of ${budget}${throttled}`
}

interface Step { readonly next: string, readonly advice: string }

/** Facts about the whole stack the advice depends on, from every server's residents. */
function stackFacts (servers: readonly ServerCpu[]): { redis: boolean, replicas: number, appServers: number, gateway: boolean, workers: number } {
  const count = (role: ResidentRole): number => servers.reduce((n, s) => n + s.residents.filter((r) => r.role === role).length, 0)
  return { redis: count('redis') > 0, replicas: count('postgres replica'), appServers: servers.filter((s) => has(s, 'app')).length, gateway: count('gateway') > 0, workers: count('worker') }
}

function step (kind: BottleneckKind, top: ServerCpu, window: CpuWindow, saturated: readonly ServerCpu[], options: BottleneckOptions): Step {
  const facts = stackFacts(window.servers)
  const name = top.server
  switch (kind) {
    case 'colocated':
      return { next: 'separate the database (level 2)', advice: `${name} runs the app and PostgreSQL together: move PostgreSQL to a server of its own (level 2) so each gets its own CPU.` }
    case 'postgres-primary':
      if (options.primaryWorkload === 'writes' || (options.primaryWorkload === undefined && facts.redis && facts.replicas > 0)) {
        return { next: 'shard the writes (level 5)', advice: `The primary on ${name} is saturated by writes, which neither a cache nor replicas take off it: shard the data across primaries (level 5, next round); until then, give ${name} more CPU.` }
      }
      if (!facts.redis) return { next: 'add a cache (Redis, level 3)', advice: `The primary on ${name} is saturated serving reads: put a Redis cache in front of it (level 3) so repeated reads stop reaching PostgreSQL.` }
      return { next: 'add read replicas (level 4)', advice: `The primary on ${name} is saturated serving the reads the cache misses: add read replicas (now ${facts.replicas}) and send reads to them.` }
    case 'postgres-replica':
      return { next: `add a read replica (${facts.replicas} → ${facts.replicas + 1})`, advice: `The replica on ${name} is saturated with reads: add another read replica (${facts.replicas} → ${facts.replicas + 1}) to spread them.` }
    case 'redis':
      return { next: 'a bigger Redis, or cache and sessions apart', advice: `Redis on ${name} is at its quota: give it a bigger server, or split the cache and the sessions onto Redis servers of their own.` }
    case 'gateway':
      return { next: 'scale the gateway', advice: `The gateway on ${name} is at its quota${saturated.filter((s) => has(s, 'app')).length === facts.appServers ? ' and so is every app server' : ''}: give the gateway more processes on more CPU; more app instances behind it would not help.` }
    case 'app': {
      const busy = saturated.filter((s) => has(s, 'app')).length
      if (!facts.gateway) return { next: 'more app instances behind a load balancer (level 4)', advice: `The app instance on ${name} is at its CPU quota: run more app instances behind a load balancer (level 4).` }
      const more = `${facts.appServers} → ${facts.appServers + Math.max(1, Math.ceil(facts.appServers / 2))}`
      if (busy < facts.appServers) {
        // Evenly fed app servers are not all at their quota at the same moment: one under half the
        // busiest's use, or the gateway's own count of who got what, is what says the spread is uneven.
        const apps = window.servers.filter((s) => has(s, 'app'))
        const least = apps.reduce((a, b) => (b.utilization < a.utilization ? b : a))
        if (options.unevenBalance !== undefined || least.utilization < top.utilization * STARVED_BELOW) {
          const why = options.unevenBalance === undefined ? '' : ` (${options.unevenBalance})`
          return { next: 'even out the balancing, then more app instances', advice: `${busy} of ${facts.appServers} app servers are at their quota (${name} most): the balancer spreads load unevenly${why}; fix that before adding app instances.` }
        }
        return { next: `more app instances (${more})`, advice: `${busy} of ${facts.appServers} app servers are at their quota (${name} most) and the least busy, ${least.server}, is at ${Math.round(least.utilization * 100)} %: the load is spread evenly and the app servers are at their limit together; add app instances behind the gateway (${more}).` }
      }
      return { next: `more app instances (${more})`, advice: `Every app server is at its quota (${name} most): add app instances behind the gateway (${more}).` }
    }
    case 'worker':
      return { next: `more workers (${facts.workers} → ${facts.workers + 1})`, advice: `The worker on ${name} is at its quota: add workers (${facts.workers} → ${facts.workers + 1}) so the queue drains.` }
    case 'pooler':
      return { next: 'more CPU for PgBouncer', advice: `PgBouncer on ${name} is at its quota: give it more CPU or a server of its own.` }
    default:
      return { next: `more CPU for ${name}`, advice: `${name} is at its quota: give it more CPU.` }
  }
}

/** An uneven balance is worth naming whatever ran out: the advice says so unless it already did. */
function withBalance (advice: string, options: BottleneckOptions): string {
  const line = options.unevenBalance
  return line === undefined || advice.includes(line) ? advice : `${advice} Uneven balancing: ${line}.`
}

/** Names the saturated server(s) of a window and what the playbook scales next. */
export function findBottleneck (window: CpuWindow, options: BottleneckOptions = {}): Bottleneck {
  const saturated = window.servers.filter((s) => isSaturated(s, options)).sort((a, b) => b.utilization - a.utilization)
  const m = window.machine
  const machineSaturated = m.busyCores >= (options.machineBusyAt ?? 0.9) * m.cores
  const machineLine = `${cores(m.busyCores)} of ${m.cores} cores busy: servers ${cores(m.stackCores)}, load generator and the rest ${cores(m.otherCores)}`
  const top = saturated[0]
  if (top === undefined) {
    if (machineSaturated) {
      return {
        kind: 'machine', saturated, machineSaturated,
        verdict: `Bottleneck: the machine, ${machineLine}; no server at its quota — next: a bigger machine, not a bigger server.`,
        advice: withBalance(`No emulated server reached its CPU quota, but the machine's cores are all busy: the servers and the load generator compete for them. Measure on more cores, or with fewer servers.`, options),
      }
    }
    const busiest = window.servers[0]
    return {
      kind: 'none', saturated, machineSaturated,
      verdict: `No CPU bottleneck: no server at its quota${busiest === undefined ? '' : ` (busiest ${describeServer(busiest)})`}; ${machineLine}.`,
      advice: withBalance('If latency breaks the SLO here, CPU is not why: look at the load generator (send lag), connection pools, locks and I/O.', options),
    }
  }
  let kind = serverKind(top)
  let named = top
  // A saturated gateway caps every app server behind it: it goes first.
  const gateway = saturated.find((s) => serverKind(s) === 'gateway')
  if (kind === 'app' && gateway !== undefined) { kind = 'gateway'; named = gateway }
  const next = step(kind, named, window, saturated, options)
  const others = saturated.filter((s) => s !== named).map((s) => s.server)
  const also = others.length === 0 ? '' : `; also at quota: ${others.join(', ')}`
  const machineNote = machineSaturated ? `; the machine is busy too, ${machineLine}` : ''
  return { kind, saturated, machineSaturated, verdict: `Bottleneck: ${describeServer(named)}${also}${machineNote} — scale next: ${next.next}.`, advice: withBalance(next.advice, options) }
}
