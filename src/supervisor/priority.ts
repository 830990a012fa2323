import { getPriority, setPriority } from 'node:os'

/**
 * The lab's load generator runs in the supervisor's process, on the same cores as the servers it
 * loads. A generator on its own machine would not wait for their CPU: raising its priority keeps a
 * busy stack from delaying its sends (which would measure the generator, not the stack). Every
 * process the supervisor starts is put back at the priority it had before (`childNiceArgs`), so the
 * servers compete with each other as before.
 */
let basePriority: number | undefined

/**
 * Raises this process's main thread (where the generator's event loop runs) by `steps` nice
 * levels. Returns the nice value now in force, or undefined when not allowed (not root, no
 * CAP_SYS_NICE): then the generator runs at the servers' priority, as before.
 */
export function raiseOwnPriority (steps = 10): number | undefined {
  const current = getPriority()
  basePriority ??= current
  try {
    setPriority(Math.max(-20, basePriority - steps))
    return getPriority()
  } catch {
    return undefined
  }
}

/** Back to the priority this process had before it was raised. */
export function restoreOwnPriority (): void {
  if (basePriority === undefined) return
  try { setPriority(basePriority) } catch { /* lowering one's own priority is always allowed */ }
}

/**
 * The command prefix that starts a child at the priority this process had before it was raised
 * (children inherit the raised one), or [] when it was not raised.
 */
export function childNiceArgs (): string[] {
  if (basePriority === undefined) return []
  const increment = basePriority - getPriority()
  return increment > 0 ? ['nice', '-n', String(increment)] : []
}
