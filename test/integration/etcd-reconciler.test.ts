import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { EventLog } from '../../src/control/event-log.js'
import type { LocalExecutor } from '../../src/control/executors/local.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { EtcdClient } from '../../src/ha/dcs/etcd-client.js'
import { startControlLoop, type ControlLoop } from '../helpers/control-loop.js'
import { waitUntil } from '../helpers/wait.js'

// A stack of the consensus store and nothing else: the reconciler starts its three members
// together (none is ready before a quorum runs) and restarts one that dies.
const spec = validateSpec({ emulation: { mode: 'none' }, databases: {}, services: {}, consensus: { members: 3 } })

let loop: ControlLoop
let dir: string
let executor: LocalExecutor
let events: EventLog
let client: EtcdClient

before(async () => {
  loop = await startControlLoop(spec)
  ;({ dir, executor, events } = loop)
})
after(async () => {
  client?.close()
  await loop?.stop()
})

const members = (): ReturnType<LocalExecutor['observe']> => executor.observe().filter((u) => u.kind === 'etcd').sort((a, b) => a.name.localeCompare(b.name))

async function healthy (url: string): Promise<boolean> {
  try {
    const body = await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).json() as { health?: string }
    return body.health === 'true'
  } catch {
    return false
  }
}

test('consensus: { members: 3 } runs etcd-1..3 as one cluster, all started at once without a failed start', async () => {
  const units = members()
  assert.deepEqual(units.map((u) => [u.name, u.group, u.server, u.state]), [
    ['etcd-1', 'ha/etcd', 'etcd-1', 'ready'],
    ['etcd-2', 'ha/etcd', 'etcd-2', 'ready'],
    ['etcd-3', 'ha/etcd', 'etcd-3', 'ready'],
  ])
  // Had the members been started one after another, the first would have waited alone for a quorum and failed.
  assert.deepEqual(events.since().filter((e) => e.target?.startsWith('etcd-') === true).map((e) => `${e.action} ${e.result}`), ['start ok', 'start ok', 'start ok'])
  const urls = units.map((u) => u.address as string)
  assert.equal(new Set(urls).size, 3)
  assert.deepEqual(await Promise.all(urls.map(healthy)), [true, true, true])
  client = new EtcdClient({ hosts: urls, callTimeoutMs: 1500 })
  await client.put('/outgrow/test/reconciled', 'yes')
  // Every member serves the same cluster: a read through each one alone sees the write.
  for (const url of urls) {
    const one = new EtcdClient({ hosts: [url] })
    try {
      assert.equal((await one.get('/outgrow/test/reconciled'))?.value, 'yes', url)
    } finally {
      one.close()
    }
  }
})

test('a member killed with SIGKILL is restarted on its ports and rejoins the cluster', async () => {
  const before = members().find((u) => u.name === 'etcd-2')
  assert.ok(before?.pid !== undefined)
  const ports = readFileSync(join(dir, 'ports.json'), 'utf8')
  process.kill(before.pid, 'SIGKILL')
  const restarted = await waitUntil(async () => {
    const now = members().find((u) => u.name === 'etcd-2')
    return now?.state === 'ready' && now.restarts === 1
  }, 30_000)
  assert.ok(restarted, `not restarted: ${JSON.stringify(members())}`)
  const after = members().find((u) => u.name === 'etcd-2')
  assert.notEqual(after?.pid, before.pid)
  assert.equal(after?.address, before.address)
  assert.equal(readFileSync(join(dir, 'ports.json'), 'utf8'), ports, 'client and peer ports kept')
  assert.ok(await healthy(after?.address as string))
  await client.put('/outgrow/test/after-restart', 'yes')
  const one = new EtcdClient({ hosts: [after?.address as string] })
  try {
    assert.equal((await one.get('/outgrow/test/after-restart'))?.value, 'yes')
  } finally {
    one.close()
  }
})
