import type { AutoscaleRecord } from '../control/autoscaler/controller.js'
import type { EventLog } from '../control/event-log.js'
import type { Stack } from '../control/stack.js'
import { redisFor, type TopologySpec } from '../control/spec.js'
import type { CollectorHost } from './collector.js'

/** What the dashboard's routes read from the stack beyond the collector's sources. */
export interface DashboardHost extends CollectorHost {
  readonly spec: TopologySpec
  readonly events: EventLog
  autoscaleHistory(): readonly AutoscaleRecord[]
}

/** The running stack as the dashboard sees it. */
export function stackDashboardHost (stack: Stack): DashboardHost {
  return {
    get spec () { return stack.spec },
    get events () { return stack.events },
    info: () => stack.info(),
    serverCpu: (server) => stack.serverCpu(server),
    autoscaleHistory: () => stack.autoscaleHistory(),
    cacheRedis: () => redisFor(stack.spec, 'cache'),
    // Only a stack with a queue server (level 4) has queues the supervisor can read itself.
    jobStats: () => redisFor(stack.spec, 'queue') === undefined || Object.keys(stack.spec.workers).length === 0 ? undefined : stack.jobs.stats(),
  }
}
