import { readFileSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { AgentProcessConfig } from '../ha/agent-main.js'
import { ManagedProcess } from '../supervisor/managed-process.js'
import { PostgresServer, type PostgresOptions } from '../supervisor/engines/postgres.js'
import { freePort } from '../supervisor/free-port.js'
import { postmasterPid as postmasterPidOf, signalPostgres as signalServer } from './pg-signal.js'

/**
 * Real HA nodes for tests and benchmarks: PostgreSQL servers (the first initdb'd, the others cloned
 * from it with replication slots), each run by its own agent process (src/ha/agent-main.ts) over a
 * real etcd.
 */
export interface HaNode {
  readonly name: string
  readonly options: PostgresOptions
  agent: ManagedProcess | null
  readonly url: string
}

export interface HaNodes {
  readonly nodes: readonly HaNode[]
  node(name: string): HaNode
  /** Starts (or starts again) node's agent, which starts its PostgreSQL; resolves once it is ready. */
  startAgent(name: string): Promise<void>
  /** The postmaster's pid from postmaster.pid, if the server runs. */
  postmasterPid(name: string): number | undefined
  /** Sends signal to node's whole PostgreSQL server (postmaster, backends, walsenders: pg-signal.ts). */
  signalPostgres(name: string, signal: NodeJS.Signals): void
  /** The agents' decision lines, for a failing test's message. */
  agentLog(name: string, lines?: number): string
  stop(): Promise<void>
}

const AGENT_MAIN = fileURLToPath(new URL('../ha/agent-main.js', import.meta.url))

export async function createHaNodes (names: readonly string[], etcdHosts: readonly string[], cluster: string): Promise<HaNodes> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  await chmod(dir, 0o755)
  const options = new Map<string, PostgresOptions>()
  for (const name of names) {
    options.set(name, { name: `pg-${name}`, dataDir: join(dir, name), logFile: join(dir, `${name}-postgres.log`), port: await freePort(), durable: false })
  }
  const peers = Object.fromEntries(names.map((n) => [n, { host: '127.0.0.1', port: (options.get(n) as PostgresOptions).port }]))
  const nodes: HaNode[] = names.map((name) => {
    const o = options.get(name) as PostgresOptions
    return { name, options: o, agent: null, url: `postgres://postgres@127.0.0.1:${o.port}/outgrow` }
  })
  const node = (name: string): HaNode => {
    const found = nodes.find((n) => n.name === name)
    if (found === undefined) throw new Error(`no node ${name}`)
    return found
  }
  const postmasterPid = (name: string): number | undefined => postmasterPidOf(node(name).options.dataDir)
  const signalPostgres = (name: string, signal: NodeJS.Signals): void => { signalServer(node(name).options.dataDir, signal) }

  const [first, ...rest] = names
  const primary = await PostgresServer.createPrimary(options.get(first as string) as PostgresOptions)
  await primary.start()
  await primary.createDatabase()
  const client = new pg.Client({ connectionString: primary.url })
  await client.connect()
  await client.query('CREATE TABLE acks (id integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())')
  await client.end()
  for (const name of rest) await PostgresServer.createReplica(primary.options, options.get(name) as PostgresOptions)
  await primary.stop()

  const startAgent = async (name: string): Promise<void> => {
    const n = node(name)
    const config: AgentProcessConfig = { name, cluster, etcdHosts: [...etcdHosts], postgres: n.options, peers }
    const agent = new ManagedProcess({
      name: `ha-agent-${name}`, command: process.execPath, args: [AGENT_MAIN], env: { OUTGROW_HA_AGENT: JSON.stringify(config) },
      logFile: join(dir, `${name}-agent.log`), ipc: true,
    })
    n.agent = agent
    agent.start()
    await agent.waitForReadyMessage(60_000)
  }
  return {
    nodes,
    node,
    startAgent,
    postmasterPid,
    signalPostgres,
    agentLog: (name, lines = 25) => {
      let pgLog = '(no log)'
      try { pgLog = readFileSync(node(name).options.logFile, 'utf8').trimEnd().split('\n').slice(-8).join('\n') } catch {}
      return `${node(name).agent?.logTail(lines) ?? '(no agent)'}\n--- PostgreSQL ${name}:\n${pgLog}`
    },
    stop: async () => {
      for (const n of nodes) {
        n.agent?.kill('SIGCONT')
        signalPostgres(n.name, 'SIGCONT')
      }
      await Promise.allSettled(nodes.map(async (n) => { await n.agent?.stop('SIGTERM', 20_000) }))
      for (const n of nodes) signalPostgres(n.name, 'SIGKILL')
      await rm(dir, { recursive: true, force: true })
    },
  }
}
