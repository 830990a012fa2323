import type { MetricType } from './policy.js'

/**
 * The replica calculator: how many replicas each metric asks for, and the largest of those, as
 * Kubernetes' replica_calculator.go computes it. Pure; no history.
 */

export interface MetricObservation {
  readonly name: string
  /** 'average' metrics: the mean over ready replicas; 'total' metrics: the service-wide value. */
  readonly value: number
  /** Per replica, for both types. */
  readonly target: number
  readonly type?: MetricType
}

export interface ProposeInput {
  readonly currentReplicas: number
  /** Replicas that reported the metrics; defaults to all of them. */
  readonly readyReplicas?: number
  readonly metrics: readonly MetricObservation[]
  readonly tolerance?: number
}

export type ProposalReason = 'AboveTarget' | 'BelowTarget' | 'WithinTolerance' | 'NoMetrics'

export interface Proposal {
  readonly replicas: number
  readonly reason: ProposalReason
  /** The metric whose proposal won (the first one on a tie), undefined when no metric had a value. */
  readonly metric: string | undefined
  /** That metric's usage ratio, value / target (for 'total' metrics, value / (target × current)). */
  readonly ratio: number | undefined
}

interface MetricProposal {
  readonly replicas: number
  readonly ratio: number
}

// Values such as 0.77 / 0.7 land a few ulps off the exact decimal ratio; upstream computes on
// integer milli-units, where 770 / 700 is exactly 1.1. This slack gives the same answers.
const EPSILON = 1e-9

export function withinTolerance (ratio: number, tolerance: number): boolean {
  return ratio >= 1 - tolerance - EPSILON && ratio <= 1 + tolerance + EPSILON
}

function ceilReplicas (x: number): number {
  return Math.ceil(x - EPSILON)
}

/**
 * A per-replica average (upstream calcPlainMetricReplicas). Unready replicas report nothing; on a
 * scale-up they count as using 0, so a replica still starting does not trigger more replicas, and
 * no proposal may reverse the direction the ready replicas alone point to. Simplification: every
 * ready replica reports, so upstream's "missing metrics" case (treated as 100 % of target on a
 * scale-down, 0 on a scale-up) does not arise here.
 */
function proposeForAverage (value: number, target: number, current: number, ready: number, tolerance: number): MetricProposal | undefined {
  if (ready <= 0) return undefined // upstream: "did not receive metrics for targeted pods"
  const ratio = value / target
  const unready = Math.max(0, current - ready)
  if (unready === 0 || ratio <= 1) {
    return { replicas: withinTolerance(ratio, tolerance) ? current : ceilReplicas(ratio * ready), ratio }
  }
  const diluted = ratio * ready / (ready + unready)
  if (withinTolerance(diluted, tolerance) || diluted < 1) return { replicas: current, ratio }
  const replicas = ceilReplicas(diluted * (ready + unready))
  return { replicas: Math.max(replicas, current), ratio }
}

/**
 * A service-wide total with a per-replica target, e.g. queue depth (upstream
 * GetExternalPerPodMetricReplicas): the ratio compares the total with target × current replicas,
 * and the answer is total / target, rounded up.
 */
function proposeForTotal (value: number, target: number, current: number, tolerance: number): MetricProposal {
  if (current === 0) return { replicas: ceilReplicas(value / target), ratio: value === 0 ? 1 : Infinity }
  const ratio = value / (target * current)
  return { replicas: withinTolerance(ratio, tolerance) ? current : ceilReplicas(value / target), ratio }
}

export function propose (input: ProposeInput): Proposal {
  const current = input.currentReplicas
  const ready = input.readyReplicas ?? current
  const tolerance = input.tolerance ?? 0.1
  let best: (MetricProposal & { metric: string }) | undefined
  for (const m of input.metrics) {
    if (!Number.isFinite(m.value) || m.value < 0 || !(m.target > 0)) continue // no usable sample: skip it, as upstream skips a failed metric
    const p = m.type === 'total'
      ? proposeForTotal(m.value, m.target, current, tolerance)
      : proposeForAverage(m.value, m.target, current, ready, tolerance)
    if (p !== undefined && (best === undefined || p.replicas > best.replicas)) best = { ...p, metric: m.name }
  }
  if (best === undefined) return { replicas: current, reason: 'NoMetrics', metric: undefined, ratio: undefined }
  const reason: ProposalReason = best.replicas > current ? 'AboveTarget' : best.replicas < current ? 'BelowTarget' : 'WithinTolerance'
  return { replicas: best.replicas, reason, metric: best.metric, ratio: best.ratio }
}
