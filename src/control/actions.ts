import type { DesiredUnit } from './units.js'

/**
 * What a plan asks an executor to do. Executors (local processes today) carry actions out and
 * nothing else; the decisions are all in plan.ts.
 */
export type Action =
  /** A unit the spec asks for runs nowhere yet. */
  | { readonly type: 'start', readonly unit: DesiredUnit, readonly reason: 'missing' }
  /** A unit died or failed to start: start it again (the reconciler paces retries). */
  | { readonly type: 'restart', readonly unit: DesiredUnit, readonly reason: 'crashed' | 'failed' }
  /** A running unit no longer matches the spec: stop it and start it anew, one per group at a time. */
  | { readonly type: 'replace', readonly unit: DesiredUnit, readonly reason: 'changed' }
  /** A running unit the spec no longer asks for; instances drain first. */
  | { readonly type: 'stop', readonly name: string, readonly drain: boolean, readonly reason: 'not-desired' }

export const ACTION_TYPES = ['start', 'restart', 'replace', 'stop'] as const satisfies ReadonlyArray<Action['type']>

/** One line for logs and the event log. */
export function describeAction (action: Action): string {
  switch (action.type) {
    case 'start': return `start ${action.unit.name} on ${action.unit.server}`
    case 'restart': return `restart ${action.unit.name} (${action.reason})`
    case 'replace': return `replace ${action.unit.name} (spec changed)`
    case 'stop': return `stop ${action.name}${action.drain ? ' (drain)' : ''}`
  }
}

export function actionTarget (action: Action): string {
  return action.type === 'stop' ? action.name : action.unit.name
}
