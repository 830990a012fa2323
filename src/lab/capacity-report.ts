import type { CapacityReport, CapacityRun, TargetCapacity } from './capacity-levels.js'
import type { UpstreamStep } from './gateway-upstreams.js'
import type { KneeDiagnosis } from './knee.js'
import type { MeasuredStep } from './capacity-step.js'
import { actionTable, firstFailingStep } from './action-latency.js'
import { describeServers } from './report.js'
import { incidentsLine } from './run-incidents.js'
import { activeUsers, playbookRange } from './seed-users.js'
import { unevenBalanceLine } from './upstream-balance.js'

const ratio = (a: number, b: number | undefined): string => b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`
const range = (t: TargetCapacity): string => `${t.capacity.median} (${t.capacity.min}–${t.capacity.max})`
const spreadPercent = (t: TargetCapacity): string => t.capacity.median === 0 ? '—' : `±${(((t.capacity.max - t.capacity.min) / 2 / t.capacity.median) * 100).toFixed(1)} %`
const limitedBy = (k: KneeDiagnosis | undefined): string => k === undefined ? '—' : k.verdict
const boundRange = (t: TargetCapacity): string => t.cpuBound === undefined ? '—' : `${t.cpuBound.median} (${t.cpuBound.min}–${t.cpuBound.max})`
const boundSpread = (t: TargetCapacity): string => t.cpuBound === undefined || t.cpuBound.median === 0 ? '—' : `±${(((t.cpuBound.max - t.cpuBound.min) / 2 / t.cpuBound.median) * 100).toFixed(1)} %`
const kneeShare = (t: TargetCapacity): string => t.cpuBound === undefined || t.cpuBound.median === 0 ? '—' : `${Math.round(t.capacity.median / t.cpuBound.median * 100)} %`

/** The server whose CPU sets the last run's bound: where adding instances stops paying shows here first. */
const boundLimit = (t: TargetCapacity): string => t.runs.at(-1)?.cpuBound?.limitedBy ?? '—'

function boundLine (run: CapacityRun): string {
  const b = run.cpuBound
  if (b === undefined) return ''
  const top = b.servers[0]
  const demand = top === undefined ? '' : `: ${top.cpuMsPerRequest.toFixed(2)} ms CPU per request, of ${top.quotaCores} core${top.quotaCores === 1 ? '' : 's'}`
  return `; CPU bound ${b.rate} req/s (${b.limitedBy}${demand}; at the top ${b.steps} passing step${b.steps === 1 ? '' : 's'})`
}

function stepsLine (run: CapacityRun): string {
  return run.steps.map((s) => `${s.rate}${s.kind === 'ramp' ? 'r' : ''} ${s.pass ? '✓' : `✗ (${s.reason})`}`).join(', ')
}

function levelsTable (report: CapacityReport): string {
  const first = report.levels[0]
  const rows = report.levels.map((t, i) => {
    const previous = report.levels[i - 1]
    return `| ${t.label} | ${describeServers(t.topology)} | ${range(t)} | ${spreadPercent(t)} | ${ratio(t.capacity.median, first?.capacity.median)} | ${ratio(t.capacity.median, previous?.capacity.median)} | ${boundRange(t)} | ${boundSpread(t)} | ${t.cpuBound === undefined ? '—' : ratio(t.cpuBound.median, first?.cpuBound?.median)} | ${kneeShare(t)} | ${activeUsers(t.capacity.median, report.settings.thinkSeconds).toLocaleString('en-US')} | ${playbookRange(t.level)} | ${limitedBy(t.knee)} |`
  })
  return ['| Level | Servers | Capacity req/s, median (min–max) | Spread | vs L1 | vs level before | CPU bound req/s, median (min–max) | Spread | Bound vs L1 | Capacity / bound | Active users | Playbook (seed 003) | Limited by (at the knee) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|', ...rows].join('\n')
}

function repeatTable (report: CapacityReport): string {
  const previous = report.previous
  if (previous === undefined) return ''
  const rows = [...report.levels, ...report.scaleOut].flatMap((t) => {
    const before = previous.capacities[t.label]
    if (before === undefined) return []
    const change = (now: number, then: number | undefined): string => then === undefined || then === 0 ? '—' : `${(((now - then) / then) * 100).toFixed(1)} %`
    const bound = t.cpuBound?.median
    const boundBefore = previous.cpuBounds?.[t.label]
    return [`| ${t.label} | ${t.capacity.median} | ${before} | ${change(t.capacity.median, before)} | ${bound ?? '—'} | ${boundBefore ?? '—'} | ${bound === undefined ? '—' : change(bound, boundBefore)} |`]
  })
  return `## Does it repeat?

