/**
 * Runs the C fixed-rate generator (bench/fixed-rate/, built by scripts/setup.sh into
 * dist/bench/fixed-rate): several open-model streams in one event loop, latency from each
 * request's intended send time, in microseconds.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const FIXED_RATE_BINARY = fileURLToPath(new URL('./fixed-rate', import.meta.url))

export interface StreamSpec {
  readonly url: string
  readonly rate: number
  readonly connections: number
}

export interface MicrosecondSummary {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

export interface StreamResult {
  readonly url: string
  readonly rate: number
  readonly connections: number
  readonly sent: number
  readonly completed: number
  /** Answered with a 2xx or 3xx. */
  readonly ok: number
  readonly non2xx: number
  /** Connection failures, time-outs and malformed responses. */
  readonly errors: number
  readonly timeouts: number
  /** Requests that never went out because 2^20 were already waiting for a connection. */
  readonly overflow: number
  readonly latencyUs: MicrosecondSummary
  /** How late the generator itself sent: large values mean the generator was starved, not the server slow. */
  readonly sendLagUs: MicrosecondSummary
}

export interface FixedRateOptions {
  readonly streams: readonly StreamSpec[]
  readonly durationSeconds: number
  /** Sent at the same rate before recording starts. */
  readonly warmupSeconds: number
  readonly timeoutSeconds?: number
}

export async function runFixedRate (options: FixedRateOptions): Promise<StreamResult[]> {
  if (!existsSync(FIXED_RATE_BINARY)) throw new Error(`${FIXED_RATE_BINARY} is missing: bash scripts/setup.sh builds it (it needs a C compiler)`)
  const args = ['--duration', String(options.durationSeconds), '--warmup', String(options.warmupSeconds), '--timeout', String(options.timeoutSeconds ?? 10)]
  for (const s of options.streams) args.push('--stream', s.url, String(s.rate), String(s.connections))
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(FIXED_RATE_BINARY, args, { encoding: 'utf8', maxBuffer: 1 << 20 }, (err, out, stderr) => {
      if (err !== null) reject(new Error(`fixed-rate failed: ${stderr.trim() || err.message}`))
      else resolve(out)
    })
  })
  return (JSON.parse(stdout) as { streams: StreamResult[] }).streams
}
