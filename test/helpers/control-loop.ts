import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventLog } from '../../src/control/event-log.js'
import { LocalExecutor, type LocalExecutorOptions } from '../../src/control/executors/local.js'
import { Reconciler } from '../../src/control/reconciler.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { createEmulation } from '../../src/supervisor/emulation.js'

export interface ControlLoop {
  readonly dir: string
  readonly executor: LocalExecutor
  readonly reconciler: Reconciler
  readonly events: EventLog
  /** Stops the loop and every process, and removes the data dir. */
  stop(): Promise<void>
}

/**
 * A real local executor and reconciler over spec, in a fresh data dir, without the rest of the
 * stack (no control API, no autoscaler); resolves once everything runs.
 */
export async function startControlLoop (spec: TopologySpec, options: Pick<LocalExecutorOptions, 'pickPort'> & Partial<Pick<LocalExecutorOptions, 'bootstrap'>> = {}): Promise<ControlLoop> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  // Traversable by PostgreSQL's OS user.
  await chmod(dir, 0o755)
  const executor = new LocalExecutor({ dataDir: dir, emulation: createEmulation('none', 'test', 1), spec: () => spec, durable: false, bootstrap: async () => {}, ...options })
  const events = new EventLog(join(dir, 'events.jsonl'))
  const reconciler = new Reconciler({ executor, events, spec, resyncMs: 200 })
  const stop = async (): Promise<void> => {
    reconciler.stop()
    await executor.stopAll()
    await rm(dir, { recursive: true, force: true })
  }
  reconciler.kick()
  try {
    await reconciler.waitConverged(60_000, 3)
  } catch (err) {
    await stop()
    throw err
  }
  return { dir, executor, reconciler, events, stop }
}