The same command run earlier (${previous.createdAt}) against this run:

| Target | This run, req/s | Earlier run, req/s | Change | CPU bound, this run | Earlier | Change |
|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`
}

function scaleOutSection (report: CapacityReport): string {
  if (report.scaleOut.length === 0) return ''
  const one = report.scaleOut.find((t) => t.instances === 1) ?? report.scaleOut[0]
  const base = one === undefined ? 0 : one.capacity.median / Math.max(1, one.instances)
  const rows = report.scaleOut.map((t) => `| ${t.instances} | ${range(t)} | ${base === 0 ? '—' : (t.capacity.median / (t.instances * base)).toFixed(2)} | ${boundRange(t)} | ${boundLimit(t)} | ${limitedBy(t.knee)} |`)
  // Where adding instances stops paying: the first count whose capacity grew by less than 10 % over the one before.
  let stops = ''
  for (let i = 1; i < report.scaleOut.length; i++) {
    const a = report.scaleOut[i - 1] as TargetCapacity
    const b = report.scaleOut[i] as TargetCapacity
    if (b.capacity.median < a.capacity.median * 1.1) {
      stops = `Capacity stops growing between ${a.instances} and ${b.instances} instances (${a.capacity.median} → ${b.capacity.median} req/s). At ${b.instances}: ${b.knee?.verdict ?? 'no knee diagnosis'}${b.knee === undefined ? '' : `; ${b.knee.advice}`}`
      break
    }
  }
  return `## Scale-out at level 4

Level 4 with N app instances, each on its own emulated server; efficiency = capacity(N) / (N × capacity(1)).

| App instances | Capacity req/s, median (min–max) | Efficiency | CPU bound req/s, median (min–max) | Bound set by (last run) | Limited by (at the knee) |
|---:|---:|---:|---:|---|---|
${rows.join('\n')}

${stops === '' ? 'Capacity grew with every step of instances measured.' : stops}
`
}

/** The gateway's view of each instance over the knee step: who got the load, who was taken out and how. */
export function upstreamTable (upstreams: readonly UpstreamStep[] | undefined): string {
  if (upstreams === undefined || upstreams.length === 0) return ''
  const yesNo = (b: boolean): string => b ? '**yes**' : 'no'
  const rows = upstreams.map((u) => {
    const failures = Object.entries(u.failures).map(([kind, n]) => `${kind} ${n}`).join(', ')
    return `| ${u.upstream} | ${(u.share * 100).toFixed(1)} % | ${u.responses} | ${failures === '' ? '—' : failures} | ${u.ejections} (${u.ejectionsTotal}) | ${yesNo(u.outOfRotation)} | ${yesNo(u.breakerOpen)} |`
  })
  const uneven = unevenBalanceLine(upstreams)
  return `\nThe gateway's view of each app instance over the step (its metrics at the start, every second and at the end; out of rotation: failing its health checks or ejected, at any sample):

| Instance | Share of responses | Responses | Failed attempts | Ejections in the step (since start) | Out of rotation | Breaker open |
|---|---:|---:|---|---:|---|---|
${rows.join('\n')}
${uneven === undefined ? '' : `\n**Uneven balancing:** ${uneven}.\n`}`
}

function kneeSection (t: TargetCapacity, sloP99Ms: number): string {
  const k = t.knee
  if (k === undefined) return ''
  const servers = k.servers.map((s) => `| ${s.server} | ${s.roles.join(', ')} | ${s.quotaCores} | ${(s.utilization * 100).toFixed(0)} % | ${s.throttledShare === undefined ? '—' : `${(s.throttledShare * 100).toFixed(0)} %`} |`)
  const profile = k.profile === undefined
    ? ''
    : `\nCPU profile of ${k.profile.process} (${(k.profile.summary.sampledMs / 1000).toFixed(1)} s sampled; ${k.profile.file}), top functions by self time:\n\n| Function | Where | Self ms | Share |\n|---|---|---:|---:|\n${k.profile.summary.functions.slice(0, 8).map((f) => `| \`${f.name}\` | ${f.location} | ${f.selfMs.toFixed(0)} | ${(f.selfShare * 100).toFixed(1)} % |`).join('\n')}\n`
  const statements = k.statements === undefined || k.statements.length === 0
    ? ''
    : `\nPostgreSQL primary, top statements (pg_stat_statements) during the knee step:\n\n| Statement | Calls | Total ms | Mean ms | Share |\n|---|---:|---:|---:|---:|\n${k.statements.slice(0, 6).map((s) => `| \`${s.query.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 110)}\` | ${s.calls} | ${s.totalMs.toFixed(0)} | ${s.meanMs.toFixed(3)} | ${(s.share * 100).toFixed(1)} % |`).join('\n')}\n`
  return `### ${t.label} at the knee (${k.rate} req/s offered: p99 ${k.step.p99Ms} ms, ${k.step.achievedRate} req/s answered)

