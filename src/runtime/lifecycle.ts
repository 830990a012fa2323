/**
 * Process lifecycle shared by every Outgrow process: a clean stop on SIGTERM/SIGINT, and an exit
 * when the supervisor disappears (its IPC channel closes), so no process outlives its stack even
 * when the supervisor is killed with SIGKILL.
 */
export function onShutdown (stop: (reason: string) => Promise<void>, options: { graceMs?: number } = {}): void {
  const graceMs = options.graceMs ?? 10_000
  let stopping = false
  const begin = (reason: string, exitCode: number): void => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => { process.exit(exitCode === 0 ? 1 : exitCode) }, graceMs)
    force.unref()
    stop(reason).then(() => { process.exit(exitCode) }, (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { begin('SIGTERM', 0) })
  process.once('SIGINT', () => { begin('SIGINT', 0) })
  if (process.channel !== undefined) {
    process.once('disconnect', () => { begin('supervisor gone', 0) })
    // The IPC channel must not keep the process alive on its own.
    process.channel.unref()
  }
}

/** Tells the supervisor (when there is one) that this process is ready to serve. */
export function reportReady (info: Record<string, unknown>): void {
  if (process.send !== undefined) process.send({ type: 'ready', ...info })
}
