import { loadStackConfig } from '../config/load.js'
import { ControlClient } from '../control/client.js'
import { dashboardUrlOf } from '../control/control-files.js'
import type { StackEvent } from '../control/event-log.js'
import type { StackInfo } from '../control/stack.js'
import { OutgrowError } from '../errors/index.js'
import { resolveDataDir } from './data-dir.js'
import { resolveConfigFile } from './options.js'

export interface TargetOptions { dataDir?: string, config?: string }

const client = (options: TargetOptions): ControlClient => ControlClient.forDataDir(resolveDataDir(options))
const out = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`) }

/** Left-aligned columns, like `kubectl get`. */
export function table (rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n')
}

type Status = StackInfo & { converged: boolean, pending: string[] }

export async function status (options: TargetOptions & { json?: boolean }): Promise<void> {
  const s = await client(options).call<Status>('GET', '/v1/status')
  if (options.json === true) { out(JSON.stringify(s, null, 2)); return }
  // An HA node's pid is its agent's; its PostgreSQL and fence keeper run beside it.
  const age = (p: Status['processes'][number]): string => p.detail ?? (p.ha === undefined ? '' : `postmaster ${p.ha.pids.postmaster ?? '-'}, fence keeper ${p.ha.pids.keeper ?? '-'}`)
  const failover = s.topology.redis ? `  redis failover: ${s.topology.redisFailover ? 'sentinel' : 'off'}` : ''
  out(`level ${s.level}  ${s.url}${failover}  ${s.converged ? 'converged' : `converging: ${s.pending.join('; ') || 'starting'}`}\n${s.emulation}\n${haLine(s)}\n`)
  const role = (p: Status['processes'][number]): string => p.ha === undefined ? p.role : `${p.role} (${p.ha.role})`
  out(table([['NAME', 'ROLE', 'SERVER', 'PID', 'ADDRESS', 'STATE', 'RESTARTS', 'DETAIL'], ...s.processes.map((p) => [p.name, role(p), p.server, String(p.pid ?? '-'), p.url ?? '-', p.state, String(p.restarts), age(p)])]))
}

/** "HA: on — postgres: leader postgres-1, sync standby postgres-2" or "HA: off". */
function haLine (s: Status): string {
  if (!s.ha.enabled) return 'HA: off (no failover: outgrow up --level 4 runs it unless --no-ha)'
  const clusters = Object.entries(s.ha.clusters).map(([name, c]) => {
    const others = Object.entries(c.roles).filter(([, r]) => r !== 'leader').map(([n, r]) => `${r} ${n}`)
    return `${name}: leader ${c.leader ?? 'none (election under way)'}${others.length === 0 ? '' : `, ${others.join(', ')}`}`
  })
  return `HA: on${clusters.length === 0 ? '' : ` — ${clusters.join('; ')}`}`
}

/** `outgrow switchover [--to node] [--wait]`: the leader hands over; --wait until the new leader holds the key. */
export async function switchover (options: TargetOptions & { to?: string, cluster?: string, wait?: boolean }): Promise<void> {
  const c = client(options)
  const r = await c.call<{ cluster: string, from: string, to: string }>('POST', '/v1/switchover', { ...(options.cluster === undefined ? {} : { cluster: options.cluster }), ...(options.to === undefined ? {} : { to: options.to }) })
  out(`accepted: ${r.cluster}: ${r.from} hands over to ${r.to}`)
  if (options.wait !== true) return
  const started = Date.now()
  let seen = false
  while (Date.now() < started + 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const view = (await c.call<Status>('GET', '/v1/status')).ha.clusters[r.cluster]
    if (view?.leader === r.to) { out(`switched over: ${r.to} leads ${r.cluster}`); return }
    seen ||= view?.switchover !== null
    // The leader's agent clears a request it will not honour; the reason is in its log.
    if ((seen || Date.now() - started > 5000) && view?.switchover === null && view.leader === r.from) throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused by ${r.from}: see outgrow logs ${r.from}`)
  }
  throw new OutgrowError('OUTGROW_UPSTREAM_TIMEOUT', `${r.to} did not take over within 60 s: see outgrow events and outgrow logs ${r.to}`)
}

