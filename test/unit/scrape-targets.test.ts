import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { ObservedUnit } from '../../src/control/observed.js'
import { ScrapeTargetsFile, scrapeTargets } from '../../src/control/scrape-targets.js'

function unit (name: string, kind: ObservedUnit['kind'], address: string | undefined, state: ObservedUnit['state'] = 'ready'): ObservedUnit {
  return { name, kind, group: kind, fingerprint: 'f', state, server: `${name}-server`, address, restarts: 0, since: 0 }
}

const running = [
  unit('app-10', 'app', 'http://127.0.0.1:4010'),
  unit('app-2', 'app', 'http://127.0.0.1:4002'),
  unit('gateway', 'gateway', 'http://127.0.0.1:8080'),
  unit('worker-1', 'worker', 'http://127.0.0.1:4100'),
  unit('app-3', 'app', undefined, 'starting'),
  unit('app-4', 'app', 'http://127.0.0.1:4004', 'stopping'),
  unit('postgres-primary', 'postgres-primary', 'postgres://127.0.0.1:5432/outgrow'),
  unit('redis', 'redis', 'redis://127.0.0.1:6379'),
]

test('one file_sd group per ready app, worker and gateway, with role, process, server, level, stack and metrics path', () => {
  const groups = scrapeTargets(running, { stack: 'shop', level: 4 })
  assert.deepEqual(groups.map((g) => g.labels.process), ['app-2', 'app-10', 'gateway', 'worker-1'], 'ready HTTP processes only, in name order')
  assert.deepEqual(groups[0], {
    targets: ['127.0.0.1:4002'],
    labels: { job: 'outgrow-app', process: 'app-2', server: 'app-2-server', level: '4', stack: 'shop', __metrics_path__: '/metrics' },
  })
  const gateway = groups.find((g) => g.labels.process === 'gateway')
  assert.equal(gateway?.labels.job, 'outgrow-gateway')
  assert.equal(gateway?.labels.__metrics_path__, '/__outgrow/metrics', 'the gateway proxies /metrics; its own are under /__outgrow/')
  assert.equal(groups.find((g) => g.labels.process === 'worker-1')?.labels.job, 'outgrow-worker')
  assert.equal(scrapeTargets(running, { stack: 'shop', level: undefined })[0]?.labels.level, 'custom')
})

test('the file is replaced whole when the targets change, left alone when they do not, and emptied', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-sd-'))
  try {
    const file = new ScrapeTargetsFile(dir, { stack: 'shop', level: 4 })
    assert.equal(file.path, join(dir, 'prometheus', 'targets.json'))
    await file.update(running)
    const first = JSON.parse(await readFile(file.path, 'utf8')) as Array<{ targets: string[] }>
    assert.equal(first.length, 4)
    await file.update([...running, unit('app-5', 'app', 'http://127.0.0.1:4005')])
    const second = JSON.parse(await readFile(file.path, 'utf8')) as Array<{ targets: string[] }>
    assert.deepEqual(second.map((g) => g.targets[0]), ['127.0.0.1:4002', '127.0.0.1:4005', '127.0.0.1:4010', '127.0.0.1:8080', '127.0.0.1:4100'])
    // Concurrent updates land in order; the last one wins and no temporary file is left behind.
    await Promise.all([file.update(running), file.update([])])
    assert.deepEqual(JSON.parse(await readFile(file.path, 'utf8')), [])
    assert.deepEqual(await readdir(join(dir, 'prometheus')), ['targets.json'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
