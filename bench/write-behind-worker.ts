/**
 * A write-behind consumer process for bench/write-behind.ts: applies `bench.views` (a count per
 * key, aggregated per batch) to bench_views. Env: WB_REDIS, WB_PG, WB_PARTITIONS. Tells its
 * parent `{ ready: true }`, and `{ applying: size }` inside each batch's transaction.
 */
import { PgDatabase } from '../src/data/pg-database.js'
import { RedisStreamWrites } from '../src/write-behind/redis-stream-writes.js'

export const VIEWS_STREAM = 'bench.views'

const db = new PgDatabase({ primary: process.env.WB_PG ?? '', replicas: [], poolSize: 8, replicaPollMs: 1000 })
const writes = new RedisStreamWrites(process.env.WB_REDIS ?? '', db, {
  [VIEWS_STREAM]: async (batch, tx) => {
    process.send?.({ applying: batch.length })
    const counts = new Map<number, number>()
    for (const write of batch) counts.set(Number(write.key), (counts.get(Number(write.key)) ?? 0) + Number(write.payload))
    const ids = [...counts.keys()].sort((a, b) => a - b)
    await tx.query('UPDATE bench_views b SET n = b.n + v.n FROM unnest($1::int[], $2::bigint[]) AS v(id, n) WHERE b.id = v.id', [ids, ids.map((id) => counts.get(id))])
  },
}, { prefix: 'wb:', partitions: Number(process.env.WB_PARTITIONS ?? '4'), batchSize: 500, leaseMs: 2000, maxBacklog: 10_000_000 })

process.on('disconnect', () => { process.exit(0) })
await writes.process()
process.send?.({ ready: true })
