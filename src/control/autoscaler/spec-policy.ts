import { firstZodIssue } from '../../config/validate.js'
import { OutgrowError } from '../../errors/index.js'
import type { InstancesSpec } from '../spec.js'
import { autoscalePolicySchema, type AutoscalePolicy } from './policy.js'

/**
 * A group's autoscale policy from the spec: its `autoscale` part with min and max taken from the
 * group's `instances`, so the range is written once. Refusals name the spec field.
 */
export function policyFor (field: string, instances: InstancesSpec, autoscale: Record<string, unknown>): AutoscalePolicy {
  if (instances.min === undefined || instances.max === undefined) {
    const missing = instances.min === undefined ? 'min' : 'max'
    throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${field}.instances.${missing}: an autoscaled group needs instances.min and instances.max`, { field: `${field}.instances.${missing}` })
  }
  const result = autoscalePolicySchema.safeParse({ ...autoscale, min: instances.min, max: instances.max })
  if (result.success) return result.data
  const { field: path, message } = firstZodIssue(result.error, '')
  const at = path === 'min' || path === 'max' ? `${field}.instances.${path}` : `${field}.autoscale${path === '' ? '' : `.${path}`}`
  throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${at}: ${message}`, { field: at })
}
