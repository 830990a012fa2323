import { randomUUID } from 'node:crypto'
import { before } from 'node:test'
import { EtcdClient } from '../../src/ha/dcs/etcd-client.js'
import { EtcdDcs } from '../../src/ha/dcs/etcd.js'
import { dcsConformance } from '../conformance/dcs-suite.js'
import { startEtcdCluster, type TestEtcdCluster } from '../../src/lab/etcd-cluster.js'
import { sleep } from '../helpers/wait.js'

// The DCS contract on a real 3-member etcd cluster (the same suite runs on the memory store in
// test/unit/ha-dcs-conformance.test.ts). Each test gets its own cluster prefix.
let cluster: TestEtcdCluster
let client: EtcdClient
before(async () => {
  cluster = await startEtcdCluster(3)
  client = new EtcdClient({ hosts: cluster.hosts, callTimeoutMs: 1500 })
})

dcsConformance('etcd', {
  fresh: async () => {
    const name = `conformance-${randomUUID().slice(0, 8)}`
    const views = new Map<string, EtcdDcs>()
    return { member: (member) => views.get(member) ?? views.set(member, new EtcdDcs({ client, cluster: name })).get(member) as EtcdDcs }
  },
  // etcd raises shorter leases to 2 s here (1.5 election timeouts).
  ttlMs: 2000,
  // The etcd leader checks for expired leases every 500 ms; allow for a busy machine.
  expirySlackMs: 1500,
  pass: sleep,
  close: async () => {
    client.close()
    await cluster.stop()
  },
})
