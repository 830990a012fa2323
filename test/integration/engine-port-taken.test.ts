import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { validateSpec } from '../../src/control/validate-spec.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startControlLoop } from '../helpers/control-loop.js'

// A port the OS said was free can be bound by another process before the engine binds it. An
// engine nothing knows the address of yet must then move to another port, not fail every retry.
const spec = validateSpec({
  emulation: { mode: 'none' },
  databases: { pg: { primary: { server: 'db' }, replicas: { count: 0, server: 'db-replica-{i}' } } },
  redis: { redis: { server: 'redis', roles: ['cache'] } },
  services: {},
})

async function listen (port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return server
}

test('an engine whose picked port is taken before it binds starts on a new port, and a primary created meanwhile is still seeded', async () => {
  const taken: Server[] = []
  const takenPorts: number[] = []
  // The first port handed to each engine is taken by "someone else" at once.
  const pickPort = async (): Promise<number> => {
    const port = await freePort()
    if (takenPorts.length < 2) {
      takenPorts.push(port)
      taken.push(await listen(port))
    }
    return port
  }
  const boots: boolean[] = []
  const loop = await startControlLoop(spec, { pickPort, bootstrap: async (_cluster, _url, fresh) => { boots.push(fresh) } }).catch((err: unknown) => {
    for (const server of taken) server.close()
    throw err
  })
  try {
    const units = loop.executor.observe()
    for (const name of ['pg-primary', 'redis']) {
      const unit = units.find((u) => u.name === name)
      assert.equal(unit?.state, 'ready', `${name} is ready`)
      const port = Number(new URL(unit.address as string).port)
      assert.ok(!takenPorts.includes(port), `${name} moved off the taken port (${port})`)
    }
    const ports = JSON.parse(await readFile(join(loop.dir, 'ports.json'), 'utf8')) as Record<string, number>
    assert.ok(!takenPorts.includes(ports['pg-primary'] as number) && !takenPorts.includes(ports.redis as number), 'the ports file has the new ports')
    // The first start made the cluster, then failed to listen: the start that succeeded still seeds it.
    assert.deepEqual(boots, [true])
    const failures = (await readFile(join(loop.dir, 'events.jsonl'), 'utf8')).split('\n').filter((line) => line.includes('failed'))
    assert.ok(failures.length >= 2, `both first starts failed (${failures.length} failure events)`)
  } finally {
    await loop.stop()
    for (const server of taken) server.close()
  }
})
