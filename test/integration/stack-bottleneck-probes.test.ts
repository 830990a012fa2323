import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import { Stack } from '../../src/control/stack.js'
import { OutgrowError } from '../../src/errors/index.js'
import { summarizeProfile } from '../../src/lab/cpu-profile.js'
import { resetStatements, topStatements } from '../../src/lab/pg-statements.js'
import { freePort } from '../../src/supervisor/free-port.js'

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

let dir: string
let stack: Stack
let url: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-probes-'))
  const config = join(dir, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({ app: { service: SHOP }, level: 1, port: await freePort(), seed: { products: 50, users: 5 } }))
  stack = new Stack({ loaded: await loadStackConfig(config), control: false, durable: false })
  url = (await stack.up()).url
})

after(async () => {
  try {
    await (stack as Stack | undefined)?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const processOf = (role: string): { name: string, url?: string | undefined } => {
  const found = stack.info().processes.find((p) => p.role === role)
  assert.ok(found !== undefined, `a ${role} process runs`)
  return found
}

async function browse (forMs: number): Promise<number> {
  let answered = 0
  for (const until = Date.now() + forMs; Date.now() < until;) {
    const res = await request(`${url}/api/products?page=${1 + (answered % 3)}`)
    await res.body.text()
    if (res.statusCode === 200) answered++
  }
  return answered
}

test('under load, an app instance is profiled by name and its database shows the statements it ran', async () => {
  const app = processOf('app')
  const database = processOf('postgres')
  assert.ok(database.url?.startsWith('postgres://') === true)
  await resetStatements(database.url)
  const [profile, answered] = await Promise.all([stack.cpuProfile(app.name, 1000), browse(1500)])
  assert.ok(answered > 10, `${answered} answers`)
  const summary = summarizeProfile(profile)
  assert.ok(summary.samples > 50 && summary.sampledMs > 800, JSON.stringify({ samples: summary.samples, sampledMs: summary.sampledMs }))
  assert.ok(summary.functions.length > 0)
  const statements = await topStatements(database.url)
  assert.ok(statements.length > 0 && statements.some((s) => /products/i.test(s.query) && s.calls > 0), JSON.stringify(statements.slice(0, 3)))
})

test('a profile of an engine or of an unknown process is refused with a stable code', async () => {
  await assert.rejects(stack.cpuProfile(processOf('postgres').name, 500), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_PROFILE_UNSUPPORTED')
  await assert.rejects(stack.cpuProfile('no-such-process', 500), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_NOT_FOUND')
})