**${k.verdict}** — ${k.advice}

Queries: primary ${k.counters.primaryQueriesPerSecond}/s, replicas ${k.counters.replicaQueriesPerSecond}/s; cache hit ratio ${k.counters.cacheHitRatio ?? '— (no cache)'}.${kneeCpuWaitLine(k.step.cpuWaitShare)}

| Server | Runs | Quota (cores) | CPU used of quota | Periods throttled |
|---|---|---:|---:|---:|
${servers.join('\n')}
${upstreamTable(k.step.upstreams)}${actionTable('Latency by action at the knee', k.step, sloP99Ms)}${actionTable('The first step that failed in this run', firstFailingStep(t.runs.at(-1)?.steps ?? []), sloP99Ms)}${profile}${statements}`
}

/** The knee step's queueing for the machine's cores, which the per-server table cannot show. */
function kneeCpuWaitLine (share: number | undefined): string {
  if (share === undefined) return ''
  return ` Over the step some process of the machine waited for a core ${(share * 100).toFixed(0)} % of the time (CPU pressure, /proc/pressure/cpu).`
}

/** Median and max of a per-step share over the measured full steps; undefined when no step has it. */
function fullStepShares (targets: readonly TargetCapacity[], share: (step: MeasuredStep) => number | undefined): { median: number, max: number } | undefined {
  const sorted = targets.flatMap((t) => t.runs.flatMap((r) => r.steps)).filter((st) => st.kind === 'full').map(share)
    .filter((x): x is number => x !== undefined).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  return { median: sorted[Math.floor(sorted.length / 2)] as number, max: sorted[sorted.length - 1] as number }
}

/** Over the measured full steps: the median and max share of time some process waited for a core. */
function cpuWaitLine (targets: readonly TargetCapacity[]): string {
  const waits = fullStepShares(targets, (st) => st.cpuWaitShare)
  if (waits === undefined) return ''
  const pct = (x: number): string => `${(x * 100).toFixed(0)} %`
  return `\n**CPU waits** (time in which some process of the machine was runnable but waiting for a core, from /proc/pressure/cpu, over each full step): median ${pct(waits.median)}, max ${pct(waits.max)}.`
}

/** How much CPU the hypervisor gave to other guests during the measured full steps (steal in /proc/stat). */
function stealLine (targets: readonly TargetCapacity[]): string {
  const steal = fullStepShares(targets, (st) => st.stealShare)
  if (steal === undefined) return ''
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`
  return `\n**Steal** (CPU time the hypervisor gave to other guests, over each full step): median ${pct(steal.median)}, max ${pct(steal.max)} of the machine.`
}

/** The machine's cost of a wake-up across processes, which the CPU calibration does not see (loopback-calibration.ts). */
function loopbackLine (report: CapacityReport): string {
  const l = report.loopback
  if (l === undefined) return ''
  return `\n**Loopback round trip:** ${l.roundTripUs} µs (${l.workload}; median of ${l.rounds} rounds of ${l.roundTripsPerRound.toLocaleString('en-US')}). Each call of a request to its database, cache or a peer costs at least one.`
}

