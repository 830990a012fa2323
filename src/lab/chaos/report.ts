import type { ChaosReport } from './run.js'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** Failures of one kind as `503 ×4, net:ECONNREFUSED ×1`, most frequent first. */
function reasons (counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ×${n}`).join(', ')
}

/** The verdict as a short table for people; `--json` prints the report itself. */
export function formatChaosReport (report: ChaosReport): string {
  const v = report.verdict
  const f = report.fault
  const failedKinds = Object.entries(v.requests.byKind).filter(([, k]) => k.failed > 0)
  const rows: Array<[string, string]> = [
    ['fault', `${f.kind === 'kill' ? 'SIGKILL' : 'SIGSTOP'} ${f.target} (${f.pids.length} process${f.pids.length === 1 ? '' : 'es'}) at ${seconds(f.atMs)}${f.resumedAtMs === undefined ? '' : `, SIGCONT at ${seconds(f.resumedAtMs)}`}, run ${seconds(v.durationMs)}`],
    ['requests', `${v.requests.sent} sent, ${v.requests.failed} failed`],
    ...failedKinds.map(([kind, k]): [string, string] => [`  ${kind}`, `${k.failed} of ${k.sent} failed: ${reasons(k.reasons)}`]),
    ['orders', `${v.orders.started} started, ${v.orders.acknowledged} acknowledged, ${v.orders.refused} refused, ${v.orders.indeterminate} indeterminate, ${v.orders.abandoned} abandoned${report.skipped > 0 ? ` (${report.skipped} more not started: every client was busy)` : ''}`],
    ['writes back after', v.writesRecoveredAfterMs === null ? 'never within the run' : seconds(v.writesRecoveredAfterMs)],
    ['acknowledged lost', `${v.lost}${v.examples.lost.length > 0 ? ` (e.g. ${v.examples.lost.slice(0, 3).join(', ')})` : ''}`],
    ['duplicates', `${v.duplicates}${v.examples.duplicates.length > 0 ? ` (e.g. ${v.examples.duplicates.slice(0, 3).join(', ')})` : ''}`],
    ['two primaries', `${v.twoPrimaryInstants} of ${v.probeRounds} instants (none writable: ${v.noPrimaryInstants})`],
    ['reads failed', `${v.reads.failed} of ${v.reads.sent}`],
    ['checked on', `${report.checkedOn}; ${v.orders.unacknowledgedButPlaced} unacknowledged order(s) were placed`],
    ['verdict', v.safe ? 'SAFE: nothing acknowledged was lost or duplicated, never two primaries' : `UNSAFE: ${v.violations.join('; ')}`],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  return [`outgrow chaos ${v.scenario}`, ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)].join('\n')
}
