import type { DashboardSample } from '../sample.js'
import { naturalOrder } from './dom.js'

/** One line of a chart: its label, its scale (left `y` or right `y2`) and how to read it. */
export interface SeriesSpec { readonly label: string, readonly scale: 'y' | 'y2' }
export interface ChartSelection {
  /** Charts are built again only when this changes (series came or went). */
  readonly key: string
  readonly series: readonly SeriesSpec[]
  readonly point: (sample: DashboardSample) => Array<number | null>
}
export interface ChartDef {
  readonly id: string
  readonly title: string
  readonly y: string
  readonly y2?: string
  select(samples: readonly DashboardSample[]): ChartSelection
}

/** Per-instance lines drawn: the busiest ones, the rest summed as "others", so 32 instances stay readable. */
export const TOP_INSTANCES = 8
const TOP_REFRESH_MS = 5000
const MAX_NODES = 6

const keyOf = (series: readonly SeriesSpec[]): string => series.map((s) => `${s.scale}:${s.label}`).join('|')
const selection = (series: SeriesSpec[], point: (s: DashboardSample) => Array<number | null>): ChartSelection => ({ key: keyOf(series), series, point })
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

/** The busiest instances by their latest rate, chosen again at most every 5 s so lines do not flicker. */
function topInstances (): (samples: readonly DashboardSample[]) => string[] {
  let chosen: string[] = []
  let chosenAt = 0
  let known = ''
  return (samples) => {
    const latest = samples[samples.length - 1]
    if (latest === undefined) return []
    const names = latest.instances.map((i) => i.name).sort(naturalOrder).join(',')
    if (names === known && latest.t - chosenAt < TOP_REFRESH_MS) return chosen
    known = names
    chosenAt = latest.t
    chosen = [...latest.instances].sort((a, b) => b.requestsPerSecond - a.requestsPerSecond || naturalOrder(a.name, b.name))
      .slice(0, TOP_INSTANCES).map((i) => i.name).sort(naturalOrder)
    return chosen
  }
}

/** Names seen over the samples, in natural order, at most `max`. */
function namesOver<T extends { readonly name: string }> (samples: readonly DashboardSample[], list: (s: DashboardSample) => readonly T[], keep: (item: T) => boolean, max: number): string[] {
  const names = new Set<string>()
  for (const s of samples) for (const item of list(s)) if (keep(item)) names.add(item.name)
  return [...names].sort(naturalOrder).slice(0, max)
}

export function chartDefs (): ChartDef[] {
  const top = topInstances()
  return [
    {
      id: 'total',
      title: 'Requests/s and p99 (whole stack)',
      y: 'per second',
      y2: 'ms',
      select: () => selection(
        [{ label: 'requests/s', scale: 'y' }, { label: 'errors/s', scale: 'y' }, { label: 'p99 ms', scale: 'y2' }],
        (s) => [s.total.requestsPerSecond, s.total.errorsPerSecond, s.total.p99Ms],
      ),
    },
    {
      id: 'instances',
      title: `Requests/s per instance (top ${TOP_INSTANCES} + others)`,
      y: 'requests/s',
      select: (samples) => {
        const names = top(samples)
        const chosen = new Set(names)
        const hasOthers = samples.some((s) => s.instances.some((i) => !chosen.has(i.name)))
        const series: SeriesSpec[] = names.map((label) => ({ label, scale: 'y' }))
        if (hasOthers) series.push({ label: 'others', scale: 'y' })
        return selection(series, (s) => {
          const values: Array<number | null> = names.map((n) => s.instances.find((i) => i.name === n)?.requestsPerSecond ?? null)
          if (hasOthers) values.push(sum(s.instances.filter((i) => !chosen.has(i.name)).map((i) => i.requestsPerSecond)))
          return values
        })
      },
    },
    {
      id: 'database',
      title: 'Database queries/s per node',
      y: 'queries/s',
      select: (samples) => {
        const names = namesOver(samples, (s) => s.database, () => true, MAX_NODES)
        return selection(names.map((label) => ({ label, scale: 'y' })), (s) => names.map((n) => s.database.find((d) => d.name === n)?.queriesPerSecond ?? null))
      },
    },
    {
      id: 'lag',
      title: 'Replication lag',
      y: 'seconds',
      select: (samples) => {
        const names = namesOver(samples, (s) => s.database, (d) => d.role === 'replica', MAX_NODES)
        return selection(names.map((label) => ({ label, scale: 'y' })), (s) => names.map((n) => s.database.find((d) => d.name === n)?.lagSeconds ?? null))
      },
    },
    {
      id: 'cache',
      title: 'Cache hit ratio and Redis ops/s',
      y: 'hit %',
      y2: 'ops/s',
      select: () => selection(
        [{ label: 'hit %', scale: 'y' }, { label: 'Redis ops/s', scale: 'y2' }],
        (s) => [s.cache?.hitRatio === null || s.cache?.hitRatio === undefined ? null : s.cache.hitRatio * 100, s.cache?.redisOpsPerSecond ?? null],
      ),
    },
    {
      id: 'memory',
      title: 'Redis memory',
      y: 'MB',
      select: () => selection([{ label: 'used MB', scale: 'y' }], (s) => {
        const used = s.cache?.usedMemoryBytes
        return [used === null || used === undefined ? null : used / 1024 / 1024]
      }),
    },
    {
      id: 'jobs',
      title: 'Job queues: waiting and oldest waiting',
      y: 'jobs',
      y2: 'seconds',
      select: () => selection(
        [{ label: 'waiting', scale: 'y' }, { label: 'completed/s', scale: 'y' }, { label: 'oldest s', scale: 'y2' }],
        (s) => {
          if (s.jobs === null) return [null, null, null]
          const oldest = s.jobs.queues.map((q) => q.oldestWaitingSeconds).filter((v): v is number => v !== null)
          return [sum(s.jobs.queues.map((q) => q.waiting)), s.jobs.completedPerSecond, oldest.length === 0 ? null : Math.max(...oldest)]
        },
      ),
    },
  ]
}
