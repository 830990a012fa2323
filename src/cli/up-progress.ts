/** A line of `outgrow up`'s progress on stderr: the seconds since the command started, then what happened. */
export function upLogLine (line: string, elapsedMs: number): string {
  return `[${(elapsedMs / 1000).toFixed(1).padStart(6)} s] ${line}`
}
