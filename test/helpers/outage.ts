import type { ManagedProcess } from '../../src/supervisor/managed-process.js'

interface Engine {
  readonly process: ManagedProcess
  start(): Promise<void>
}

/** `kill -9` of an engine: no shutdown, clients see their connections drop. */
export async function crash (engine: Engine): Promise<void> {
  engine.process.kill('SIGKILL')
  await engine.process.exited()
}

/**
 * Starts a crashed engine again on the same port and data. PostgreSQL refuses to start while
 * the killed postmaster's backends are still exiting, so a failed start is retried.
 */
export async function restart (engine: Engine, attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await engine.start()
      return
    } catch (err) {
      if (attempt >= attempts) throw err
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }
}

/** Calls probe until it returns a value or timeoutMs passes. */
export async function eventually<T> (probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** How long an operation took, with its result. */
export async function timed<T> (operation: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = Date.now()
  const value = await operation()
  return { value, ms: Date.now() - started }
}
