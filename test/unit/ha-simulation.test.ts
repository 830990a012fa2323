import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SimResult } from '../helpers/ha-sim.js'
import { simulateOnThread } from '../helpers/ha-sim-thread.js'

// HA_SIM_SEED=n replays one seed with its full trace; HA_SIM_SEEDS=n changes how many run.
const only = process.env.HA_SIM_SEED === undefined ? null : Number(process.env.HA_SIM_SEED)
const count = Number(process.env.HA_SIM_SEEDS ?? 1000)
const first = Number(process.env.HA_SIM_FIRST ?? 1)

test(`HA simulation: ${only === null ? `${count} seeds` : `seed ${only}`} — one writer at a time, no acknowledged write lost, one writer again after faults heal`, async () => {
  const seeds = only === null ? Array.from({ length: count }, (_, i) => first + i) : [only]
  let acked = 0
  let ran = 0
  const recoveries: number[] = []
  await simulateOnThread(seeds.map((seed) => ({ seed })), only === null ? 'violations' : 'all', (result: SimResult) => {
    const seed = result.seed
    ran++
    if (only !== null) console.log(result.trace.join('\n'))
    if (result.violation !== null) {
      console.log(result.trace.slice(-60).join('\n'))
      assert.fail(`seed ${seed}: ${result.violation} (replay: HA_SIM_SEED=${seed} node --test dist/test/unit/ha-simulation.test.js)`)
    }
    acked += result.acked
    if (result.recoveredAfterMs !== null) recoveries.push(result.recoveredAfterMs)
  })
  assert.equal(ran, seeds.length)
  recoveries.sort((a, b) => a - b)
  console.log(`${seeds.length} seeds, ${acked} acknowledged writes, recovery after healing: median ${recoveries[Math.floor(recoveries.length / 2)]} ms, max ${recoveries.at(-1)} ms`)
  assert.ok(acked > 0)
})

test('HA simulation: a seed replays exactly', async () => {
  const traces: Array<readonly string[]> = []
  await simulateOnThread([{ seed: 4242 }, { seed: 4242 }], 'all', (result) => { traces.push(result.trace) })
  assert.equal(traces.length, 2)
  assert.deepEqual(traces[0], traces[1])
})

for (const kind of ['kill', 'stop'] as const) {
  test(`HA simulation: after ${kind === 'kill' ? 'kill -9' : 'SIGSTOP'} of the primary, acknowledged writes resume on another node within 5 s`, async () => {
    const times: number[] = []
    const runs = Array.from({ length: 50 }, (_, i) => ({ seed: i + 1, script: [{ at: 3000, kind, node: 'leader', forMs: 8000 }], durationMs: 16_000, healAt: 12_000 }))
    await simulateOnThread(runs, 'all', (result) => {
      const seed = result.seed
      assert.equal(result.violation, null, `seed ${seed}: ${result.violation}`)
      assert.ok(result.failoverMs !== null && result.failoverMs <= 5000, `seed ${seed}: writes back after ${result.failoverMs} ms\n${result.trace.join('\n')}`)
      times.push(result.failoverMs)
    })
    assert.equal(times.length, 50)
    times.sort((x, y) => x - y)
    console.log(`${kind}: writes back after median ${times[25]} ms, max ${times.at(-1)} ms over 50 seeds`)
  })
}
