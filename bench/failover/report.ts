/**
 * The failover report: per scenario and system, median / min / max of the client-observed time
 * until writes succeed again, with the safety counts beside it, and every trial in full.
 */
import type { MachineDescription } from '../../src/lab/machine.js'
import type { Scenario, TrialResult } from './trial.js'

export interface FailoverRun {
  readonly startedAt: string
  readonly finishedAt: string
  readonly command: string
  readonly machine: MachineDescription
  readonly versions: Readonly<Record<string, string>>
  readonly etcd: string
  readonly settings: Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>
  readonly trialsPlanned: number
  readonly scenarios: readonly Scenario[]
  readonly trials: readonly TrialResult[]
  /** Set when the run stopped before every planned trial ran. */
  readonly incomplete?: string
}

const LABEL: Record<string, string> = { outgrow: 'Outgrow', patroni: 'Patroni' }

function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2)
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

interface Summary { trials: number, resumed: number[], leader: number[], lost: number, acked: number, overlap: number, readFailures: number, reads: number, slowestRead: number, rejoin: number[], errors: number }

function summarize (trials: readonly TrialResult[]): Summary {
  const defined = (values: ReadonlyArray<number | null>): number[] => values.filter((v): v is number => v !== null)
  return {
    trials: trials.length,
    resumed: defined(trials.map((t) => t.timeToWritesMs)),
    leader: defined(trials.map((t) => t.newLeaderAfterMs)),
    lost: sum(trials.map((t) => t.lost)),
    acked: sum(trials.map((t) => t.acknowledged)),
    overlap: sum(trials.map((t) => t.twoPrimaryInstants)),
    readFailures: sum(trials.map((t) => t.readFailures)),
    reads: sum(trials.map((t) => t.reads)),
    slowestRead: Math.max(0, ...trials.map((t) => t.slowestReadMs ?? 0)),
    rejoin: defined(trials.map((t) => t.rejoinMs)),
    errors: trials.filter((t) => t.error !== undefined).length,
  }
}

const spread = (values: readonly number[]): string => values.length === 0 ? '–' : `**${seconds(median(values))}** (${seconds(Math.min(...values))}–${seconds(Math.max(...values))})`

function targetVerdict (scenario: string, s: Summary): string {
  const checks = [
    s.resumed.length === s.trials && median(s.resumed) <= 5000 ? 'writes within 5 s: met' : 'writes within 5 s: **not met**',
    s.lost === 0 ? 'no lost write: met' : '**acknowledged writes lost**',
    s.overlap === 0 ? 'no two-primary instant: met' : '**two-primary instants seen**',
    s.readFailures === 0 ? 'reads never failed: met' : `reads never failed: **not met** (${s.readFailures} failed)`,
  ]
  return `${scenario}: ${checks.join('; ')}`
}

/** What the numbers do and do not show, true of any run of this benchmark. */
const READING = [
  '## Reading',
  '',
  '- **The gap is mostly the lease.** Both systems follow the same design: the primary holds a leader key on an etcd lease, and a lost primary is replaced only once its key expires. Patroni refuses a `ttl` under 20 s, so a lost node means about 20 s (the key was last renewed up to `loop_wait` before the fault) plus a replica\'s next loop and the promotion. Outgrow\'s lease is 3 s, which its fence keeper makes safe: the primary stops taking writes before its lease can expire, even with its agent frozen or dead. The ratio measures what that shorter lease buys, not that Patroni\'s code is slower at any given step.',
  '- **A lease runs from its last renewal, not from the fault**: on a busy machine a renewal can come late, and the key then expires sooner after the fault than its TTL.',
  '- **The time is what a client sees**, its own part included: a write stuck on the frozen primary waits out the 1 s query timeout, and a connection attempt to a dead or frozen node the 500 ms connect timeout, before the client tries the next node.',
  '- **Freeze and the watchdog.** Patroni defends a frozen primary with a watchdog device that resets the machine; there is none here (`watchdog: off`), as on most VMs without the softdog module. Outgrow\'s fence keeper, a process beside its agent, plays that role and is not frozen in this scenario (only PostgreSQL and the agent are): it kills the frozen PostgreSQL when the writable deadline passes. In a freeze of the whole machine, both systems would depend on the node noticing on resume, before it serves a write, that its lease has gone.',
  '- **Zero is a sample, not a proof.** Lost writes are counted over the writes this client had acknowledged; two-primary instants are sampled every 100 ms, so an overlap shorter than a round can fall between two probes. The probe, the writer and every node share one machine, over loopback, without network partitions.',
  '- **Synchronous mode differs in form**: Outgrow runs `ANY 1 (the two replicas)` (a commit waits for either), Patroni 3.0 names one synchronous standby. Both promote only a standby that had every acknowledged commit.',
  '- **One machine, shared**: the systems ran one after the other, not interleaved, so drift in the machine\'s load between them is not controlled for; PostgreSQL ran with `fsync = off` on both.',
]

