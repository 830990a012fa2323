import type { MeasuredStep } from './capacity-step.js'
import type { OpenLoopProgress } from './open-loop.js'

/** Where progress goes: stderr, or anything that writes and says whether it is a terminal. */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined
  write(text: string): unknown
}

const BAR_WIDTH = 24
// Over at least a second: the first draw would otherwise divide the first request by a millisecond.
const rate = (count: number, seconds: number): string => (count / Math.max(seconds, 1)).toFixed(0)

/**
 * The live line of a run: elapsed, offered and achieved rate, p99 of the last seconds, errors.
 * On a terminal a bar leads it (the line is redrawn in place).
 */
export function formatProgressLine (label: string, p: OpenLoopProgress, tty: boolean): string {
  const seconds = p.elapsedMs / 1000
  const fraction = Math.min(1, p.elapsedMs / p.durationMs)
  const filled = Math.round(fraction * BAR_WIDTH)
  const bar = tty ? ` [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]` : ''
  const p99 = p.recent === undefined ? '' : `  p99 ${p.recent.p99Ms().toFixed(1)} ms (last seconds)`
  return `${label}${bar} ${seconds.toFixed(0)}/${(p.durationMs / 1000).toFixed(0)}s  offered ${rate(p.sent, seconds)}/s  achieved ${rate(p.answered ?? p.completed, seconds)}/s${p99}  errors ${p.errors}`
}

/** A progress line on stderr: redrawn in place on a terminal (5 times a second), a line every 5 s otherwise. */
export function progressPrinter (label: string, stream: ProgressStream = process.stderr, now: () => number = Date.now): (p: OpenLoopProgress) => void {
  let lastDraw = -Infinity
  let done = false
  const tty = stream.isTTY === true
  return (p) => {
    const finished = p.elapsedMs >= p.durationMs
    if (done || (now() - lastDraw < (tty ? 200 : 5000) && !finished)) return
    lastDraw = now()
    done = finished
    const line = formatProgressLine(label, p, tty)
    // \x1b[K clears what a longer earlier line left on the right.
    if (tty) stream.write(`\r${line}\x1b[K${finished ? '\n' : ''}`)
    else stream.write(`${line}\n`)
  }
}

/** One line per step of a capacity search: the rate, what it measured, and the verdict. */
export function formatStepLine (label: string, step: MeasuredStep): string {
  const errors = `errors ${(step.errorRatio * 100).toFixed(2)} %`
  return `${label}: ${step.rate} req/s (${step.kind}) → p99 ${step.p99Ms} ms, ${errors}, achieved ${step.achievedRate} req/s: ${step.pass ? 'pass' : `FAIL (${step.reason})`}`
}
