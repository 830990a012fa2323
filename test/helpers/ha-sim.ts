/**
 * A deterministic simulation of an HA cluster, in the manner of FoundationDB's simulator and
 * TigerBeetle's VOPR: one seed decides everything (PRNG, fault schedule, clock drift, operation
 * times), time is a ManualClock, and invariants are checked after every step. Three nodes run the
 * real HaAgent against the in-memory DCS, each over a SimPostgres; clients write to whichever
 * server accepts writes; a write is acknowledged once a synchronous standby holds it.
 *
 * Faults: kill -9 of a node (agent and PostgreSQL) or of PostgreSQL alone, SIGSTOP of the agent
 * (its PostgreSQL keeps taking writes until its fence deadline), network partitions (DCS and
 * replication), an unreachable, slow or reply-losing DCS, a PostgreSQL that answers late,
 * switchover requests. After `healAt` everything is repaired and the cluster must have one writer
 * again within `recoveryBoundMs`, and every member's PostgreSQL must run again by the end. A killed
 * PostgreSQL stays down until its fault heals; one the agent stopped is the agent's to start.
 */
import { ManualClock, type Clock } from '../../src/control/clock.js'
import { HaAgent } from '../../src/ha/agent.js'
import { haConfig, type HaConfig } from '../../src/ha/config.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import type { Dcs } from '../../src/ha/dcs/port.js'
import type { LocalPostgres } from '../../src/ha/local.js'
import { seededRandom } from '../../src/lab/zipf.js'
import { SimPostgres } from './ha-sim-postgres.js'

export interface SimOptions {
  readonly seed: number
  readonly durationMs?: number
  readonly healAt?: number
  readonly stepMs?: number
  readonly recoveryBoundMs?: number
  readonly config?: HaConfig
  /** Instead of random faults: these, at these times (kinds as in the trace: 'kill', 'stop'). */
  readonly script?: ReadonlyArray<{ readonly at: number, readonly kind: 'kill' | 'stop', readonly node: string, readonly forMs: number }>
}

export interface SimResult {
  readonly seed: number
  readonly violation: string | null
  readonly trace: readonly string[]
  readonly acked: number
  readonly recoveredAfterMs: number | null
  /** Scripted runs: real time from the first scripted fault to the first acknowledged write on another node. */
  readonly failoverMs: number | null
}

interface Process { frozenUntil: number, dead: boolean }

class SimNode {
  proc: Process = { frozenUntil: 0, dead: false }
  agent: HaAgent | null = null
  downUntil = 0
  pgDownUntil = 0
  readonly clock: Clock
  constructor (readonly name: string, readonly pg: SimPostgres, clock: Clock) { this.clock = clock }
}

const NAMES = ['a', 'b', 'c']

