import { Pool } from 'undici'

/**
 * Closed-loop load from a test host: `node load.js <url> <workers> <durationMs> <giveUpMs>`. Waits
 * until the gateway is ready, prints {"started": epochMs}, then each worker sends GETs one after
 * another for durationMs, giving up on one after giveUpMs. At the end it prints one line:
 * {"results": [[startMs since started, latencyMs, status (0: gave up or failed), instance], …]}.
 */
const [url = 'http://127.0.0.1:8080', workersArg = '16', durationArg = '20000', giveUpArg = '5000'] = process.argv.slice(2)
const pool = new Pool(url, { connections: Number(workersArg), headersTimeout: 0, bodyTimeout: 0 })

async function ready (): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    try {
      const res = await pool.request({ path: '/__outgrow/readyz', method: 'GET', signal: AbortSignal.timeout(1000) })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch { /* not yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('gateway not ready')
}

type Result = [number, number, number, string]

async function worker (started: number, until: number, giveUpMs: number, results: Result[]): Promise<void> {
  while (Date.now() < until) {
    const t0 = performance.now()
    const at = Date.now() - started
    try {
      const res = await pool.request({ path: '/item', method: 'GET', signal: AbortSignal.timeout(giveUpMs) })
      await res.body.dump()
      results.push([at, performance.now() - t0, res.statusCode, String(res.headers['x-outgrow-instance'] ?? '')])
    } catch {
      results.push([at, performance.now() - t0, 0, ''])
    }
  }
}

await ready()
const started = Date.now()
process.stdout.write(`${JSON.stringify({ started })}\n`)
const results: Result[] = []
const until = started + Number(durationArg)
await Promise.all(Array.from({ length: Number(workersArg) }, async () => { await worker(started, until, Number(giveUpArg), results) }))
process.stdout.write(`${JSON.stringify({ results: results.map(([a, l, s, i]) => [a, Math.round(l * 10) / 10, s, i]) })}\n`)
await pool.close()
