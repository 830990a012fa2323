/**
 * Failover benchmark: Outgrow's HA agent against Patroni in the same run, on the same 3-member etcd
 * cluster, the same PostgreSQL settings and the same client. For each system in turn, three nodes,
 * then `--trials` trials of each scenario (bench/failover/trial.ts), then the next system. Writes
 * <out>.md and <out>.json (every trial); the JSON is rewritten after each trial, so a run cut short
 * keeps what it measured.
 *
 *   npm run bench:failover -- [--trials 5] [--systems outgrow,patroni] [--scenarios kill-primary,freeze-primary] [--out docs/benchmarks/failover] [--render]
 */
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { EtcdClient } from '../src/ha/dcs/etcd-client.js'
import { etcdCluster } from '../src/lab/etcd-cluster.js'
import { describeMachine } from '../src/lab/machine.js'
import { postgresBinDir } from '../src/supervisor/engines/binaries.js'
import { ETCD_ELECTION_TIMEOUT_MS, ETCD_HEARTBEAT_MS } from '../src/supervisor/engines/etcd.js'
import { outgrowSystem } from './failover/outgrow.js'
import { patroniBinary, patroniSystem } from './failover/patroni.js'
import { failoverMarkdown, type FailoverRun } from './failover/report.js'
import type { HaSystem } from './failover/system.js'
import { runTrial, SCENARIOS, type Scenario, type TrialResult } from './failover/trial.js'

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '5' },
    systems: { type: 'string', default: 'outgrow,patroni' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    out: { type: 'string', default: 'docs/benchmarks/failover' },
    // Only renders <out>.md again from <out>.json (after a change to the report's text).
    render: { type: 'boolean', default: false },
  },
})
if (values.render) {
  await writeFile(`${values.out}.md`, failoverMarkdown(JSON.parse(await readFile(`${values.out}.json`, 'utf8')) as FailoverRun))
  process.exit(0)
}
const trials = Number(values.trials)
const systems = values.systems.split(',') as Array<'outgrow' | 'patroni'>
const scenarios = values.scenarios.split(',') as Scenario[]
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(', ')})`)
for (const s of systems) if (s !== 'outgrow' && s !== 'patroni') throw new Error(`unknown system ${String(s)} (outgrow, patroni)`)

const version = (command: string, args: string[]): string => {
  try { return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?' } catch { return '?' }
}
const versions: Record<string, string> = {
  PostgreSQL: version(join(postgresBinDir(), 'postgres'), ['--version']).replace(/^postgres \(PostgreSQL\) /, ''),
  etcd: version('etcd', ['--version']).replace(/^etcd Version: /, ''),
}
if (systems.includes('patroni')) versions.Patroni = version(patroniBinary(), ['--version']).replace(/^patroni /, '')

const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-failover-'))
// PostgreSQL and Patroni run as an unprivileged user when we are root: they must reach their dirs.
await chmod(dir, 0o755)
const etcd = await etcdCluster(3)
const results: TrialResult[] = []
const settings: Record<string, Readonly<Record<string, string | number | boolean>>> = {}
const startedAt = new Date().toISOString()
let current: HaSystem | null = null
let client: EtcdClient | null = null

const report = async (incomplete?: string): Promise<void> => {
  const run: FailoverRun = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench:failover -- --trials ${trials}${values.systems === 'outgrow,patroni' ? '' : ` --systems ${values.systems}`}`,
    machine: describeMachine(),
    versions,
    etcd: `3 etcd members (heartbeat ${ETCD_HEARTBEAT_MS} ms, election timeout ${ETCD_ELECTION_TIMEOUT_MS} ms) shared by both systems under separate key prefixes`,
    settings,
    trialsPlanned: trials,
    scenarios,
    trials: results,
    ...(incomplete === undefined ? {} : { incomplete }),
  }
  await writeFile(`${values.out}.json`, `${JSON.stringify(run, null, 2)}\n`)
  await writeFile(`${values.out}.md`, failoverMarkdown(run))
}

const cleanUp = async (): Promise<void> => {
  await current?.stop().catch(() => {})
  client?.close()
  await etcd.stop()
  await rm(dir, { recursive: true, force: true })
}
process.once('SIGINT', () => { void cleanUp().finally(() => process.exit(130)) })

let incomplete: string | undefined
try {
  await etcd.start()
  client = new EtcdClient({ hosts: etcd.hosts, callTimeoutMs: 1000 })
  let nextId = 1
  for (const name of systems) {
    console.log(`# ${name}: starting 3 nodes`)
    const system: HaSystem = name === 'outgrow' ? await outgrowSystem(etcd.hosts, client) : await patroniSystem(dir, etcd.hosts, client)
    current = system
    settings[name] = system.settings
    await system.start()
    for (const scenario of scenarios) {
      for (let trial = 1; trial <= trials; trial++) {
        const { result, nextId: next } = await runTrial(system, scenario, trial, nextId)
        nextId = next
        results.push(result)
        console.log(`# ${name} ${scenario} #${trial}: writes again after ${result.timeToWritesMs ?? '–'} ms (${result.oldLeader} → ${result.newLeader ?? '–'}), lost ${result.lost}, two-primary instants ${result.twoPrimaryInstants}, failed reads ${result.readFailures}, rejoin ${result.rejoinMs ?? '–'} ms${result.error === undefined ? '' : `; ${result.error}`}`)
        if (result.error !== undefined) console.log(system.nodes.map((n) => `--- ${n.name}:\n${system.logs(n.name)}`).join('\n'))
        await report(`${results.length} of ${systems.length * scenarios.length * trials} trials done; the run is still going or was cut short`)
      }
    }
    await system.stop()
    current = null
  }
} catch (err) {
  incomplete = `stopped after ${results.length} of ${systems.length * scenarios.length * trials} trials: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`
  console.error(err)
} finally {
  await report(incomplete)
  await cleanUp()
}