export async function simulate (options: SimOptions): Promise<SimResult> {
  const random = seededRandom(options.seed)
  const between = (min: number, max: number): number => min + Math.floor(random() * (max - min))
  const config = options.config ?? haConfig()
  const stepMs = options.stepMs ?? 50
  const durationMs = options.durationMs ?? 20_000
  const healAt = options.healAt ?? durationMs - 10_000
  const recoveryBoundMs = options.recoveryBoundMs ?? 8000
  const real = new ManualClock(0)
  const store = new MemoryDcsStore(real)
  const trace: string[] = []
  const log = (line: string): void => { trace.push(`${String(Math.round(real.now())).padStart(6)} ${line}`) }
  const cut = new Set<string>() // partitioned nodes: reach neither the DCS nor another node
  const nodes = new Map<string, SimNode>()
  const peer = (from: string, to: string): SimPostgres | null => (cut.has(from) || cut.has(to) ? null : nodes.get(to)?.pg ?? null)

  for (const name of NAMES) {
    const drift = (random() * 2 - 1) * config.maxClockDriftRate / 2
    const nodeClock: Clock = { now: () => real.now() * (1 + drift), sleep: (ms) => real.sleep(ms / (1 + drift)) }
    const pg = new SimPostgres(name, nodeClock, real, random, peer, name === 'a' ? 'primary' : 'replica', name === 'a' ? null : 'a')
    pg.strict = config.synchronousModeStrict
    nodes.set(name, new SimNode(name, pg, nodeClock))
  }

  const startAgent = (node: SimNode): void => {
    const proc: Process = { frozenUntil: 0, dead: false }
    node.proc = proc
    const gate = async (): Promise<void> => {
      for (;;) {
        if (proc.dead) await new Promise<never>(() => {})
        if (proc.frozenUntil <= real.now()) return
        await real.sleep(proc.frozenUntil - real.now())
      }
    }
    const clock: Clock = { now: () => node.clock.now(), sleep: async (ms) => { await node.clock.sleep(ms); await gate() } }
    node.agent = new HaAgent({
      name: node.name,
      dcs: gated(store.client(node.name), gate),
      postgres: gated(node.pg, gate),
      clock,
      config,
      onEvent: (e) => { log(`${e.member}: ${e.message}${e.actions.length > 0 ? ` [${e.actions.join(', ')}]` : ''}${e.outcome === 'ok' ? '' : ` → ${e.outcome}`}`) },
    })
    node.agent.start()
  }
  for (const node of nodes.values()) startAgent(node)

  const acked: Array<{ pos: number, id: number }> = []
  let nextId = 1
  let violation: string | null = null
  const wasWritable = new Map<string, boolean>()
  let recoveredAt: number | null = null
  let lastAckAt = -1
  let failoverAt: number | null = null
  const firstFault = options.script?.[0]
  let faultedNode: string | undefined

  const faults: Array<{ until: number, heal: () => void }> = []
  const inject = (): void => {
    const list = [...nodes.values()]
    const node = list[between(0, list.length)] as SimNode
    const duration = between(300, 6000)
    const until = Math.min(real.now() + duration, healAt)
    const kind = between(0, 10)
    if (kind === 0 && !node.proc.dead) {
      log(`FAULT kill -9 ${node.name} (agent and PostgreSQL) for ${until - real.now()} ms`)
      node.proc.dead = true
      node.pg.crash()
      node.pg.heldDown = true
      node.downUntil = until
    } else if (kind === 1 && node.pg.running) {
      log(`FAULT kill -9 PostgreSQL on ${node.name} for ${until - real.now()} ms`)
      node.pg.crash()
      node.pg.heldDown = true
      node.pgDownUntil = until
    } else if (kind === 2 || kind === 3) {
      log(`FAULT SIGSTOP agent ${node.name} for ${until - real.now()} ms`)
      node.proc.frozenUntil = Math.max(node.proc.frozenUntil, until)
    } else if (kind === 4) {
      log(`FAULT partition ${node.name} for ${until - real.now()} ms`)
      cut.add(node.name)
      store.setFaults(node.name, { unreachable: true })
      faults.push({ until, heal: () => { cut.delete(node.name); store.setFaults(node.name, { unreachable: false }) } })
    } else if (kind === 5) {
      log(`FAULT DCS unreachable from ${node.name} for ${until - real.now()} ms`)
      store.setFaults(node.name, { unreachable: true })
      faults.push({ until, heal: () => { store.setFaults(node.name, { unreachable: false }) } })
    } else if (kind === 6) {
      const latencyMs = between(50, 1500)
      log(`FAULT DCS slow (${latencyMs} ms) for ${node.name} for ${until - real.now()} ms`)
      store.setFaults(node.name, { latencyMs })
      faults.push({ until, heal: () => { store.setFaults(node.name, { latencyMs: 0 }) } })
    } else if (kind === 7) {
      log(`FAULT DCS loses replies to ${node.name} for ${until - real.now()} ms`)
      store.setFaults(node.name, { loseReplies: true })
      faults.push({ until, heal: () => { store.setFaults(node.name, { loseReplies: false }) } })
    } else if (kind === 9) {
      const latencyMs = between(200, 2500)
      log(`FAULT PostgreSQL on ${node.name} answers in ${latencyMs} ms for ${until - real.now()} ms`)
      node.pg.statusLatencyMs = latencyMs
      faults.push({ until, heal: () => { node.pg.statusLatencyMs = 0 } })
    } else if (kind === 8) {
      const leader = store.currentLeader()
      const to = NAMES[between(0, NAMES.length)] as string
      if (leader !== null && to !== leader.name) {
        log(`REQUEST switchover ${leader.name} → ${to}`)
        store.casSwitchover({ from: leader.name, to }, store.snapshot().switchover?.revision ?? null)
      }
    }
  }

  const repair = (node: SimNode, healAll: boolean): void => {
    const now = real.now()
    if (node.proc.dead && (healAll || node.downUntil <= now)) {
      log(`HEAL restart ${node.name}`)
      node.pg.heldDown = false
      node.pg.restart()
      startAgent(node)
    } else if (node.pg.heldDown && !node.proc.dead && (healAll || node.pgDownUntil <= now)) {
      // Only a crash is restarted from outside; a server the agent stopped is the agent's to start.
      log(`HEAL restart PostgreSQL on ${node.name}`)
      node.pg.heldDown = false
      if (!node.pg.running) node.pg.restart()
    }
    if (healAll) node.proc.frozenUntil = Math.min(node.proc.frozenUntil, now)
  }

  for (let now = 0; now < durationMs && violation === null; now = real.now()) {
    const healing = now >= healAt
    if (options.script === undefined && !healing && now > 1000 && random() < stepMs / 1500) inject()
    for (const fault of options.script ?? []) {
      const node = nodes.get(fault.node === 'leader' ? store.currentLeader()?.name ?? '' : fault.node)
      if (fault.at !== now || node === undefined) continue
      log(`FAULT ${fault.kind === 'kill' ? 'kill -9' : 'SIGSTOP'} ${node.name} for ${fault.forMs} ms`)
      faultedNode ??= node.name
      if (fault.kind === 'stop') node.proc.frozenUntil = now + fault.forMs
      else { node.proc.dead = true; node.pg.crash(); node.pg.heldDown = true; node.downUntil = now + fault.forMs }
    }
    for (let i = faults.length - 1; i >= 0; i--) {
      const fault = faults[i] as { until: number, heal: () => void }
      if (healing || fault.until <= now) { fault.heal(); faults.splice(i, 1) }
    }
    for (const node of nodes.values()) repair(node, healing)
    store.tick()

    const writers = [...nodes.values()].filter((n) => n.pg.writable())
    if (random() < 0.7) {
      for (const w of writers) { w.pg.log.push(nextId); w.pg.pending.set(w.pg.log.length - 1, nextId); nextId++ }
    }
    for (const node of nodes.values()) node.pg.replicate(between(0, 6))
    for (const p of nodes.values()) {
      if (p.pg.pending.size === 0) continue
      // A fence terminates every session, commits waiting for a standby included: those never get acknowledged.
      if (!p.pg.writable()) { p.pg.pending.clear(); continue }
      if (p.pg.syncOff) {
        for (const [pos, id] of p.pg.pending) acked.push({ pos, id })
        p.pg.pending.clear(); lastAckAt = now
        if (failoverAt === null && firstFault !== undefined && now > firstFault.at && p.name !== faultedNode) failoverAt = now - firstFault.at
        continue
      }
      const standbys = p.pg.syncStandbys.map((s) => nodes.get(s)).filter((s): s is SimNode => s !== undefined && s.pg.following === p.name && s.pg.running && peer(p.name, s.name) !== null && !s.pg.diverged)
      for (const [pos, id] of p.pg.pending) {
        if (standbys.some((s) => s.pg.log[pos] === id)) {
          acked.push({ pos, id }); p.pg.pending.delete(pos); lastAckAt = now
          if (failoverAt === null && firstFault !== undefined && now > firstFault.at && p.name !== faultedNode) failoverAt = now - firstFault.at
        }
      }
    }

    const leader = store.currentLeader()
    for (const w of writers) {
      if (leader?.name !== w.name) violation = `${w.name} accepts writes without holding a live leader lease (key: ${leader?.name ?? 'none'})`
      if (wasWritable.get(w.name) !== true) {
        const missing = acked.find((a) => w.pg.log[a.pos] !== a.id)
        if (missing !== undefined) violation = `${w.name} accepts writes but lacks acknowledged write #${missing.id} at LSN ${missing.pos}`
        log(`WRITER ${w.name} (timeline ${w.pg.timeline}, lsn ${w.pg.log.length})`)
      }
    }
    if (writers.length > 1) violation = `two writers at once: ${writers.map((w) => w.name).join(', ')}`
    for (const node of nodes.values()) wasWritable.set(node.name, writers.includes(node))
    if (healing && recoveredAt === null && writers.length === 1 && lastAckAt >= healAt) recoveredAt = now
    if (healing && recoveredAt === null && now - healAt > recoveryBoundMs) violation = `no writer with acknowledged writes ${recoveryBoundMs} ms after every fault healed`
    await real.advance(stepMs)
  }
  if (violation === null && real.now() - healAt > recoveryBoundMs) {
    // Every member must be back as a running server, or the cluster is one fault from losing its standbys.
    const stopped = [...nodes.values()].filter((n) => !n.pg.running).map((n) => n.name)
    if (stopped.length > 0) violation = `PostgreSQL still stopped on ${stopped.join(', ')} ${Math.round(real.now() - healAt)} ms after every fault healed`
  }
  for (const node of nodes.values()) { node.proc.dead = true }
  if (violation !== null) log(`VIOLATION ${violation}`)
  return { seed: options.seed, violation, trace, acked: acked.length, recoveredAfterMs: recoveredAt === null ? null : recoveredAt - healAt, failoverMs: failoverAt }
}

/** Every call waits while the agent's process is frozen (before it is sent and before its reply is seen). */
function gated<T extends Dcs | LocalPostgres> (target: T, gate: () => Promise<void>): T {
  return new Proxy(target, {
    get (obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown
      if (typeof value !== 'function' || prop === 'watchLeader') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(obj) : value
      return async (...args: unknown[]) => {
        await gate()
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args)
        await gate()
        return result
      }
    },
  })
}
