import { readFile } from 'node:fs/promises'
import { createRedisClient } from '../../runtime/redis-client.js'
import { sentinelConfigFile } from './redis-sentinel.js'

/** A master as Sentinels name it. */
export interface MasterAddress {
  readonly host: string
  readonly port: number
}

/**
 * The master Sentinels name for a group now: each is asked (`SENTINEL get-master-addr-by-name`)
 * and the answer of most of those that answered wins; undefined when none answers.
 */
export async function askSentinels (sentinelPorts: readonly number[], masterName: string, timeoutMs = 500): Promise<MasterAddress | undefined> {
  const answers = await Promise.all(sentinelPorts.map(async (port) => {
    const client = createRedisClient(`redis://127.0.0.1:${port}`, { purpose: 'probe', overrides: { connectTimeout: timeoutMs, commandTimeout: timeoutMs } })
    try {
      await client.connect()
      const reply = await client.call('SENTINEL', 'get-master-addr-by-name', masterName) as [string, string] | null
      return reply === null ? undefined : `${reply[0]}:${reply[1]}`
    } catch {
      return undefined
    } finally {
      client.disconnect()
    }
  }))
  return mostCommon(answers.filter((a): a is string => a !== undefined))
}

/**
 * The master the Sentinels last agreed on, from their config files, for when none runs (a whole
 * stack starting again after a failover): the file with the highest config epoch wins.
 */
export async function masterFromSentinelFiles (sentinelDataDirs: readonly string[], masterName: string): Promise<MasterAddress | undefined> {
  let best: { epoch: number, address: string } | undefined
  for (const dir of sentinelDataDirs) {
    const text = await readFile(sentinelConfigFile(dir), 'utf8').catch(() => '')
    const monitor = new RegExp(`^sentinel monitor ${masterName} (\\S+) (\\d+) \\d+$`, 'm').exec(text)
    if (monitor === null) continue
    const epoch = Number(new RegExp(`^sentinel config-epoch ${masterName} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
    if (best === undefined || epoch > best.epoch) best = { epoch, address: `${monitor[1] as string}:${monitor[2] as string}` }
  }
  return best === undefined ? undefined : parse(best.address)
}

function mostCommon (answers: readonly string[]): MasterAddress | undefined {
  const counts = new Map<string, number>()
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1)
  const [winner] = [...counts].sort((x, y) => y[1] - x[1])[0] ?? []
  return winner === undefined ? undefined : parse(winner)
}

function parse (address: string): MasterAddress {
  const at = address.lastIndexOf(':')
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
}