export function renderCapacityMarkdown (report: CapacityReport): string {
  const { machine, settings, calibration } = report
  const s = settings.steps
  const targets = [...report.levels, ...report.scaleOut]
  const perCalibration = report.levels.map((t) => `${t.label} ${t.perCalibration.median} (${t.perCalibration.min}–${t.perCalibration.max})`).join(', ')
  const drift = [...report.levels, ...report.scaleOut].flatMap((t) => t.runs.map((r) => r.calibration)).filter((c) => c > 0)
  return `# Outgrow capacity per level

Measured ${report.createdAt} by \`${report.command}\`.

**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.
**CPU calibration:** ${calibration.opsPerSecond.toLocaleString('en-US')} ops/s on one core (${calibration.workload}; best of ${calibration.rounds} rounds)${drift.length === 0 ? '' : `; measured again before each run: ${Math.min(...drift).toLocaleString('en-US')}–${Math.max(...drift).toLocaleString('en-US')} ops/s`}.${loopbackLine(report)}
The load generator runs on the same machine, unconstrained, and competes with the stack for the same cores.${stealLine(targets)}${cpuWaitLine(targets)}

**Server emulation:** ${targets[0]?.emulation ?? 'n/a'}. Level 4 ${settings.ha ? 'with failover (etcd, two PostgreSQL HA nodes in synchronous mode, Redis with Sentinel)' : 'without failover (--no-ha)'}.

**Capacity** is the highest offered rate a level sustains with p99 ≤ ${s.slo.p99Ms} ms (latency from each request's intended
send time: no coordinated omission) and failures (5xx, network errors, time-outs) under ${(s.slo.errorRatio * 100).toFixed(1)} %, over
a sustained window of ${s.fullSeconds} s${(s.minRequests ?? 0) > 0 ? ` (longer at low rates, to measure at least ${s.minRequests} requests, up to ${s.maxFullSeconds} s)` : ''} after ${s.settleSeconds} s at the same rate. Searched with a ramp (×${settings.search.growth} per ${s.rampSeconds} s step
from ${settings.search.startRate} req/s), the ramp's best confirmed on a full step, then a bisection to ${(settings.search.precision * 100).toFixed(0)} % (a top that only a short ramp step failed is tried on a full step too); open model throughout.${settings.search.retryWithin === undefined || settings.search.retryWithin === 0 ? '' : `
A step that fails narrowly (p99 within ${settings.search.retryWithin}× the objective, no failures) is run once more and fails only if it fails again.`}
Each level is searched ${settings.repeats} times, each time on a fresh stack${settings.inRounds === true && settings.repeats > 1 ? ', in rounds (every level once, then every level again, so that a drift of the machine\'s speed reaches every level alike)' : ''} (later runs start from a bracket around the first run's capacity);
the table gives the median and the range.

**Load:** ${settings.users} logged-in users, shop mix (browse 25 %, product 35 %, search 10 %, add to cart 15 %, cart 5 %, checkout 5 %, history 5 %),
Zipf(1.0) product popularity over ${settings.products} products, up to ${s.connections} connections, ${settings.warmupSeconds} s warm-up on each fresh stack${(settings.warmCacheShare ?? 0) > 0 ? `, after the product pages that take ${Math.round((settings.warmCacheShare ?? 0) * 100)} % of product views were requested once (the cache of a shop that has been running)` : ', with a cold cache'}.

${levelsTable(report)}

**Active users** = capacity × ${settings.thinkSeconds} s: a person who sends one request every ${settings.thinkSeconds} s (reading in between) adds
${(1 / settings.thinkSeconds).toFixed(2)} req/s. The playbook's ranges (seed 003) are for comparison; they assume whole servers, not ${settings.cpusPerServer} core each.
Ratios are what should hold across machines; absolute figures scale with the machine's speed, which drifts on a shared
machine even within a run, so each run's capacity is also given per 1 000 calibration ops/s measured just before it — median (min–max): ${perCalibration} req/s.

**CPU bound** (the utilization law, U = X · D): at the three highest rates that held the objective, each server's CPU
per request served (its CPU at rest included); the bound is the rate at which the first server — or the machine's
${machine.cores} cores, the load generator included — would use its whole quota. It rests on averages over thousands of
requests, not on a tail, so it moves less from run to run than the capacity; capacity / bound is what queueing and
the tail cost at the objective.

${repeatTable(report)}
${scaleOutSection(report)}
## At the knee

Each target's last run ends with one more full step just past its capacity, where the bottleneck is at its limit:
each emulated server's CPU use against its quota (cgroup accounting), a CPU profile of the busiest Node process
(V8's sampling profiler through the inspector), the primary's top statements and, behind a gateway, the gateway's view of
each app instance (share of responses, failed attempts, ejections, out of rotation, breaker).

${targets.map((t) => kneeSection(t, report.settings.steps.slo.p99Ms)).filter((x) => x !== '').join('\n')}
## Search steps

Each step: offered req/s (\`r\`: a short ramp step), ✓ held or ✗ why not.

${targets.map((t) => t.runs.map((r, i) => `- ${t.label} run ${i + 1} (calibration ${r.calibration} ops/s) → ${r.capacity}${boundLine(r)}: ${stepsLine(r)}${incidentsLine(r.incidents)}`).join('\n')).join('\n')}
`
}
