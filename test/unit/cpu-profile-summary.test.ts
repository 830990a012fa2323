import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { summarizeProfile, type CpuProfile } from '../../src/lab/cpu-profile.js'

const frame = (functionName: string, url = '', lineNumber = -1): CpuProfile['nodes'][number]['callFrame'] =>
  ({ functionName, scriptId: url === '' ? '0' : '1', url, lineNumber, columnNumber: 0 })

const inCwd = pathToFileURL(join(process.cwd(), 'src', 'a.js')).href

/**
 * foo appears twice in the tree (called directly and from an anonymous function) and must be
 * merged; hit counts are deliberately wrong, so only samples and time deltas can give the answer.
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 7], hitCount: 0 },
    { id: 2, callFrame: frame('(program)'), hitCount: 9 },
    { id: 3, callFrame: frame('(idle)'), hitCount: 1 },
    { id: 4, callFrame: frame('foo', inCwd, 9), hitCount: 1 },
    { id: 5, callFrame: frame('', 'file:///elsewhere/b.js', 2), children: [6], hitCount: 1 },
    { id: 6, callFrame: frame('foo', inCwd, 9), hitCount: 1 },
    { id: 7, callFrame: frame('(garbage collector)'), hitCount: 1 },
  ],
  startTime: 1000,
  // Sample times 1010, 1110, 1410, 1460, 1660, 2660, 2700; each lasts until the next, the last until endTime.
  samples: [4, 4, 6, 5, 3, 7, 2],
  timeDeltas: [10, 100, 300, 50, 200, 1000, 40],
  endTime: 2760,
}

test('self time per function comes from the time between samples, with every node of a function merged', () => {
  const summary = summarizeProfile(profile)
  assert.equal(summary.samples, 7)
  assert.equal(summary.sampledMs, 1.75)
  assert.deepEqual(summary.functions.map((f) => [f.name, f.location, f.selfMs]), [
    ['(idle)', '', 1],
    ['foo', join('src', 'a.js') + ':10', 0.45],
    ['(anonymous)', '/elsewhere/b.js:3', 0.2],
    ['(program)', '', 0.06],
    ['(garbage collector)', '', 0.04],
  ])
  assert.ok(Math.abs((summary.functions[1]?.selfShare ?? 0) - 0.45 / 1.75) < 1e-9)
  const shares = summary.functions.reduce((sum, f) => sum + f.selfShare, 0)
  assert.ok(Math.abs(shares - 1) < 1e-9, 'every sampled microsecond is attributed once')
})

test('top limits the list to the heaviest functions', () => {
  assert.deepEqual(summarizeProfile(profile, 2).functions.map((f) => f.name), ['(idle)', 'foo'])
})

test('a profile without samples spreads its length over the hit counts', () => {
  const { samples: _s, timeDeltas: _t, ...withoutSamples } = profile
  const summary = summarizeProfile({ ...withoutSamples, nodes: profile.nodes.map((n) => ({ ...n, hitCount: n.id === 4 ? 3 : n.id === 3 ? 1 : 0 })) })
  assert.equal(summary.samples, 4)
  assert.deepEqual(summary.functions.map((f) => [f.name, f.selfMs]), [['foo', 1.32], ['(idle)', 0.44]])
})