/** Trials where the old leader held the key again at the end: what the logs of such a run showed. */
function keyTakenBack (trials: readonly TrialResult[]): string[] {
  const back = trials.filter((t) => t.finalLeader === t.oldLeader && t.newLeader !== null && t.newLeader !== t.oldLeader)
  if (back.length === 0) return []
  const which = back.map((t) => `${LABEL[t.system] ?? t.system} ${t.scenario} #${t.trial}`).join(', ')
  return [
    `- **The old leader took the key back** in ${back.length} trial(s) (${which}; "old → new → old" below): after SIGCONT the frozen leader wrote the leader key again over the new leader's, both accepted writes until the new one demoted, and what the new leader had acknowledged in between was rewound away. For Patroni this is its etcd3 DCS in version 3.0.2 (the one Debian 12 ships): finding its lease expired, \`_update_leader\` grants a new lease and puts the leader key without comparing it with the current holder, while its watch-fed cache, frozen with it, still names it leader. Upstream made that write conditional in patroni/patroni#2689 (May 2023, after 3.0.2); a current Patroni should not show this, and its time to writes would be unchanged.`,
  ]
}

export function failoverMarkdown (run: FailoverRun): string {
  const systems = [...new Set(run.trials.map((t) => t.system))]
  const m = run.machine
  const lines: string[] = [
    '# Failover: Outgrow against Patroni, same run',
    '',
    `Produced by \`${run.command}\` from ${run.startedAt} to ${run.finishedAt}.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ${Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Everything runs on this one machine over loopback: ${run.etcd}, three PostgreSQL nodes per system, their HA processes, and the client.`,
    '',
  ]
  if (run.incomplete !== undefined) lines.push(`**Incomplete run:** ${run.incomplete}`, '')
  lines.push(
    '## Settings',
    '',
    ...systems.flatMap((s) => [`${LABEL[s] ?? s}: ${Object.entries(run.settings[s] ?? {}).map(([k, v]) => `\`${k}\` ${String(v)}`).join(', ')}.`, '']),
    'PostgreSQL on both: the same parameters (`wal_log_hints`, `synchronous_commit = on`, `fsync = off` as in the project\'s tests, a replication slot per replica, `wal_retrieve_retry_interval = 500ms`).',
    '',
    '## Client',
    '',
    'The same for both, knowing only the three PostgreSQL addresses: a writer sends one INSERT every 20 ms to the writable primary (libpq\'s `target_session_attrs=read-write`: try the nodes in turn, 500 ms connect timeout, 1 s client-side query timeout), logging every acknowledged id; a reader runs one query every 50 ms on a replica (`target_session_attrs=standby`); a probe asks every node every 100 ms on a fresh connection whether it accepts writes (not in recovery, not read-only). Each trial starts from a healthy cluster (leader writable, both others streaming, one synchronous), runs the load for 2 s, injects the fault on the leader\'s node, and ends once the cluster is whole again (a writable leader with both others streaming from it, plus 2 s); the acknowledged ids are then counted on the final primary.',
    '',
    '- **kill-primary**: `kill -9` of the primary\'s PostgreSQL (the postmaster and every process it forked) and of its HA process (Outgrow agent / Patroni) at once: node loss. Once writes resume, the HA process is started again, as a service manager would.',
    '- **freeze-primary**: `SIGSTOP` of both, held until another member holds the leader key plus 3 s (at most 60 s after the fault), then `SIGCONT`.',
    '',
    '## Results',
    '',
    `Time until writes succeed again: from the fault to the acknowledgement of the first write sent after it, in seconds, **median** (min–max) of ${run.trialsPlanned} trials. "New leader key": from the fault until another member held the key (etcd polled every 50 ms). "Two-primary instants": probe rounds in which two nodes accepted writes. "Slowest read": the longest successful read, connecting included. "Whole again": from the restart (kill) or SIGCONT (freeze) until a writable leader had both others streaming from it. "Failed writes" (per trial): the writer's attempts that got no acknowledgement, finding no writable node included.`,
    '',
    '| Scenario | System | Trials | Writes again after, s | New leader key after, s | Lost acknowledged writes (of all) | Two-primary instants | Failed reads (of all) | Slowest read, s | Whole again after the heal, s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  const ratios: string[] = []
  const targets: string[] = []
  for (const scenario of run.scenarios) {
    const medians = new Map<string, number>()
    for (const system of systems) {
      const trials = run.trials.filter((t) => t.scenario === scenario && t.system === system)
      if (trials.length === 0) continue
      const s = summarize(trials)
      if (s.resumed.length > 0) medians.set(system, median(s.resumed))
      const errors = s.errors > 0 ? ` (${s.errors} with an error)` : ''
      lines.push(`| ${scenario} | ${LABEL[system] ?? system} | ${s.trials}${errors} | ${spread(s.resumed)} | ${spread(s.leader)} | ${s.lost} (of ${s.acked}) | ${s.overlap} | ${s.readFailures} (of ${s.reads}) | ${seconds(s.slowestRead)} | ${spread(s.rejoin)} |`)
      if (system === 'outgrow') targets.push(targetVerdict(scenario, s))
    }
    const o = medians.get('outgrow')
    const p = medians.get('patroni')
    if (o !== undefined && p !== undefined) ratios.push(`${scenario}: Patroni / Outgrow = **${(p / o).toFixed(1)}×** (median ${seconds(p)} s against ${seconds(o)} s)`)
  }
  lines.push('', 'Ratio of the median times until writes succeed again:', '', ...ratios.map((r) => `- ${r}`), '')
  if (targets.length > 0) {
    lines.push('Outgrow against the targets of its HA work (writes again within 5 s at the median, no acknowledged write lost, no instant with two writable primaries, no failed read):', '', ...targets.map((t) => `- ${t}`), '')
  }
  lines.push(...READING, ...keyTakenBack(run.trials), '')
  lines.push(
    '## Every trial',
    '',
    '| Scenario | System | # | Old → new leader (→ at the end) | Writes again, ms | Leader key, ms | Acked | Lost | Failed writes | Two-primary instants (of rounds) | Failed reads | Whole again, ms | Error |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...run.trials.map((t) => `| ${t.scenario} | ${LABEL[t.system] ?? t.system} | ${t.trial} | ${t.oldLeader} → ${t.newLeader ?? '–'}${t.finalLeader !== undefined && t.finalLeader !== t.newLeader ? ` → ${t.finalLeader ?? '–'}` : ''} | ${t.timeToWritesMs ?? '–'} | ${t.newLeaderAfterMs ?? '–'} | ${t.acknowledged} | ${t.lost} | ${t.writeFailures} | ${t.twoPrimaryInstants} (${t.probeRounds}) | ${t.readFailures} | ${t.rejoinMs ?? '–'} | ${t.error ?? ''} |`),
    '',
  )
  return lines.join('\n')
}
