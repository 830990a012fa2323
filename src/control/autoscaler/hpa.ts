import { NO_SCALE_EVENTS, recordRecommendation, recordScaleEvent, type ScaleEvents, type TimedRecommendation } from './history.js'
import { metricType, type AutoscalePolicy, type MetricKind } from './policy.js'
import { propose, type Proposal } from './proposal.js'
import { limitRate, type LimitReason } from './rate-limit.js'
import { stabilize, type StabilizationReason } from './stabilization.js'

/**
 * Kubernetes' horizontal pod autoscaler, one decision at a time: propose from the metrics,
 * stabilize against recent recommendations, limit by the rate policies and the bounds. The steps
 * are pure functions (proposal.ts, stabilization.ts, rate-limit.ts); this class only holds the two
 * histories they read. Time is always passed in.
 */

export { propose } from './proposal.js'
export { stabilize } from './stabilization.js'
export { limitRate, scaleDownLimit, scaleUpLimit } from './rate-limit.js'
export { autoscalePolicySchema, parseAutoscalePolicy, KUBERNETES_BEHAVIOR, OUTGROW_BEHAVIOR } from './policy.js'

export type MetricValues = Readonly<Partial<Record<MetricKind, number>>>

export type DecisionReason = LimitReason | StabilizationReason | 'ScalingDisabled' | 'NoMetrics'

export interface Decision {
  readonly desired: number
  /** The step that shaped the result: a limit if one applied, else a stabilization, else DesiredWithinRange. */
  readonly reason: DecisionReason
  /** The metric that drove the proposal ('predictive' when the forecast did); undefined without one. */
  readonly metric: string | undefined
  readonly ratio: number | undefined
  /** The raw proposal before stabilization and limits. */
  readonly proposed: number
}

export interface DecideOptions {
  /** Replicas that reported metrics; the rest count as starting up. Defaults to all. */
  readonly readyReplicas?: number
  /** In predictive mode, the forecast's replica count; the proposal is the larger of the two. */
  readonly predictedReplicas?: number
}

export interface AutoscalerState {
  readonly recommendations?: readonly TimedRecommendation[]
  readonly scaleEvents?: ScaleEvents
}

export class Autoscaler {
  private recommendations: readonly TimedRecommendation[] | undefined
  private scaleEvents: ScaleEvents

  /**
   * Without a recommendations history, the first decision seeds it with the current count, as
   * upstream does: a freshly started autoscaler does not scale down for one scale-down window.
   */
  constructor (readonly policy: AutoscalePolicy, state: AutoscalerState = {}) {
    this.recommendations = state.recommendations
    this.scaleEvents = state.scaleEvents ?? NO_SCALE_EVENTS
  }

  get state (): Required<AutoscalerState> {
    return { recommendations: this.recommendations ?? [], scaleEvents: this.scaleEvents }
  }

  decide (now: number, currentReplicas: number, metricValues: MetricValues, options: DecideOptions = {}): Decision {
    const { min, max, behavior } = this.policy
    this.recommendations ??= [{ at: now, replicas: currentReplicas }]
    // Zero replicas means someone switched the service off; that is not ours to undo.
    if (currentReplicas === 0) return { desired: 0, reason: 'ScalingDisabled', metric: undefined, ratio: undefined, proposed: 0 }
    if (currentReplicas > max) return this.applied(now, currentReplicas, { desired: max, reason: 'TooManyReplicas', metric: undefined, ratio: undefined, proposed: max })
    if (currentReplicas < min) return this.applied(now, currentReplicas, { desired: min, reason: 'TooFewReplicas', metric: undefined, ratio: undefined, proposed: min })

    const proposal = this.propose(currentReplicas, metricValues, options)
    if (proposal.reason === 'NoMetrics') return { desired: currentReplicas, reason: 'NoMetrics', metric: undefined, ratio: undefined, proposed: currentReplicas }

    const stabilized = stabilize(this.recommendations, now, behavior, currentReplicas, proposal.replicas)
    this.recommendations = recordRecommendation(this.recommendations, now, behavior, proposal.replicas)
    const limited = limitRate(this.scaleEvents, now, behavior, currentReplicas, stabilized.replicas, { min, max })
    const reason: DecisionReason = limited.reason !== 'DesiredWithinRange' || stabilized.reason === 'ReadyForNewScale' ? limited.reason : stabilized.reason
    return this.applied(now, currentReplicas, { desired: limited.replicas, reason, metric: proposal.metric, ratio: proposal.ratio, proposed: proposal.replicas })
  }

  private propose (currentReplicas: number, metricValues: MetricValues, options: DecideOptions): Proposal {
    const metrics = this.policy.metrics.flatMap((m) => {
      const value = metricValues[m.kind]
      return value === undefined ? [] : [{ name: m.kind, value, target: m.target, type: metricType(m.kind) }]
    })
    const reactive = propose({ currentReplicas, readyReplicas: options.readyReplicas, metrics, tolerance: this.policy.tolerance })
    const predicted = this.policy.mode === 'predictive' ? options.predictedReplicas : undefined
    if (predicted === undefined || (reactive.reason !== 'NoMetrics' && predicted <= reactive.replicas)) return reactive
    const reason = predicted > currentReplicas ? 'AboveTarget' : predicted < currentReplicas ? 'BelowTarget' : 'WithinTolerance'
    return { replicas: predicted, reason, metric: 'predictive', ratio: undefined }
  }

  /** The caller is expected to apply every decision; a change is recorded for the rate policies. */
  private applied (now: number, current: number, decision: Decision): Decision {
    if (decision.desired !== current) this.scaleEvents = recordScaleEvent(this.scaleEvents, now, this.policy.behavior, current, decision.desired)
    return decision
  }
}
