/**
 * Gateway benchmark: one run, same machine, same backend. Maximum throughput (wrk, keep-alive)
 * direct to the backend, through Outgrow's gateway, through nginx (keep-alive upstream, same
 * number of worker processes) and through @fastify/http-proxy; then the p99 of each at a constant
 * rate of half of nginx's maximum (Outgrow's open-model generator). Writes docs/benchmarks/gateway.md.
 *
 *   npm run build && node dist/bench/gateway.js [--processes 1] [--duration 10] [--out docs/benchmarks/gateway.md]
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { runOpenLoop } from '../src/lab/open-loop.js'
import { describeMachine } from '../src/lab/machine.js'
import { freePort } from '../src/supervisor/free-port.js'

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '1' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    out: { type: 'string', default: 'docs/benchmarks/gateway.md' },
    // The open-model generator is one Node process on the same cores: above a few thousand req/s
    // it, not the proxy, sets the latency. The fixed rate is half of nginx's maximum, capped here.
    'max-rate': { type: 'string', default: '5000' },
  },
})
const processes = Number(values.processes)
const duration = Number(values.duration)
const connections = Number(values.connections)
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))
const children: ChildProcess[] = []

async function waitHttp (url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(url)
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not answer`)
}

function wrk (url: string): { rps: number, p99Ms: number } {
  const out = execFileSync('wrk', ['-t', '1', '-c', String(connections), '-d', `${duration}s`, '--latency', url], { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out)
  const p99Ms = p99 === null ? NaN : Number(p99[1]) * ({ us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'])
  return { rps: Math.round(rps), p99Ms }
}

function requireTools (): void {
  for (const tool of ['nginx', 'wrk']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    } catch {
      throw new Error(`${tool} is needed for this benchmark: apt-get install nginx-light wrk (or your platform's packages)`)
    }
  }
}

async function main (): Promise<void> {
  requireTools()
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-gw-bench-'))
  const backendPort = await freePort()
  const backendUrl = `http://127.0.0.1:${backendPort}`
  children.push(fork(here('./backend-server.js'), [String(backendPort)], { stdio: 'ignore' }))
  await waitHttp(`${backendUrl}/`)

  const outgrowPort = await freePort()
  const gwConfig = join(dir, 'gateway.json')
  await writeFile(gwConfig, JSON.stringify({ port: outgrowPort, processes, upstreams: { instances: [{ id: 'backend', url: backendUrl }], healthCheck: { path: '/readyz' } } }))
  children.push(spawn(process.execPath, [here('../../bin/outgrow.js'), 'gateway', '--config', gwConfig], { stdio: 'ignore' }))

  const nginxPort = await freePort()
  const nginxConf = join(dir, 'nginx.conf')
  await writeFile(nginxConf, `worker_processes ${processes};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; }
  }
}
`)
  children.push(spawn('nginx', ['-c', nginxConf, '-g', 'daemon off;'], { stdio: 'ignore' }))

  const fastifyProxyPort = await freePort()
  children.push(fork(here('./fastify-proxy-server.js'), [String(fastifyProxyPort), backendUrl, String(processes)], { stdio: 'ignore' }))

  const targets = [
    { name: 'direct (Fastify backend)', url: `${backendUrl}/` },
    { name: `Outgrow gateway (${processes} process)`, url: `http://127.0.0.1:${outgrowPort}/` },
    { name: `nginx (${processes} worker, keep-alive upstream)`, url: `http://127.0.0.1:${nginxPort}/` },
    { name: `@fastify/http-proxy (${processes} process)`, url: `http://127.0.0.1:${fastifyProxyPort}/` },
  ]
  for (const t of targets) await waitHttp(t.url)

  const max: Record<string, { rps: number, p99Ms: number }> = {}
  for (const t of targets) {
    wrk(t.url.replace(/\/$/, '/warm')) // warm-up: JIT, connection pools
    max[t.name] = wrk(t.url)
    process.stderr.write(`max ${t.name}: ${max[t.name]?.rps} req/s\n`)
  }
  const nginxMax = max[targets[2]?.name as string]?.rps ?? 0
  const rate = Math.min(Number(values['max-rate']), Math.max(100, Math.round(nginxMax / 2)))
  const fixed: Record<string, { p50: number, p99: number, lag: number, errors: number }> = {}
  const user = { email: '', cookie: '', cartItems: 0 }
  for (const t of targets) {
    const result = await runOpenLoop({
      url: t.url.replace(/\/$/, ''), rate, durationMs: duration * 1000, connections: 256, timeoutMs: 10_000,
      next: () => ({ action: 'product', method: 'GET', path: '/', user }),
    })
    fixed[t.name] = { p50: result.latency.p50Ms, p99: result.latency.p99Ms, lag: result.sendLag.p99Ms, errors: result.completed - result.ok }
    process.stderr.write(`rate ${rate} ${t.name}: p99 ${result.latency.p99Ms} ms\n`)
  }

  const m = describeMachine()
  const outgrow = max[targets[1]?.name as string]?.rps ?? 0
  const fastifyProxy = max[targets[3]?.name as string]?.rps ?? 0
  const direct = fixed[targets[0]?.name as string]?.p99 ?? 0
  const rows = targets.map((t) => {
    const mx = max[t.name] as { rps: number, p99Ms: number }
    const fx = fixed[t.name] as { p50: number, p99: number, lag: number, errors: number }
    return `| ${t.name} | ${mx.rps} | ${(mx.rps / nginxMax).toFixed(2)} | ${mx.p99Ms.toFixed(2)} | ${fx.p50.toFixed(3)} | ${fx.p99.toFixed(3)} | ${(fx.p99 - direct).toFixed(3)} | ${fx.errors} |`
  })
  const report = `# Gateway benchmark

Measured ${new Date().toISOString()} by \`node dist/bench/gateway.js --processes ${processes} --duration ${duration}\`.

**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. Backend, proxies and load
generators share the same cores, unisolated; one run, one backend (Fastify, small JSON).

**Maximum throughput:** wrk, 1 thread, ${connections} keep-alive connections, ${duration} s, after a ${duration} s warm-up.
**Fixed rate:** ${rate} req/s — half of nginx's maximum (${Math.round(nginxMax / 2)}), capped at \`--max-rate\` because the open-model
generator (one Node process on the same cores) cannot itself send faster without becoming the bottleneck; latency from intended send time, ${duration} s.

| Path | Max req/s | × nginx | wrk p99 ms | p50 ms at ${rate}/s | p99 ms at ${rate}/s | p99 added over direct ms | errors |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Outgrow / nginx: **${(outgrow / nginxMax).toFixed(2)}×** (target ≥ 0.8). Outgrow / @fastify/http-proxy: **${(outgrow / fastifyProxy).toFixed(2)}×** (target ≥ 1.5).
Load generator send lag p99 at the fixed rate: ${targets.map((t) => `${(fixed[t.name] as { lag: number }).lag.toFixed(2)} ms`).join(', ')} (large values would mean the generator, not the proxy, was the limit).
`
  await writeFile(values.out as string, report)
  process.stdout.write(report)
  await rm(dir, { recursive: true, force: true })
}

main().finally(() => {
  for (const child of children) child.kill('SIGTERM')
}).catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
