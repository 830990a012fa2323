import type { DbConfig, DbLeaderConfig } from '../config/process-config.js'
import { EtcdClient } from '../ha/dcs/etcd-client.js'
import { EtcdDcs } from '../ha/dcs/etcd.js'
import { dcsLeaderSource, staticLeaderSource, type LeaderSource } from './leader-source.js'

/** A server that may be the primary, by its member name. */
export interface DbMember {
  readonly name: string
  readonly url: string
}

/** The db config in one shape, whichever form it was written in. */
export interface DbTopology {
  /** Servers that may lead. The plain form has one, named `primary`. */
  readonly members: readonly DbMember[]
  /** Read-only servers: never written to. */
  readonly replicas: readonly string[]
  /**
   * Members form: members other than the leader serve reads while they are replicas, so every
   * member is polled. The plain form: the primary is never polled and serves reads only as the
   * fallback, as before members existed.
   */
  readonly membersServeReads: boolean
  /** The leader config (the plain form: static, `primary`). */
  readonly leader: DbLeaderConfig
}

/** The member name of the plain form's fixed primary. */
export const PLAIN_PRIMARY = 'primary'

export function dbTopology (config: DbConfig): DbTopology {
  if (config.members === undefined) {
    return {
      members: [{ name: PLAIN_PRIMARY, url: config.primary as string }],
      replicas: config.replicas,
      membersServeReads: false,
      leader: { kind: 'static', name: PLAIN_PRIMARY },
    }
  }
  return {
    members: Object.entries(config.members).map(([name, url]) => ({ name, url })),
    replicas: config.replicas,
    membersServeReads: true,
    leader: config.leader as DbLeaderConfig,
  }
}

/** The leader source of `{ kind: 'dcs' }`: the cluster's leader key in etcd, watched. */
export function etcdLeaderSource (leader: Extract<DbLeaderConfig, { kind: 'dcs' }>): LeaderSource {
  const client = new EtcdClient({ hosts: leader.etcd.hosts })
  const source = dcsLeaderSource(new EtcdDcs({ client, cluster: leader.cluster }))
  return { current: () => source.current(), watch: (listener) => source.watch(listener), close: () => { source.close(); client.close() } }
}

/** The leader source a db config asks for. */
export function leaderSourceFor (topology: DbTopology): LeaderSource {
  return topology.leader.kind === 'static' ? staticLeaderSource(topology.leader.name) : etcdLeaderSource(topology.leader)
}
