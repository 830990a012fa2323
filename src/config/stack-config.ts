import { z } from 'zod'
import { DEFAULT_ADMIN_TOKEN, defaultTokenRefusal } from './admin-token.js'
import { parseOrThrow } from './validate.js'

// Kept here (not imported from gateway-config) so the two schemas do not import each other.
export const BALANCER_NAMES = ['round-robin', 'least-requests', 'least-connections', 'p2c', 'peak-ewma', 'ip-hash', 'consistent-hash', 'sticky'] as const

/** What a user writes in `outgrow.config.*`: the application and the desired playbook level. */
export const healthCheckSchema = z.object({
  intervalMs: z.number().int().min(50).max(60_000).default(1000),
  timeoutMs: z.number().int().min(10).max(60_000).default(500),
  rise: z.number().int().min(1).max(20).default(2),
  fall: z.number().int().min(1).max(20).default(2),
  path: z.string().startsWith('/').default('/readyz'),
}).strict()

export const stackConfigSchema = z.object({
  app: z.object({
    /** Module (relative to the config file) whose default export is a service made by defineService. */
    service: z.string().min(1),
  }).strict(),
  level: z.number().int().min(1).max(4).default(1),
  port: z.number().int().min(1).max(65_535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  instances: z.number().int().min(1).max(32).optional(),
  replicas: z.number().int().min(0).max(4).optional(),
  workers: z.number().int().min(0).max(16).optional(),
  balancer: z.enum(BALANCER_NAMES).default('round-robin'),
  gatewayProcesses: z.number().int().min(1).max(64).default(1),
  healthCheck: healthCheckSchema.default({}),
  emulation: z.object({
    mode: z.enum(['auto', 'cgroup', 'taskset', 'none']).default('auto'),
    /** CPU share of one emulated server, in cores. */
    cpusPerServer: z.number().positive().max(64).default(0.5),
  }).strict().default({}),
  seed: z.object({
    products: z.number().int().min(0).max(10_000_000).default(10_000),
    users: z.number().int().min(0).max(1_000_000).default(1000),
  }).strict().default({}),
  adminToken: z.string().min(8).default(DEFAULT_ADMIN_TOKEN),
  /**
   * High availability where the level has it (level 4): etcd and an HA agent per PostgreSQL node,
   * failover with election in synchronous mode, and Redis with a replica under Sentinel
   * (docs/ha.md). `outgrow up --no-ha` turns it off.
   */
  ha: z.boolean().default(true),
  /** Where the stack keeps its data (engines, event log, control token); `.outgrow/` beside the config by default. */
  dataDir: z.string().min(1).optional(),
  /**
   * Any part of the topology spec (docs/topology.md), merged over the level's preset: objects
   * merge key by key, arrays replace.
   */
  topology: z.record(z.unknown()).optional(),
  /**
   * Where the control API (and the live dashboard) listens: loopback on a free port by default.
   * Another address exposes it beyond this machine; its token is required either way.
   */
  control: z.object({
    host: z.string().regex(/^(?:[a-zA-Z0-9.-]+|[0-9a-fA-F:]+)$/, 'expected an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(0),
  }).strict().default({}),
}).strict().superRefine((config, ctx) => {
  // `topology` may move listeners elsewhere too; validateSpec checks the resulting spec.
  const refusal = defaultTokenRefusal(config.adminToken, [config.host])
  if (refusal !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['adminToken'], message: refusal })
})

export type StackConfigInput = z.input<typeof stackConfigSchema>
export type StackConfig = z.output<typeof stackConfigSchema>
export type HealthCheckConfig = z.output<typeof healthCheckSchema>

/** Typed helper for config files: `export default defineConfig({...})`. */
export function defineConfig (config: StackConfigInput): StackConfigInput {
  return config
}

export function parseStackConfig (input: unknown): StackConfig {
  return parseOrThrow(stackConfigSchema, input, 'config')
}
