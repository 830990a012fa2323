import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { SCENARIOS } from '../../src/lab/chaos/scenarios.js'
import { CLI } from '../helpers/cli.js'

const help = async (command: string): Promise<string> => (await promisify(execFile)(process.execPath, [CLI, command, '--help'])).stdout
/** Help wrapped at 80 columns, as one line per option. */
const unwrapped = (text: string): string => text.replace(/\n {20,}/g, ' ')

describe('command help', () => {
  it('outgrow up --help shows the defaults of level, port, instances, CPU share and seed sizes', async () => {
    const text = unwrapped(await help('up'))
    for (const expected of [/--level <n>.*\(default: 1\)/, /--port <port>.*\(default: 8080\)/, /--instances <n>.*\(default: 1 at levels 1–3, 3 at level 4\)/,
      /--cpus <n>.*\(default: 0\.5\)/, /--products <n>.*\(default: 10000\)/, /--users <n>.*\(default: 1000\)/]) {
      assert.match(text, expected)
    }
  })

  it('outgrow gateway --help has an example config that the gateway accepts', async () => {
    const text = await help('gateway')
    const example = /Example gateway\.json[^\n]*\n([\s\S]*?\n {2}\})/.exec(text)?.[1]
    assert.ok(example !== undefined, text)
    const { parseGatewayConfig } = await import('../../src/config/gateway-config.js')
    const config = parseGatewayConfig(JSON.parse(example))
    assert.equal(config.upstreams.instances.length, 2)
    assert.match(text, /GET \/readyz by default/)
  })

  it('outgrow chaos --help lists every scenario and its options', async () => {
    const text = unwrapped(await help('chaos'))
    for (const scenario of SCENARIOS) assert.match(text, new RegExp(`^ {2}${scenario} `, 'm'), scenario)
    for (const option of ['--duration <s>', '--rate <req/s>', '--freeze <s>', '--json', '--data-dir <dir>']) assert.ok(text.includes(option), option)
  })
})
