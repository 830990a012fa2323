import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Network, type HostProcess } from './network.js'

/**
 * One gray-failure scenario on four hosts (client, gateway, instances a and b): closed-loop GETs
 * from the client through the gateway; at `faultAtMs` instance b fails in one way for `faultMs`,
 * then heals. The same scenario drives the multi-host tests and the benchmark.
 */
export type Fault = 'partition' | 'detach' | 'isolate' | 'freeze' | 'slow' | 'flap'

export interface ScenarioOptions {
  readonly fault: Fault
  readonly proxy?: 'outgrow' | 'nginx'
  readonly workers?: number
  readonly faultAtMs?: number
  readonly faultMs?: number
  readonly afterMs?: number
  /** The client gives up on one request after this. */
  readonly giveUpMs?: number
  /** Instance latency in normal times. */
  readonly delayMs?: number
}

export interface ScenarioResult {
  readonly requests: number
  readonly failed: number
  /** Failed requests by status (0: the client gave up or the connection failed). */
  readonly failedByStatus: Record<string, number>
  readonly maxLatencyMs: number
  readonly p99LatencyMs: number
  /** Longest time with no request completing. */
  readonly longestStallMs: number
  /** From the heal to b's first answer; undefined if it never answered again. */
  readonly backInRotationMs: number | undefined
  /** b's share of the answers to requests sent from faultAt + 5 s until the heal. */
  readonly faultyShareAfter5s: number
}

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..', '..')
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function startOutgrow (net: Network, dir: string, a: string, b: string): Promise<HostProcess> {
  const config = join(dir, 'gateway.json')
  await writeFile(config, JSON.stringify({
    host: '0.0.0.0',
    port: 8080,
    upstreams: { instances: [{ id: 'a', url: `http://${a}:8000` }, { id: 'b', url: `http://${b}:8000` }], healthCheck: { intervalMs: 1000, fall: 2, rise: 2 } },
  }))
  const gw = net.run('gateway', join(root, 'bin', 'outgrow.js'), ['gateway', '--config', config])
  await gw.waitFor((line) => line.includes('"ready"'), 20_000)
  return gw
}

async function startNginx (net: Network, dir: string, a: string, b: string): Promise<HostProcess> {
  const config = join(dir, 'nginx.conf')
  await writeFile(config, `
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream app {
    server ${a}:8000 max_fails=2 fail_timeout=2s;
    server ${b}:8000 max_fails=2 fail_timeout=2s;
    keepalive 64;
  }
  server {
    listen 8080;
    location = /__outgrow/readyz { return 200 'ok'; }
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 250ms;
      proxy_read_timeout 250ms;
      proxy_send_timeout 250ms;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
    }
  }
}
`)
  const gw = net.exec('gateway', ['nginx', '-c', config, '-g', 'daemon off;'])
  await sleep(500)
  return gw
}

async function applyFault (net: Network, fault: Fault, b: HostProcess, faultMs: number): Promise<void> {
  switch (fault) {
    case 'partition': net.linkDown('b'); await sleep(faultMs); net.linkUp('b'); return
    case 'detach': net.detach('b'); await sleep(faultMs); net.attach('b'); return
    case 'isolate':
      net.isolate('b'); net.isolate('gateway')
      await sleep(faultMs)
      net.isolate('b', false); net.isolate('gateway', false)
      return
    case 'freeze': Network.freeze(b); await sleep(faultMs); Network.thaw(b); return
    case 'slow': b.child.kill('SIGUSR2'); await sleep(faultMs); b.child.kill('SIGUSR2'); return
    case 'flap':
      for (let t = 0; t < faultMs; t += 1000) {
        net.linkDown('b'); await sleep(500); net.linkUp('b'); await sleep(500)
      }
  }
}

function analyse (results: Array<[number, number, number, string]>, faultAtMs: number, healAtMs: number): ScenarioResult {
  const latencies = results.map((r) => r[1]).sort((x, y) => x - y)
  const ends = results.map((r) => r[0] + r[1]).sort((x, y) => x - y)
  let longestStallMs = 0
  for (let i = 1; i < ends.length; i++) longestStallMs = Math.max(longestStallMs, (ends[i] as number) - (ends[i - 1] as number))
  const backAt = results.filter((r) => r[3] === 'b' && r[0] >= healAtMs).map((r) => r[0] + r[1]).sort((x, y) => x - y)[0]
  const window = results.filter((r) => r[0] >= faultAtMs + 5000 && r[0] < healAtMs && r[2] === 200)
  const failedByStatus: Record<string, number> = {}
  for (const r of results) if (r[2] !== 200) failedByStatus[r[2]] = (failedByStatus[r[2]] ?? 0) + 1
  return {
    requests: results.length,
    failed: results.filter((r) => r[2] !== 200).length,
    failedByStatus,
    maxLatencyMs: latencies[latencies.length - 1] ?? 0,
    p99LatencyMs: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    longestStallMs,
    backInRotationMs: backAt === undefined ? undefined : Math.max(0, backAt - healAtMs),
    faultyShareAfter5s: window.length === 0 ? 0 : window.filter((r) => r[3] === 'b').length / window.length,
  }
}

export async function runScenario (options: ScenarioOptions): Promise<ScenarioResult> {
  const { fault, proxy = 'outgrow', workers = 16, faultAtMs = 3000, faultMs = 10_000, afterMs = 6000, giveUpMs = 5000, delayMs = 2 } = options
  const net = Network.create(['client', 'gateway', 'a', 'b'])
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-hosts-'))
  try {
    const a = net.host('a').ip
    const b = net.host('b').ip
    const backend = join(here, 'backend.js')
    const backends = [net.run('a', backend, ['a', '8000', String(delayMs)]), net.run('b', backend, ['b', '8000', String(delayMs)])]
    await Promise.all(backends.map(async (p) => await p.waitFor((line) => line.includes('listening'), 10_000)))
    await (proxy === 'nginx' ? startNginx(net, dir, a, b) : startOutgrow(net, dir, a, b))
    const duration = faultAtMs + faultMs + afterMs
    const load = net.run('client', join(here, 'load.js'), [`http://${net.host('gateway').ip}:8080`, String(workers), String(duration), String(giveUpMs)])
    const started = JSON.parse(await load.waitFor((line) => line.includes('"started"'), 30_000)) as { started: number }
    await sleep(started.started + faultAtMs - Date.now())
    const faultAt = Date.now() - started.started
    await applyFault(net, fault, backends[1] as HostProcess, faultMs)
    const healAt = Date.now() - started.started
    const line = await load.waitFor((l) => l.startsWith('{"results"'), duration + 30_000)
    return analyse((JSON.parse(line) as { results: Array<[number, number, number, string]> }).results, faultAt, healAt)
  } finally {
    await net.destroy()
    await rm(dir, { recursive: true, force: true })
  }
}
