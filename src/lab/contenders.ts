import type { MetricKind } from '../control/autoscaler/policy.js'

/**
 * The three fleets an autoscaling scenario compares on the same trace: Outgrow's autoscaler with
 * Outgrow's defaults, the same algorithm with Kubernetes HPA's defaults, and a fixed fleet of the
 * largest size the others may reach.
 */

export const CONTENDER_NAMES = ['outgrow', 'hpa-default', 'fixed-max'] as const
export type ContenderName = typeof CONTENDER_NAMES[number]

export interface ScalingMetric {
  readonly kind: Exclude<MetricKind, 'queue-depth'>
  readonly target: number
}

export interface Contender {
  readonly name: ContenderName
  readonly description: string
  /** How often the autoscaler evaluates (ms). */
  readonly syncMs: number
  /** `services.app` of the topology: its instance range and autoscale policy. */
  readonly app: { instances: { count: number, min: number, max: number }, autoscale: Record<string, unknown> }
}

/** Outgrow's sync period: the autoscale controller's default. */
export const OUTGROW_SYNC_MS = 2000
/** Kubernetes' --horizontal-pod-autoscaler-sync-period default. */
export const KUBERNETES_SYNC_MS = 15_000

export function contender (name: ContenderName, metric: ScalingMetric, min: number, max: number): Contender {
  const metrics = [{ kind: metric.kind, target: metric.target }]
  switch (name) {
    case 'outgrow': return {
      name,
      description: `Outgrow's defaults: ${OUTGROW_SYNC_MS / 1000} s sync, no behavior in the spec (scale-up as Kubernetes, scale-down window 20 s)`,
      syncMs: OUTGROW_SYNC_MS,
      app: { instances: { count: min, min, max }, autoscale: { metrics } },
    }
    case 'hpa-default': return {
      name,
      description: `Kubernetes HPA's defaults: ${KUBERNETES_SYNC_MS / 1000} s sync, behavior 'kubernetes' (scale-down window 300 s)`,
      syncMs: KUBERNETES_SYNC_MS,
      app: { instances: { count: min, min, max }, autoscale: { metrics, behavior: 'kubernetes' } },
    }
    // min = max pins the count; the autoscaler still runs, so its readings calibrate capacity.
    case 'fixed-max': return {
      name,
      description: `${max} instances throughout (the autoscaler only reads the metric)`,
      syncMs: OUTGROW_SYNC_MS,
      app: { instances: { count: max, min: max, max }, autoscale: { metrics } },
    }
  }
}
