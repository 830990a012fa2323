import { CronExpressionParser } from 'cron-parser'
import { OutgrowError } from '../errors/index.js'
import type { RepeatableJob } from '../runtime/ports.js'

/** Refuses a schedule that names no job type, no interval or cron, or a bad one. */
export function checkSchedule (schedule: string, job: RepeatableJob, jobTypes: readonly string[]): void {
  const refuse = (message: string): never => { throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid config: repeat.${schedule}: ${message}`, { field: `repeat.${schedule}` }) }
  if (!jobTypes.includes(job.name)) refuse(`no job handler ${job.name} (have: ${jobTypes.join(', ') || 'none'})`)
  if ((job.everyMs === undefined) === (job.cron === undefined)) refuse('give everyMs or cron, one of them')
  if (job.everyMs !== undefined && (!Number.isSafeInteger(job.everyMs) || job.everyMs < 10)) refuse('everyMs must be an integer of at least 10')
  if (job.cron !== undefined) {
    try { CronExpressionParser.parse(job.cron, { tz: 'UTC' }) } catch (err) { refuse(`cron ${job.cron}: ${(err as Error).message}`) }
  }
}

/**
 * The first tick strictly after `after` (epoch ms). Intervals tick at whole multiples of everyMs,
 * cron patterns at their times in UTC: every process computes the same ticks.
 */
export function nextTick (job: RepeatableJob, after: number): number {
  if (job.everyMs !== undefined) return (Math.floor(after / job.everyMs) + 1) * job.everyMs
  return CronExpressionParser.parse(job.cron as string, { tz: 'UTC', currentDate: new Date(after) }).next().getTime()
}
