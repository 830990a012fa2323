import { parseStackConfig } from '../config/stack-config.js'
import { preset, type Level } from '../control/presets.js'
import { SCENARIO_HELP } from '../lab/chaos/scenarios.js'

/** [1, 1, 1, 3] → "1 at levels 1–3, 3 at level 4". */
function byLevel (values: readonly number[]): string {
  const runs: Array<{ value: number, from: number, to: number }> = []
  values.forEach((value, i) => {
    const last = runs[runs.length - 1]
    if (last?.value === value) last.to = i + 1
    else runs.push({ value, from: i + 1, to: i + 1 })
  })
  return runs.map((r) => `${r.value} at level${r.from === r.to ? ` ${r.from}` : `s ${r.from}–${r.to}`}`).join(', ')
}

/** What `outgrow up` for options left out, read from the schema and presets so help never drifts. */
function stackDefaults (): Record<string, string> {
  const config = parseStackConfig({ app: { service: 'service.js' } })
  const perLevel = (count: (level: Level) => number | undefined): string => byLevel(([1, 2, 3, 4] as const).map((level) => count(level) ?? 0))
  const countOf = (part: unknown): number | undefined => (part as { instances?: { count?: number } } | undefined)?.instances?.count
  return {
    level: String(config.level),
    port: String(config.port),
    host: config.host,
    instances: perLevel((level) => countOf(preset(level, '').services.app)),
    replicas: perLevel((level) => (preset(level, '').databases.postgres as { replicas?: { count?: number } } | undefined)?.replicas?.count),
    workers: perLevel((level) => countOf(preset(level, '').workers?.worker)),
    balancer: config.balancer,
    gatewayProcesses: String(config.gatewayProcesses),
    emulation: config.emulation.mode,
    cpus: String(config.emulation.cpusPerServer),
    products: String(config.seed.products),
    users: String(config.seed.users),
  }
}

/** `(default: …)` for an `outgrow up` option; the config file, when it sets the value, wins over it. */
let defaults: Record<string, string> | undefined
export function upDefault (option: 'level' | 'port' | 'host' | 'instances' | 'replicas' | 'workers' | 'balancer' | 'gatewayProcesses' | 'emulation' | 'cpus' | 'products' | 'users'): string {
  defaults ??= stackDefaults()
  return `(default: ${defaults[option] as string})`
}

export const UP_HELP_FOOTER = `
Defaults apply where neither an option nor the config file sets a value.
The admin token is outgrow-admin-token unless the config sets adminToken; it is refused with a
--host beyond loopback.
The live dashboard's URL (it carries the control token) is printed on stderr once the stack is up;
outgrow dashboard prints it again. The control API stays on loopback unless --control-host says otherwise.`

export const GATEWAY_HELP_EXAMPLE = `
Example gateway.json (only "upstreams.instances" is required; health checks GET /readyz by default):
  {
    "port": 8080,
    "adminToken": "a-long-random-secret",
    "admin": { "host": "127.0.0.1", "port": 9901 },
    "trustForwardedFrom": ["10.0.0.0/8"],
    "upstreams": {
      "instances": [{ "id": "a", "url": "http://127.0.0.1:3000" }, { "id": "b", "url": "http://127.0.0.1:3001" }],
      "healthCheck": { "path": "/readyz", "intervalMs": 1000, "rise": 2, "fall": 2 }
    },
    "routes": [{ "pathPrefix": "/", "balancer": "round-robin" }]
  }
Health transitions of instances are logged to stderr, one line each, with the reason.
The admin API (GET/POST /__outgrow/admin/instances, DELETE …/:id) listens on admin.host:admin.port only.`

export const CHAOS_HELP_FOOTER = `
Scenarios:
${Object.entries(SCENARIO_HELP).map(([name, text]) => `  ${name.padEnd(17)} ${text}`).join('\n')}
Exits non-zero (OUTGROW_CHAOS_UNSAFE) when an acknowledged order was lost or placed twice, or two
primaries accepted writes at once. The ack log is kept in <data dir>/chaos/. See docs/chaos.md.`
