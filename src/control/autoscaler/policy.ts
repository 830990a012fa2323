import { z } from 'zod'
import { parseOrThrow } from '../../config/validate.js'

/**
 * A service's autoscale policy, validated once with every default filled in, so the algorithm never
 * meets an undefined. Without `behavior` a policy gets Outgrow's (`OUTGROW_BEHAVIOR`);
 * `behavior: 'kubernetes'` gives autoscaling/v2's exactly; an object overrides Outgrow's field by field.
 */

export const METRIC_KINDS = ['cpu', 'elu', 'inflight', 'p99', 'queue-depth'] as const
export type MetricKind = typeof METRIC_KINDS[number]

/**
 * How a metric's value relates to replicas. 'average': a per-replica average (Kubernetes Pods or
 * Resource metrics). 'total': one value for the whole service, target per replica (Kubernetes
 * External metric with an AverageValue target), like a queue's depth.
 */
export type MetricType = 'average' | 'total'

export function metricType (kind: MetricKind): MetricType {
  return kind === 'queue-depth' ? 'total' : 'average'
}

const scalingPolicySchema = z.object({
  type: z.enum(['Pods', 'Percent']),
  value: z.number().int().positive(),
  periodSeconds: z.number().int().positive().max(1800),
}).strict()

export type ScalingPolicy = z.infer<typeof scalingPolicySchema>
export type SelectPolicy = 'Max' | 'Min' | 'Disabled'

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number
  readonly selectPolicy: SelectPolicy
  readonly policies: readonly ScalingPolicy[]
}

export interface Behavior {
  readonly scaleUp: ScalingRules
  readonly scaleDown: ScalingRules
}

/** autoscaling/v2 scaleUp default: no stabilization; double or add 4 every 15 s, whichever is more. */
export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }],
}

/** autoscaling/v2 scaleDown default: the highest recommendation of the last 5 minutes; then no rate limit to speak of. */
export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
}

/** Kubernetes autoscaling/v2's defaults, as `behavior: 'kubernetes'`. */
export const KUBERNETES_BEHAVIOR: Behavior = { scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN }

/**
 * Outgrow's default: Kubernetes' scale-up, and a 20 s scale-down window instead of 300 s. An
 * instance here is a process that starts in seconds, not a pod scheduled on a node that may have
 * to be provisioned, so releasing capacity 20 s after the load fell costs little in churn and
 * saves minutes of idle instances; 20 s is still ten sync periods of 2 s, so one noisy reading
 * does not remove an instance (docs/autoscaling.md, docs/benchmarks/autoscaling.md).
 */
export const OUTGROW_BEHAVIOR: Behavior = {
  scaleUp: DEFAULT_SCALE_UP,
  scaleDown: { ...DEFAULT_SCALE_DOWN, stabilizationWindowSeconds: 20 },
}

export const BEHAVIOR_PRESETS = { outgrow: OUTGROW_BEHAVIOR, kubernetes: KUBERNETES_BEHAVIOR } as const
export type BehaviorPreset = keyof typeof BEHAVIOR_PRESETS

/** Like Kubernetes, each field left out of a direction's rules takes that direction's default (Outgrow's). */
function scalingRulesSchema (defaults: ScalingRules) {
  return z.object({
    stabilizationWindowSeconds: z.number().int().min(0).max(3600).default(defaults.stabilizationWindowSeconds),
    selectPolicy: z.enum(['Max', 'Min', 'Disabled']).default(defaults.selectPolicy),
    policies: z.array(scalingPolicySchema).min(1).default(defaults.policies.map((p) => ({ ...p }))),
  }).strict()
}

const metricSchema = z.object({
  kind: z.enum(METRIC_KINDS),
  /** cpu and elu: a fraction of one replica's capacity (0.7); inflight and queue-depth: a count per replica; p99: seconds. */
  target: z.number().positive(),
}).strict()

export const autoscalePolicySchema = z.object({
  min: z.number().int().min(1),
  max: z.number().int().min(1),
  metrics: z.array(metricSchema).min(1),
  behavior: z.union([
    z.enum(['outgrow', 'kubernetes']),
    z.object({
      scaleUp: scalingRulesSchema(OUTGROW_BEHAVIOR.scaleUp).default({}),
      scaleDown: scalingRulesSchema(OUTGROW_BEHAVIOR.scaleDown).default({}),
    }).strict(),
  ]).default('outgrow').transform((b): Behavior => typeof b === 'string' ? BEHAVIOR_PRESETS[b] : b),
  tolerance: z.number().min(0).max(1).default(0.1),
  mode: z.enum(['reactive', 'predictive']).default('reactive'),
}).strict().superRefine((policy, ctx) => {
  if (policy.min > policy.max) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['min'], message: `min (${policy.min}) is greater than max (${policy.max})` })
  }
})

export type AutoscalePolicy = z.output<typeof autoscalePolicySchema>
export type AutoscalePolicyInput = z.input<typeof autoscalePolicySchema>
export type MetricSpec = AutoscalePolicy['metrics'][number]

/** Validates a policy; on failure throws OUTGROW_CONFIG_INVALID naming the first bad field. */
export function parseAutoscalePolicy (input: unknown): AutoscalePolicy {
  return parseOrThrow(autoscalePolicySchema, input, 'autoscale policy')
}
