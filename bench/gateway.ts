/**
 * Gateway benchmark: one run, same machine, same backend. Maximum throughput (wrk, keep-alive)
 * direct to the backend, through Outgrow's gateway, through nginx (keep-alive upstream, same
 * number of worker processes) and through @fastify/http-proxy, in several interleaved rounds (a
 * shared machine drifts: each ratio is taken within one round, then the median is reported),
 * with each proxy's CPU time per request; then the p99 of each at a constant rate of half of
 * nginx's maximum (bench/fixed-rate, an open-model generator in C). Writes docs/benchmarks/gateway.md.
 *
 *   npm run bench:gateway -- [--processes 1] [--duration 10] [--rounds 3] [--rate N] [--also-rate N ...] [--out docs/benchmarks/gateway.md]
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { describeMachine } from '../src/lab/machine.js'
import { freePort } from '../src/supervisor/free-port.js'
import { runFixedRate, type StreamResult } from './fixed-rate.js'
import { processTreeCpu } from './process-cpu.js'

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '1' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    out: { type: 'string', default: 'docs/benchmarks/gateway.md' },
    // The fixed rate; half of nginx's median maximum unless given.
    rate: { type: 'string' },
    // More fixed rates, each with its own table (e.g. a light load, where the machine is not the limit).
    'also-rate': { type: 'string', multiple: true },
  },
})
const processes = Number(values.processes)
const duration = Number(values.duration)
const rounds = Number(values.rounds)
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

function wrk (url: string, seconds = duration): { rps: number, p99Ms: number } {
  const out = execFileSync('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--latency', url], { encoding: 'utf8' })
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
      throw new Error(`${tool} is needed for this benchmark: bash scripts/bench-setup.sh installs it (apt-get install nginx-light wrk)`)
    }
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

interface Target { name: string, url: string, pid: number }

/** The contenders in round `round`'s order: rotated so that none always runs first or last. */
function inRotation (targets: Target[], round: number): Target[] {
  return targets.map((_, i) => targets[(i + round) % targets.length] as Target)
}
interface MaxRun { rps: number, p99Ms: number, cpuUsPerRequest: number }
interface FixedRun { p50: number, p90: number, p99: number, controlP50: number, controlP90: number, controlP99: number, lag: number, errors: number }

/** wrk against one target while its process tree's CPU time is counted. */
function measureMax (t: Target): MaxRun {
  // Each contender is warmed up right before its run: on this machine a process idle for a while
  // finds its memory reclaimed and pays page faults on the next burst, Node's heap more than nginx's.
  wrk(t.url.replace(/\/$/, '/warm'), 2)
  const before = processTreeCpu(t.pid)
  const started = performance.now()
  const { rps, p99Ms } = wrk(t.url)
  const seconds = (performance.now() - started) / 1000
  const after = processTreeCpu(t.pid)
  const cpuMs = after.userMs - before.userMs + after.systemMs - before.systemMs
  return { rps, p99Ms, cpuUsPerRequest: rps > 0 ? cpuMs * 1000 / (rps * seconds) : NaN }
}

// The control stream is a tenth of the rate: enough samples for its p99 (over 10 000 in a 10 s run
// at 10 000 req/s), little extra load on a backend that shares the cores.
const controlRateFor = (rate: number): number => Math.max(100, Math.round(rate / 10))

/** Every contender at one fixed rate, with a control stream straight to the backend alongside. */
async function measureFixed (targets: Target[], direct: Target, rate: number): Promise<Map<Target, FixedRun[]>> {
  const fixed = new Map<Target, FixedRun[]>(targets.map((t) => [t, []]))
  for (let round = 0; round < rounds; round++) {
    for (const t of inRotation(targets, round)) {
      // A control stream straight to the backend runs alongside each proxy's, in the same event
      // loop of the same generator: both see the same machine at the same moment, so their p99
      // difference is what the proxy adds, not what the machine happened to do between two runs.
      // The first 2 s at the same rate are not recorded: the contender's idle memory (see
      // measureMax) and its connections come back during them.
      const streams = [{ url: t.url, rate, connections: 128 }]
      if (t !== direct) streams.push({ url: direct.url, rate: controlRateFor(rate), connections: 64 })
      const [result, control] = await runFixedRate({ streams, durationSeconds: duration, warmupSeconds: 2 }) as [StreamResult, StreamResult | undefined]
      const ms = (us: number): number => us / 1000
      const base = (control ?? result).latencyUs
      fixed.get(t)?.push({
        p50: ms(result.latencyUs.p50), p90: ms(result.latencyUs.p90), p99: ms(result.latencyUs.p99),
        controlP50: ms(base.p50), controlP90: ms(base.p90), controlP99: ms(base.p99),
        lag: ms(result.sendLagUs.p99), errors: result.errors + result.non2xx + result.overflow,
      })
      process.stderr.write(`round ${round + 1} rate ${rate} ${t.name}: p99 ${ms(result.latencyUs.p99)} ms${control === undefined ? '' : `, direct control ${ms(control.latencyUs.p99)} ms`}\n`)
    }
  }
  return fixed
}

