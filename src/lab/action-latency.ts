import type { MeasuredStep } from './capacity-step.js'
import type { LatencySummary } from './open-loop.js'

/** One action's latency over a step's measured window, against the objective. */
export interface ActionLatency {
  /** The user mix's action (`checkout`, `product`, …). */
  readonly action: string
  readonly count: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** This action's own p99 is over the objective's: its requests are among those that broke it. */
  readonly overSlo: boolean
}

/** Each action's p50 and p99, slowest p99 first (ties by name, so reports are stable). */
export function actionLatencies (byAction: Readonly<Record<string, LatencySummary>>, sloP99Ms: number): ActionLatency[] {
  return Object.entries(byAction)
    .filter(([, summary]) => summary.count > 0)
    .map(([action, summary]) => ({ action, count: summary.count, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, overSlo: summary.p99Ms > sloP99Ms }))
    .sort((a, b) => b.p99Ms - a.p99Ms || a.action.localeCompare(b.action))
}

/** The actions over the objective, in words (`checkout p99 240 ms, history p99 130 ms`); '' when none is. */
export function sloBreakers (actions: readonly ActionLatency[] | undefined): string {
  return (actions ?? []).filter((a) => a.overSlo).map((a) => `${a.action} p99 ${Math.round(a.p99Ms)} ms`).join(', ')
}

/**
 * The run's first failing step, the one just above the capacity: the lowest failing full step
 * (the bisection's), or the lowest failing step of any kind when no full step failed.
 */
export function firstFailingStep (steps: readonly MeasuredStep[]): MeasuredStep | undefined {
  const failed = steps.filter((s) => !s.pass)
  const lowest = (list: readonly MeasuredStep[]): MeasuredStep | undefined => list.reduce<MeasuredStep | undefined>((low, s) => low === undefined || s.rate < low.rate ? s : low, undefined)
  return lowest(failed.filter((s) => s.kind === 'full')) ?? lowest(failed)
}

/** A Markdown table of a step's latency by action, with a line naming the actions that broke the objective. */
export function actionTable (title: string, step: MeasuredStep | undefined, sloP99Ms: number): string {
  if (step?.actions === undefined || step.actions.length === 0) return ''
  const breakers = sloBreakers(step.actions)
  const verdict = breakers === ''
    ? `No single action's p99 is over the ${sloP99Ms} ms objective.`
    : `**Over the ${sloP99Ms} ms objective: ${breakers}.**`
  const rows = step.actions.map((a) => `| ${a.action} | ${a.count} | ${a.p50Ms.toFixed(1)} | ${a.p99Ms.toFixed(1)} | ${a.overSlo ? 'over' : ''} |`)
  return `\n${title} (${step.rate} req/s offered, p99 ${step.p99Ms} ms): ${verdict}\n\n| Action | Requests | p50 ms | p99 ms | SLO |\n|---|---:|---:|---:|---|\n${rows.join('\n')}\n`
}
