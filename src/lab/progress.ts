import type { OpenLoopProgress } from './open-loop.js'

/** A progress bar on stderr: redrawn in place on a terminal, a line every 5 s otherwise. */
export function progressPrinter (label: string, stream: NodeJS.WriteStream = process.stderr): (p: OpenLoopProgress) => void {
  let lastDraw = 0
  const width = 30
  return (p) => {
    const now = Date.now()
    const finished = p.elapsedMs >= p.durationMs
    if (now - lastDraw < (stream.isTTY ? 200 : 5000) && !finished) return
    lastDraw = now
    const fraction = Math.min(1, p.elapsedMs / p.durationMs)
    const filled = Math.round(fraction * width)
    const seconds = p.elapsedMs / 1000
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${seconds.toFixed(0)}/${(p.durationMs / 1000).toFixed(0)}s ` +
      `sent ${p.sent} done ${p.completed} (${(p.completed / Math.max(seconds, 0.001)).toFixed(0)}/s) errors ${p.errors}`
    if (stream.isTTY) stream.write(`\r${line}${finished ? '\n' : ''}`)
    else stream.write(`${line}\n`)
  }
}