/** `outgrow scale app=5 worker=2`. */
export async function scale (assignments: string[], options: TargetOptions & { wait?: boolean }): Promise<void> {
  const targets: Record<string, number> = {}
  for (const a of assignments) {
    const m = /^([a-z][a-z0-9-]*)=(\d{1,3})$/.exec(a)
    if (m === null) throw new OutgrowError('OUTGROW_VALIDATION', `expected name=count (e.g. app=5), got ${a}`)
    targets[m[1] as string] = Number(m[2])
  }
  if (Object.keys(targets).length === 0) throw new OutgrowError('OUTGROW_VALIDATION', 'expected at least one name=count, e.g. outgrow scale app=5 worker=2')
  const c = client(options)
  const result = await c.call<{ pending: string[] }>('POST', '/v1/scale', { targets })
  out(`accepted: ${Object.entries(targets).map(([n, v]) => `${n}=${v}`).join(' ')}${result.pending.length === 0 ? '' : ` (${result.pending.join('; ')})`}`)
  if (options.wait === true) await waitConverged(c)
}

/** `outgrow apply -f outgrow.config.js`: the file's topology becomes the running stack's desired state. */
export async function apply (options: TargetOptions & { file: string, wait?: boolean }): Promise<void> {
  const loaded = await loadStackConfig(resolveConfigFile(options.file))
  const c = client({ dataDir: options.dataDir, config: options.config ?? options.file })
  const result = await c.call<{ pending: string[] }>('PUT', '/v1/spec', { spec: loaded.spec })
  out(result.pending.length === 0 ? 'accepted: nothing to change' : `accepted: ${result.pending.join('; ')}`)
  if (options.wait === true) await waitConverged(c)
}

async function waitConverged (c: ControlClient, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const s = await c.call<Status>('GET', '/v1/status')
    if (s.converged) { out('converged'); return }
  }
  throw new OutgrowError('OUTGROW_UPSTREAM_TIMEOUT', `the stack did not converge in ${timeoutMs / 1000} s: see outgrow status`)
}

export async function down (options: TargetOptions): Promise<void> {
  const c = client(options)
  await c.call('POST', '/v1/down')
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    try {
      process.kill(c.endpoint.pid, 0)
    } catch {
      out('stopped'); return
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new OutgrowError('OUTGROW_UPSTREAM_TIMEOUT', `the supervisor (pid ${c.endpoint.pid}) is still stopping`)
}

export function formatEvent (e: StackEvent): string {
  return `${e.time}  ${e.actor.padEnd(10)}  ${e.action.padEnd(15)}  ${(e.target ?? '').padEnd(18)}  ${e.result.padEnd(9)}  ${e.detail ?? ''}`.trimEnd()
}

export async function events (options: TargetOptions & { json?: boolean, follow?: boolean }): Promise<void> {
  const c = client(options)
  let since = 0
  for (;;) {
    const { events: list } = await c.call<{ events: StackEvent[] }>('GET', `/v1/events?since=${since}`)
    for (const e of list) out(options.json === true ? JSON.stringify(e) : formatEvent(e))
    since = list.at(-1)?.seq ?? since
    if (options.follow !== true) return
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

export async function logs (name: string | undefined, options: TargetOptions & { lines: number }): Promise<void> {
  const c = client(options)
  const names = name !== undefined ? [name] : (await c.call<Status>('GET', '/v1/status')).processes.map((p) => p.name)
  for (const n of names) {
    const text = await c.call<string>('GET', `/v1/logs/${encodeURIComponent(n)}?lines=${options.lines}`)
    if (name !== undefined) { out(text); continue }
    for (const line of text.split('\n').filter((l) => l !== '')) out(`${n.padEnd(20)} | ${line}`)
  }
}

/** `outgrow dashboard`: the running stack's dashboard URL, with the token that signs a browser in. */
export async function dashboard (options: TargetOptions): Promise<void> {
  const c = client(options)
  out(dashboardUrlOf(c.endpoint.url, c.endpoint.token))
}

/** `outgrow kill app-2`: SIGKILL a process as a crash would; the supervisor starts it again. */
export async function kill (name: string, options: TargetOptions): Promise<void> {
  const r = await client(options).call<{ name: string, pid: number }>('POST', `/v1/processes/${encodeURIComponent(name)}/kill`)
  out(`killed ${r.name} (pid ${r.pid}): the supervisor restarts it (outgrow status shows its restarts)`)
}

/** `outgrow restart [service...]`: rolling restart, one instance at a time per service. */
export async function restart (services: string[], options: TargetOptions & { wait?: boolean }): Promise<void> {
  const c = client(options)
  const result = await c.call<{ pending: string[] }>('POST', '/v1/rolling-restart', services.length === 0 ? {} : { services })
  out(`accepted: rolling restart of ${services.length === 0 ? 'every service' : services.join(', ')}${result.pending.length === 0 ? '' : ` (${result.pending.join('; ')})`}`)
  if (options.wait === true) await waitConverged(c)
}
