import { cpus } from 'node:os'
import { runScenario, type Fault } from '../test/helpers/hosts/scenario.js'

/**
 * Gray failures on namespaced hosts (test/helpers/hosts): for each fault, the gateway (and nginx,
 * when installed) between a client and two instances; prints one JSON line per run.
 * `node dist/bench/gray-failures.js [fault,…] [outgrow,nginx]` — needs root and iproute2.
 */
const faults = (process.argv[2] ?? 'partition,freeze,slow,flap,detach,isolate').split(',') as Fault[]
const proxies = (process.argv[3] ?? 'outgrow,nginx').split(',') as Array<'outgrow' | 'nginx'>
process.stderr.write(`${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`)
for (const proxy of proxies) {
  for (const fault of faults) {
    const result = await runScenario({ fault, proxy })
    process.stdout.write(`${JSON.stringify({ proxy, fault, ...result })}\n`)
  }
}
