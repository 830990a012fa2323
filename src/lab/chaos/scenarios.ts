import { OutgrowError } from '../../errors/index.js'

/**
 * The faults `outgrow chaos` injects, and which process of the running stack each one hits. The
 * choice is made from what `outgrow status` reports plus what the nodes themselves answer (the
 * PostgreSQL primary is whichever node says it is not in recovery), never from unit names, so it
 * holds with or without HA, Sentinel or a pooler.
 */

export const SCENARIOS = ['kill-instance', 'kill-primary', 'freeze-primary', 'kill-redis', 'kill-etcd-member', 'kill-worker'] as const
export type ScenarioName = typeof SCENARIOS[number]

export const SCENARIO_HELP: Readonly<Record<ScenarioName, string>> = {
  'kill-instance': 'SIGKILL of one app instance',
  'kill-primary': 'SIGKILL of the PostgreSQL primary\'s whole node (process tree)',
  'freeze-primary': 'SIGSTOP of the primary\'s whole node for --freeze seconds, then SIGCONT',
  'kill-redis': 'SIGKILL of the Redis master\'s process tree',
  'kill-etcd-member': 'SIGKILL of one etcd member (the leader when one answers)',
  'kill-worker': 'SIGKILL of one job worker',
}

export function isScenario (name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name)
}

/** A process as `outgrow status` lists it. */
export interface StackNode {
  readonly name: string
  readonly role: string
  readonly pid?: number | undefined
  readonly url?: string | undefined
  readonly state: string
  /** An HA node's other processes: its fence keeper stands in for a watchdog and is not frozen with it. */
  readonly ha?: { readonly pids: { readonly keeper?: number | undefined } } | undefined
}

/** What the nodes answered, by unit name; undefined where a node did not answer. */
export interface NodeFacts {
  /** PostgreSQL: a writable primary (not in recovery, not read-only)? */
  readonly writable: ReadonlyMap<string, boolean | undefined>
  /** Redis: the first word of ROLE. */
  readonly redisRole: ReadonlyMap<string, string | undefined>
  /** etcd: is this member the leader? */
  readonly etcdLeader: ReadonlyMap<string, boolean | undefined>
}

export interface Target {
  readonly name: string
  readonly pid: number
  /** kill: SIGKILL of the tree; freeze: SIGSTOP, then SIGCONT. */
  readonly fault: 'kill' | 'freeze'
  /** Processes of the tree a freeze leaves running (an HA node's fence keeper). */
  readonly spared?: readonly number[]
}

const running = (n: StackNode): n is StackNode & { pid: number } => n.pid !== undefined && n.state === 'ready'
const byName = (a: StackNode, b: StackNode): number => a.name.localeCompare(b.name, 'en', { numeric: true })

/** The PostgreSQL servers of the stack (not its poolers): the nodes the probes ask. */
export function postgresNodes (nodes: readonly StackNode[]): Array<StackNode & { url: string }> {
  return nodes.filter((n): n is StackNode & { url: string } => n.role === 'postgres' && n.url?.startsWith('postgres') === true).sort(byName)
}

export function redisNodes (nodes: readonly StackNode[]): Array<StackNode & { url: string }> {
  return nodes.filter((n): n is StackNode & { url: string } => n.role === 'redis' && n.url?.startsWith('redis') === true).sort(byName)
}

export function etcdNodes (nodes: readonly StackNode[]): Array<StackNode & { url: string }> {
  return nodes.filter((n): n is StackNode & { url: string } => n.role === 'consensus' && n.url !== undefined).sort(byName)
}

function noTarget (scenario: ScenarioName, why: string): OutgrowError {
  return new OutgrowError('OUTGROW_CHAOS_NO_TARGET', `${scenario}: ${why}`, { scenario })
}

function firstRunning (scenario: ScenarioName, nodes: readonly StackNode[], role: string, what: string): StackNode & { pid: number } {
  const found = nodes.filter((n) => n.role === role).sort(byName)
  const target = found.find(running)
  if (target === undefined) throw noTarget(scenario, found.length === 0 ? `the stack has no ${what}` : `no ${what} is ready (${found.map((n) => `${n.name}: ${n.state}`).join(', ')})`)
  return target
}

/** The process a scenario hits, or OUTGROW_CHAOS_NO_TARGET naming what the stack lacks. */
export function selectTarget (scenario: ScenarioName, nodes: readonly StackNode[], facts: NodeFacts): Target {
  switch (scenario) {
    case 'kill-instance': return { ...pick(firstRunning(scenario, nodes, 'app', 'app instance')), fault: 'kill' }
    case 'kill-worker': return { ...pick(firstRunning(scenario, nodes, 'worker', 'job worker')), fault: 'kill' }
    case 'kill-primary':
    case 'freeze-primary': {
      const pgs = postgresNodes(nodes)
      if (pgs.length === 0) throw noTarget(scenario, 'the stack has no PostgreSQL')
      const primaries = pgs.filter((n) => facts.writable.get(n.name) === true)
      if (primaries.length > 1) throw noTarget(scenario, `more than one writable primary before the fault (${primaries.map((n) => n.name).join(', ')})`)
      const primary = primaries[0]
      if (primary?.pid === undefined) throw noTarget(scenario, `no PostgreSQL node answers as a writable primary (asked ${pgs.map((n) => n.name).join(', ')})`)
      if (scenario === 'kill-primary') return { ...pick(primary as StackNode & { pid: number }), fault: 'kill' }
      // A node that froze: its PostgreSQL and agent stop; the fence keeper, a watchdog's stand-in
      // (Patroni's is the kernel's), goes on, as the issue of failover with a frozen node asks.
      const keeper = primary.ha?.pids.keeper
      return { ...pick(primary as StackNode & { pid: number }), fault: 'freeze', ...(keeper === undefined ? {} : { spared: [keeper] }) }
    }
    case 'kill-redis': {
      const redis = redisNodes(nodes)
      if (redis.length === 0) throw noTarget(scenario, 'the stack has no Redis')
      const master = redis.find((n) => n.pid !== undefined && facts.redisRole.get(n.name) === 'master')
      if (master === undefined) throw noTarget(scenario, `no Redis answers ROLE as master (asked ${redis.map((n) => n.name).join(', ')})`)
      return { ...pick(master as StackNode & { pid: number }), fault: 'kill' }
    }
    case 'kill-etcd-member': {
      const members = etcdNodes(nodes)
      if (members.length === 0) throw noTarget(scenario, 'the stack has no etcd (consensus) member')
      const leader = members.find((n) => n.pid !== undefined && facts.etcdLeader.get(n.name) === true)
      const member = leader ?? members.find(running)
      if (member?.pid === undefined) throw noTarget(scenario, 'no etcd member is ready')
      return { ...pick(member as StackNode & { pid: number }), fault: 'kill' }
    }
  }
}

const pick = (n: StackNode & { pid: number }): { name: string, pid: number } => ({ name: n.name, pid: n.pid })

/** Which facts selecting a scenario's target needs, so only those nodes are asked. */
export function factsNeeded (scenario: ScenarioName): 'postgres' | 'redis' | 'etcd' | undefined {
  if (scenario === 'kill-primary' || scenario === 'freeze-primary') return 'postgres'
  if (scenario === 'kill-redis') return 'redis'
  if (scenario === 'kill-etcd-member') return 'etcd'
  return undefined
}
