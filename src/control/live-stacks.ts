import { OutgrowError } from '../errors/index.js'

/**
 * The stacks this process has brought up and not yet stopped. A command that runs stacks of its
 * own (`outgrow bench`) stops them in order on SIGINT or SIGTERM before it exits. Without this the
 * signal ends the process at once: the kernel's parent-death signal still stops each child, but
 * all at the same moment and in no order, and the stack's temporary data directory and its
 * emulated servers' cgroups are left behind.
 */

export interface StoppableStack {
  down(actor?: string): Promise<void>
}

const live = new Set<StoppableStack>()
let stoppingOnSignal = false

/** Records a stack that is coming up; refused once a signal is stopping them all (the command is ending). */
export function stackIsUp (stack: StoppableStack): void {
  if (stoppingOnSignal) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'stopping on a signal: no new stack is started')
  live.add(stack)
}
export function stackIsDown (stack: StoppableStack): void { live.delete(stack) }
export function liveStackCount (): number { return live.size }
/** True once a signal is stopping the stacks: the command's own failures then are that stop's doing. */
export function isStoppingOnSignal (): boolean { return stoppingOnSignal }

const SIGNAL_NUMBERS: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 2, SIGTERM: 15 }

export interface StopOnSignalOptions {
  readonly log: (line: string) => void
  /** Give up waiting for the stacks to stop after this long, and exit anyway. */
  readonly timeoutMs?: number
  /** For tests: what ends the process (default process.exit). */
  readonly exit?: (code: number) => void
}

/**
 * On the first SIGINT or SIGTERM, stops every live stack (each in its own order, all at once) and
 * exits with 128 + the signal's number, as a shell reports a process a signal ended. A second
 * signal exits at once. Returns a function that removes the handlers.
 */
export function stopLiveStacksOnSignal (options: StopOnSignalOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let stopping = false
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = (): void => {
      const code = 128 + SIGNAL_NUMBERS[signal]
      if (stopping) {
        options.log(`${signal} again: exiting without waiting`)
        exit(code)
        return
      }
      stopping = true
      stoppingOnSignal = true
      options.log(`${signal}: stopping ${live.size} stack(s) before exiting (${signal} again exits at once)`)
      const force = setTimeout(() => {
        options.log('the stacks took too long to stop: exiting')
        exit(code)
      }, options.timeoutMs ?? 60_000)
      void Promise.allSettled([...live].map(async (stack) => { await stack.down('signal') })).then(() => {
        clearTimeout(force)
        exit(code)
      })
    }
    process.on(signal, handler)
    return [signal, handler] as const
  })
  return () => { for (const [signal, handler] of handlers) process.off(signal, handler) }
}
