import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { freePort } from '../../src/supervisor/free-port.js'
import { CLI, isAlive, startCli, waitFor } from '../helpers/cli.js'

let cwd: string
// Traversable by PostgreSQL's OS user, so the stack's data stays inside it.
before(async () => { cwd = await mkdtemp(join(tmpdir(), 'outgrow-cli-')); await chmod(cwd, 0o755) })
after(async () => { await rm(cwd, { recursive: true, force: true }) })

test('level 1 starts with one command, serves the shop, and stops cleanly on SIGTERM', async () => {
  const port = await freePort()
  const cli = await startCli(['up', '--level', '1', '--port', String(port), '--products', '300', '--users', '5'], cwd)
  const names = cli.ready.processes.map((p) => p.name).sort()
  assert.deepEqual(names, ['app-1', 'postgres-primary'])
  for (const path of ['/healthz', '/readyz', '/api/products/1', '/']) {
    const res = await request(`${cli.ready.url}${path}`)
    assert.equal(res.statusCode, 200, path)
    assert.equal(res.headers['x-outgrow-instance'], 'app-1')
    await res.body.dump()
  }
  const metrics = await request(`${cli.ready.url}/metrics`)
  assert.match(await metrics.body.text(), /outgrow_db_queries_total/)
  assert.ok(existsSync(join(cwd, '.outgrow', 'stack.json')))
  const exited = new Promise<number | null>((resolve) => cli.child.once('exit', resolve))
  cli.child.kill('SIGTERM')
  assert.equal(await exited, 0)
  const pids = cli.ready.processes.map((p) => p.pid)
  assert.ok(await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000), 'every process stopped')
  assert.ok(!existsSync(join(cwd, '.outgrow', 'stack.json')))
})

test('Ctrl-C while the stack is still starting stops what has started and exits 0', async () => {
  const port = await freePort()
  const dataDir = join(cwd, 'interrupted-start')
  const child = spawn(process.execPath, [CLI, 'up', '--level', '1', '--port', String(port), '--products', '300', '--users', '5', '--data-dir', dataDir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  // PostgreSQL is being started: the start is under way, not done.
  assert.ok(await waitFor(() => /start postgres-primary/.test(stderr), 60_000), stderr)
  child.kill('SIGINT')
  assert.equal(await exited, 0, stderr)
  assert.match(stderr, /SIGINT: stopping the stack/)
  assert.doesNotMatch(stderr, /OUTGROW_INTERNAL/)
  const left = spawnSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).stdout.trim()
  assert.equal(left, '', 'no process of the stack is left')
})

test('invalid options and config fail with one line naming the field, starting nothing', async () => {
  const badLevel = spawnSync(process.execPath, [CLI, 'up', '--level', '9'], { cwd, encoding: 'utf8' })
  assert.notEqual(badLevel.status, 0)
  assert.match(badLevel.stderr, /--level/)

  const config = join(cwd, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({ app: { service: './nowhere.js' }, healthCheck: { intervalMs: 'often' } }))
  const badConfig = spawnSync(process.execPath, [CLI, 'up', '--config', config], { cwd, encoding: 'utf8' })
  assert.equal(badConfig.status, 1)
  assert.equal(badConfig.stderr.trim().split('\n').length, 1)
  assert.match(badConfig.stderr, /^OUTGROW_CONFIG_INVALID: invalid config: healthCheck\.intervalMs: /)

  await writeFile(config, JSON.stringify({ app: { service: './service.js' }, level: 2, instances: 3 }))
  const impossible = spawnSync(process.execPath, [CLI, 'up', '--config', config], { cwd, encoding: 'utf8' })
  assert.equal(impossible.status, 1)
  assert.match(impossible.stderr, /^OUTGROW_TOPOLOGY_REFUSED: topology refused: services\.app\.instances: /)

  await writeFile(config, JSON.stringify({ app: { service: './nowhere.js' }, level: 2 }))
  const hadDataDir = existsSync(join(cwd, '.outgrow'))
  const noModule = spawnSync(process.execPath, [CLI, 'up', '--config', config], { cwd, encoding: 'utf8' })
  assert.equal(noModule.status, 1)
  assert.equal(noModule.stderr.trim().split('\n').length, 1)
  assert.match(noModule.stderr, /^OUTGROW_CONFIG_INVALID: invalid config: app\.service: module not found: \.\/nowhere\.js /)
  assert.equal(existsSync(join(cwd, '.outgrow')), hadDataDir, 'nothing started: no data dir made')
})

test('an invalid gateway config fails with one line naming the field', async () => {
  const config = join(cwd, 'gateway.json')
  await writeFile(config, JSON.stringify({ upstreams: { instances: [] }, routes: [{ balancer: 'random-ish' }] }))
  const result = spawnSync(process.execPath, [CLI, 'gateway', '--config', config], { cwd, encoding: 'utf8' })
  assert.equal(result.status, 1)
  assert.equal(result.stderr.trim().split('\n').length, 1)
  assert.match(result.stderr, /^OUTGROW_CONFIG_INVALID: invalid gateway config: routes\.0\.balancer: /)
})
