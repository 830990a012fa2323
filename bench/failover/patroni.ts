/**
 * Patroni under test: three nodes, each a Patroni process (Debian's `patroni`) that runs its own
 * PostgreSQL, on the same etcd as Outgrow's agents under a namespace of its own, through its etcd3
 * DCS. Settings are its fastest legal ones (ttl 20, loop_wait 1, retry_timeout 3) in synchronous
 * mode, and PostgreSQL gets the settings Outgrow's nodes run with, so that only the HA layer differs.
 */
import { chown, mkdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { EtcdClient } from '../../src/ha/dcs/etcd-client.js'
import { postgresBinDir } from '../../src/supervisor/engines/binaries.js'
import { postgresRunAs } from '../../src/supervisor/engines/run-as.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { ManagedProcess } from '../../src/supervisor/managed-process.js'
import { pollUntil } from '../../src/lab/poll.js'
import { NODE_NAMES, signalPostgres, tail, type HaSystem } from './system.js'

const NAMESPACE = 'patroni'
const SCOPE = 'failover'
export const PATRONI_DCS = { ttl: 20, loop_wait: 1, retry_timeout: 3, synchronous_mode: true } as const

/** What src/supervisor/engines/postgres.ts and src/ha/agent-main.ts give Outgrow's nodes. */
const POSTGRES_PARAMETERS = {
  wal_level: 'replica',
  max_wal_senders: 10,
  max_replication_slots: 10,
  hot_standby: 'on',
  wal_log_hints: 'on',
  synchronous_commit: 'on',
  fsync: 'off',
  max_connections: 300,
  shared_buffers: '128MB',
  log_min_messages: 'warning',
  wal_retrieve_retry_interval: '500ms',
}

const HBA = ['local all all trust', 'host all all 127.0.0.1/32 trust', 'local replication all trust', 'host replication all 127.0.0.1/32 trust']

export function patroniBinary (): string {
  const found = ['/usr/bin/patroni', '/usr/local/bin/patroni'].find((p) => existsSync(p))
  if (found === undefined) throw new Error('patroni not found: run `bash scripts/setup.sh` (Debian: apt-get install patroni)')
  return found
}

interface PatroniNode { name: string, dataDir: string, configFile: string, logFile: string, port: number, process: ManagedProcess | null }

export async function patroniSystem (dir: string, etcdHosts: readonly string[], etcd: EtcdClient): Promise<HaSystem> {
  const command = patroniBinary()
  const runAs = postgresRunAs()
  const home = join(dir, 'patroni')
  await mkdir(home, { recursive: true })
  // PostgreSQL refuses to run as root: Patroni runs as the user Outgrow runs PostgreSQL as.
  if (runAs !== undefined) await chown(home, runAs.uid, runAs.gid)
  const nodes: PatroniNode[] = []
  for (const name of NODE_NAMES) {
    const port = await freePort()
    const socketDir = join(home, `${name}-run`)
    await mkdir(socketDir, { recursive: true })
    if (runAs !== undefined) await chown(socketDir, runAs.uid, runAs.gid)
    const node: PatroniNode = { name, dataDir: join(home, name), configFile: join(home, `${name}.yml`), logFile: join(home, `${name}-patroni.log`), port, process: null }
    const restPort = await freePort()
    const config = {
      scope: SCOPE,
      namespace: `/${NAMESPACE}/`,
      name,
      log: { level: 'INFO' },
      restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
      etcd3: { hosts: etcdHosts.map((h) => new URL(h).host) },
      bootstrap: {
        dcs: { ...PATRONI_DCS, postgresql: { use_pg_rewind: true, use_slots: true, parameters: POSTGRES_PARAMETERS } },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
      },
      postgresql: {
        listen: `127.0.0.1:${port}`,
        connect_address: `127.0.0.1:${port}`,
        data_dir: node.dataDir,
        bin_dir: postgresBinDir(),
        pgpass: join(home, `${name}.pgpass`),
        // Its socket outside the data directory: pg_rewind copies the data directory and trips on one.
        parameters: { unix_socket_directories: socketDir },
        authentication: { superuser: { username: 'postgres' }, replication: { username: 'postgres' }, rewind: { username: 'postgres' } },
        pg_hba: HBA,
        basebackup: [{ checkpoint: 'fast' }],
        remove_data_directory_on_rewind_failure: true,
        remove_data_directory_on_diverged_timelines: true,
      },
      // No /dev/watchdog here; Patroni's default ("automatic") would use one if present.
      watchdog: { mode: 'off' },
    }
    // YAML is a superset of JSON.
    await writeFile(node.configFile, JSON.stringify(config, null, 2))
    nodes.push(node)
  }
  const node = (name: string): PatroniNode => {
    const found = nodes.find((n) => n.name === name)
    if (found === undefined) throw new Error(`no node ${name}`)
    return found
  }
  const url = (n: PatroniNode, db = 'outgrow'): string => `postgres://postgres@127.0.0.1:${n.port}/${db}`
  const startPatroni = (n: PatroniNode): void => {
    n.process = new ManagedProcess({ name: `patroni-${n.name}`, command, args: [n.configFile], env: { HOME: home }, logFile: n.logFile, runAs })
    n.process.start()
  }
  const leader = async (): Promise<string | null> => (await etcd.get(`/${NAMESPACE}/${SCOPE}/leader`).catch(() => undefined))?.value ?? null

  return {
    name: 'patroni',
    nodes: nodes.map((n) => ({ name: n.name, url: url(n) })),
    settings: {
      ...PATRONI_DCS,
      synchronous_node_count: 1,
      use_pg_rewind: true,
      use_slots: true,
      watchdog: 'off (no /dev/watchdog on this machine)',
    },
    start: async () => {
      // a bootstraps (initdb) alone and takes the key; b and c then clone it (pg_basebackup).
      const a = node('a')
      startPatroni(a)
      const ready = await pollUntil(async () => {
        if (await leader() !== 'a') return false
        const client = new pg.Client({ connectionString: url(a, 'postgres'), connectionTimeoutMillis: 1000 })
        client.on('error', () => {})
        try {
          await client.connect()
          const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')
          if (rows[0]?.recovery !== false) return false
          await client.query('CREATE DATABASE outgrow')
          return true
        } catch {
          return false
        } finally {
          await client.end().catch(() => {})
        }
      }, 90_000, 500)
      if (!ready) throw new Error(`Patroni did not bootstrap a\n${tail(a.logFile, 20)}`)
      const client = new pg.Client({ connectionString: url(a) })
      await client.connect()
      await client.query('CREATE TABLE acks (id integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())')
      await client.end()
      for (const name of ['b', 'c']) startPatroni(node(name))
    },
    leader,
    signal: (name, signal) => {
      const n = node(name)
      signalPostgres(n.dataDir, signal)
      n.process?.kill(signal)
    },
    restart: async (name) => { startPatroni(node(name)) },
    logs: (name) => `${tail(node(name).logFile, 15)}`,
    stop: async () => {
      for (const n of nodes) {
        n.process?.kill('SIGCONT')
        signalPostgres(n.dataDir, 'SIGCONT')
      }
      // SIGTERM: Patroni stops its PostgreSQL; the leader's last one out deletes the key.
      await Promise.allSettled(nodes.map(async (n) => { await n.process?.stop('SIGTERM', 30_000) }))
      for (const n of nodes) signalPostgres(n.dataDir, 'SIGKILL')
    },
  }
}
