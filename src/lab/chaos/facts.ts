import { etcdNodes, factsNeeded, postgresNodes, redisNodes, type NodeFacts, type ScenarioName, type StackNode } from './scenarios.js'
import { etcdIsLeader, PgProbe, redisRole } from './node-probes.js'

/** Asks the nodes a scenario's target selection needs (only those), each answer bounded in time. */
export async function gatherFacts (scenario: ScenarioName, nodes: readonly StackNode[]): Promise<NodeFacts> {
  const writable = new Map<string, boolean | undefined>()
  const role = new Map<string, string | undefined>()
  const leader = new Map<string, boolean | undefined>()
  const needed = factsNeeded(scenario)
  if (needed === 'postgres') {
    await Promise.all(postgresNodes(nodes).map(async (n) => {
      const probe = new PgProbe(n.url, 1000)
      writable.set(n.name, await probe.writable())
      probe.close()
    }))
  }
  if (needed === 'redis') await Promise.all(redisNodes(nodes).map(async (n) => { role.set(n.name, await redisRole(n.url)) }))
  if (needed === 'etcd') await Promise.all(etcdNodes(nodes).map(async (n) => { leader.set(n.name, await etcdIsLeader(n.url)) }))
  return { writable, redisRole: role, etcdLeader: leader }
}