async function main (): Promise<void> {
  requireTools()
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-gw-bench-'))
  const backendPort = await freePort()
  const backendUrl = `http://127.0.0.1:${backendPort}`
  const backend = fork(here('./backend-server.js'), [String(backendPort)], { stdio: 'ignore' })
  children.push(backend)
  await waitHttp(`${backendUrl}/`)

  const outgrowPort = await freePort()
  const gwConfig = join(dir, 'gateway.json')
  await writeFile(gwConfig, JSON.stringify({ port: outgrowPort, processes, upstreams: { instances: [{ id: 'backend', url: backendUrl }], healthCheck: { path: '/readyz' } } }))
  const outgrow = spawn(process.execPath, [here('../../bin/outgrow.js'), 'gateway', '--config', gwConfig], { stdio: 'ignore' })
  children.push(outgrow)

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
  const nginx = spawn('nginx', ['-c', nginxConf, '-g', 'daemon off;'], { stdio: 'ignore' })
  children.push(nginx)

  const fastifyProxyPort = await freePort()
  const fastifyProxy = fork(here('./fastify-proxy-server.js'), [String(fastifyProxyPort), backendUrl, String(processes)], { stdio: 'ignore' })
  children.push(fastifyProxy)

  const targets: Target[] = [
    { name: 'direct (Fastify backend)', url: `${backendUrl}/`, pid: backend.pid as number },
    { name: `Outgrow gateway (${processes} process)`, url: `http://127.0.0.1:${outgrowPort}/`, pid: outgrow.pid as number },
    { name: `nginx (${processes} worker, keep-alive upstream)`, url: `http://127.0.0.1:${nginxPort}/`, pid: nginx.pid as number },
    { name: `@fastify/http-proxy (${processes} process)`, url: `http://127.0.0.1:${fastifyProxyPort}/`, pid: fastifyProxy.pid as number },
  ]
  const [direct, og, ngx, fp] = targets as [Target, Target, Target, Target]
  for (const t of targets) await waitHttp(t.url)
  for (const t of targets) wrk(t.url.replace(/\/$/, '/warm')) // warm-up: JIT, connection pools

  const runs = new Map<Target, MaxRun[]>(targets.map((t) => [t, []]))
  for (let round = 0; round < rounds; round++) {
    for (const t of inRotation(targets, round)) {
      const run = measureMax(t)
      runs.get(t)?.push(run)
      process.stderr.write(`round ${round + 1} max ${t.name}: ${run.rps} req/s, ${run.cpuUsPerRequest.toFixed(1)} µs CPU/request\n`)
    }
  }
  const rpsOf = (t: Target, round: number): number => (runs.get(t)?.[round] as MaxRun).rps
  const perRound = Array.from({ length: rounds }, (_, r) => ({ nginx: rpsOf(og, r) / rpsOf(ngx, r), fastify: rpsOf(og, r) / rpsOf(fp, r) }))
  const vsNginx = median(perRound.map((r) => r.nginx))
  const vsFastify = median(perRound.map((r) => r.fastify))
  const nginxMax = median((runs.get(ngx) as MaxRun[]).map((r) => r.rps))

  const rate = values.rate !== undefined ? Number(values.rate) : Math.max(100, Math.round(nginxMax / 2))
  const fixedRates = [rate, ...(values['also-rate'] ?? []).map(Number)]
  const fixedByRate = new Map<number, Map<Target, FixedRun[]>>()
  for (const r of fixedRates) fixedByRate.set(r, await measureFixed(targets, direct, r))
  const m = describeMachine()
  const ms = (v: number): string => v.toFixed(2)
  const rows = targets.map((t) => {
    const mx = runs.get(t) as MaxRun[]
    const rps = mx.map((r) => r.rps)
    const cpu = median(mx.map((r) => r.cpuUsPerRequest))
    return `| ${t.name} | ${Math.round(median(rps))} | ${Math.min(...rps)}–${Math.max(...rps)} | ${cpu.toFixed(1)} | ${ms(median(mx.map((r) => r.p99Ms)))} |`
  })
  const fixedTable = (r: number): string => {
    const fixed = fixedByRate.get(r) as Map<Target, FixedRun[]>
    const medianOf = (t: Target, pick: (run: FixedRun) => number): number => median((fixed.get(t) ?? []).map(pick))
    const lines = targets.map((t) => {
      const added = (pick: (run: FixedRun) => number): string => t === direct ? '—' : ms(medianOf(t, pick))
      return `| ${t.name} | ${ms(medianOf(t, (x) => x.p50))} | ${ms(medianOf(t, (x) => x.p90))} | ${ms(medianOf(t, (x) => x.p99))} | ${t === direct ? '—' : `${ms(medianOf(t, (x) => x.controlP50))} / ${ms(medianOf(t, (x) => x.controlP99))}`} | ${added((x) => x.p50 - x.controlP50)} | ${added((x) => x.p90 - x.controlP90)} | **${added((x) => x.p99 - x.controlP99)}** | ${(fixed.get(t) ?? []).reduce((sum, x) => sum + x.errors, 0)} |`
    })
    const label = r === rate ? (values.rate === undefined ? 'half of nginx\'s median maximum' : `given; half of nginx's median maximum is ${Math.round(nginxMax / 2)}`) : 'a lighter load'
    return `At ${r} req/s (${label}; control stream ${controlRateFor(r)} req/s; ms, medians over the rounds; "added" is the proxy's percentile minus its control stream's, in the same run):

| Path | p50 | p90 | p99 | control p50 / p99 | added p50 | added p90 | added p99 | errors |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${lines.join('\n')}

Generator wake-up lag p99 (median per contender): ${targets.map((t) => `${ms(medianOf(t, (x) => x.lag))} ms`).join(', ')}: how late the generator itself woke to send — this machine's scheduling jitter, a floor under every p99 in the table.
`
  }
  const roundLines = perRound.map((r, i) => `round ${i + 1}: ${r.nginx.toFixed(2)}× nginx, ${r.fastify.toFixed(2)}× @fastify/http-proxy`).join('; ')
  const report = `# Gateway benchmark

Measured ${new Date().toISOString()} by \`node dist/bench/gateway.js ${process.argv.slice(2).filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out').join(' ')}\`.

**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. Backend, proxies and load
generators share the same cores, unisolated; one run, one backend (Fastify, small JSON).

**Maximum throughput:** wrk, 1 thread, ${connections} keep-alive connections, ${duration} s per run, after a ${duration} s warm-up of each
and a 2 s one right before every run (this machine pages out memory left idle, and V8 shrinks an idle heap: the next burst pays page faults, Node more than nginx);
${rounds} rounds, the contenders' order rotating each round. Medians are reported; each ratio is taken within a round
(the machine's speed drifts between rounds), then its median. CPU is the proxy's whole process tree (user + system)
during its runs, divided by the requests it served.
**Fixed rate:** ${fixedRates.join(' and ')} req/s, sent by \`bench/fixed-rate\`, an open-model
generator in C (request i is due at start + i/rate whatever the server does; latency counts from that intended time, so a stall is
never hidden by a politely lower rate); 128 keep-alive connections, ${duration} s per run after 2 s unrecorded at the same rate, ${rounds} rounds.
Alongside each proxy's run, the same generator's event loop sends a control stream of a tenth of the rate (at least 100 req/s) straight to the backend;
the added p99 is the proxy's p99 minus the control's in the same run, then its median.

| Path | Max req/s (median) | range | CPU µs/request | wrk p99 ms |
|---|---:|---:|---:|---:|
${rows.join('\n')}

Outgrow / nginx: **${vsNginx.toFixed(2)}×** (target ≥ 0.8). Outgrow / @fastify/http-proxy: **${vsFastify.toFixed(2)}×** (target ≥ 1.5).
Per round: ${roundLines}.

${fixedRates.map(fixedTable).join('\n')}`
  await writeFile(values.out, report)
  process.stdout.write(report)
  await rm(dir, { recursive: true, force: true })
}

main().finally(() => {
  for (const child of children) child.kill('SIGTERM')
}).catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
