import assert from 'node:assert/strict'
import { test } from 'node:test'
import { simulate, type SimResult } from '../helpers/ha-sim.js'

// HA_SIM_SEED=n replays one seed with its full trace; HA_SIM_SEEDS=n changes how many run.
const only = process.env.HA_SIM_SEED === undefined ? null : Number(process.env.HA_SIM_SEED)
const count = Number(process.env.HA_SIM_SEEDS ?? 1000)
const first = Number(process.env.HA_SIM_FIRST ?? 1)

test(`HA simulation: ${only === null ? `${count} seeds` : `seed ${only}`} — one writer at a time, no acknowledged write lost, one writer again after faults heal`, async () => {
  const seeds = only === null ? Array.from({ length: count }, (_, i) => first + i) : [only]
  let acked = 0
  const recoveries: number[] = []
  for (const seed of seeds) {
    const result: SimResult = await simulate({ seed })
    if (only !== null) console.log(result.trace.join('\n'))
    if (result.violation !== null) {
      console.log(result.trace.slice(-60).join('\n'))
      assert.fail(`seed ${seed}: ${result.violation} (replay: HA_SIM_SEED=${seed} node --test dist/test/unit/ha-simulation.test.js)`)
    }
    acked += result.acked
    if (result.recoveredAfterMs !== null) recoveries.push(result.recoveredAfterMs)
  }
  recoveries.sort((a, b) => a - b)
  console.log(`${seeds.length} seeds, ${acked} acknowledged writes, recovery after healing: median ${recoveries[Math.floor(recoveries.length / 2)]} ms, max ${recoveries.at(-1)} ms`)
  assert.ok(acked > 0)
})

test('HA simulation: a seed replays exactly', async () => {
  const a = await simulate({ seed: 4242 })
  const b = await simulate({ seed: 4242 })
  assert.deepEqual(a.trace, b.trace)
})

for (const kind of ['kill', 'stop'] as const) {
  test(`HA simulation: after ${kind === 'kill' ? 'kill -9' : 'SIGSTOP'} of the primary, acknowledged writes resume on another node within 5 s`, async () => {
    const times: number[] = []
    for (let seed = 1; seed <= 50; seed++) {
      const result = await simulate({ seed, script: [{ at: 3000, kind, node: 'leader', forMs: 8000 }], durationMs: 16_000, healAt: 12_000 })
      assert.equal(result.violation, null, `seed ${seed}: ${result.violation}`)
      assert.ok(result.failoverMs !== null && result.failoverMs <= 5000, `seed ${seed}: writes back after ${result.failoverMs} ms\n${result.trace.join('\n')}`)
      times.push(result.failoverMs)
    }
    times.sort((x, y) => x - y)
    console.log(`${kind}: writes back after median ${times[25]} ms, max ${times.at(-1)} ms over 50 seeds`)
  })
}
