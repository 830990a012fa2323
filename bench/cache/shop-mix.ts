import { BUNDLED_SHOP_CONFIG } from '../../src/cli/options.js'
import { loadStackConfig } from '../../src/config/load.js'
import { Stack } from '../../src/control/stack.js'
import { runOpenLoop, type OpenLoopResult } from '../../src/lab/open-loop.js'
import { resetStatements, topStatements, type StatementStats } from '../../src/lab/pg-statements.js'
import { progressPrinter } from '../../src/lab/progress.js'
import { ratesBetween, readCounters, type ServerRates } from '../../src/lab/server-stats.js'
import { DEFAULT_MIX, UserMix, type ActionName } from '../../src/lab/user-mix.js'
import { loginUsers } from '../../src/lab/virtual-users.js'
import { seededRandom } from '../../src/lab/zipf.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { warmCatalog } from '../../src/lab/catalog-warm.js'

/**
 * The shop's traffic against level 2 (one app, PostgreSQL, no cache) and level 3 (the same plus
 * Redis: the tiered cache and sessions) at the same offered rate, with the lab's stack and load
 * generator: database statements per second (counted by the app), the cache's hit ratio, and
 * PostgreSQL's own statement counts (pg_stat_statements) to show what still reaches it.
 */
export const MIXES: Readonly<Record<string, Readonly<Record<ActionName, number>>>> = {
  // The shop's catalogue reads alone (browse, product, search in the same proportions): the
  // read-heavy traffic the cache is for. Measured first, right after the catalogue is warmed.
  catalogue: { browse: 25, product: 35, search: 10, add_to_cart: 0, view_cart: 0, checkout: 0, history: 0, clear_cart: 0 },
  // The whole mix, writes included (carts, checkouts, order history are not cached).
  shop: DEFAULT_MIX,
}

export interface ShopMixMeasurement {
  readonly level: number
  readonly mix: string
  readonly load: Pick<OpenLoopResult, 'offeredRate' | 'achievedRate' | 'durationMs' | 'ok' | 'answered' | 'latency' | 'errorsByKind'>
  readonly server: ServerRates
  /** Statements PostgreSQL ran in the measured window, most called first (per second). */
  readonly statements: ReadonlyArray<Pick<StatementStats, 'query' | 'calls'> & { readonly perSecond: number }>
}

export interface ShopMixResult {
  readonly settings: { readonly rate: number, readonly durationSeconds: number, readonly warmupSeconds: number, readonly users: number, readonly products: number, readonly cpusPerServer: number, readonly emulation: string, readonly warmedCatalogue?: boolean }
  readonly measurements: ShopMixMeasurement[]
}

const USERS = 50
const PASSWORD = 'password123'

export async function runShopMix (options: { rate: number, durationSeconds: number, warmupSeconds: number, log: (line: string) => void }): Promise<ShopMixResult> {
  const measurements: ShopMixMeasurement[] = []
  let products = 0
  let cpusPerServer = 0
  let emulation = ''
  for (const level of [2, 3]) {
    const loaded = await loadStackConfig(BUNDLED_SHOP_CONFIG, { level, port: await freePort() })
    products = loaded.config.seed.products
    cpusPerServer = loaded.config.emulation.cpusPerServer
    const stack = new Stack({ loaded, control: false, durable: false, log: (line) => { options.log(`  L${level}: ${line}`) } })
    options.log(`shop mix: level ${level} starting`)
    const info = await stack.up()
    emulation = info.emulation
    try {
      const users = await loginUsers(info.url, USERS, PASSWORD)
      const warmed = await warmCatalog({ url: info.url, products, share: 1, connections: 8 })
      options.log(`shop mix: L${level}: requested each of ${warmed.products} products once (${warmed.failures} failed)`)
      const primaryUrl = info.processes.find((p) => p.role === 'postgres' && p.url !== undefined)?.url
      for (const [mixName, weights] of Object.entries(MIXES)) {
        const mix = new UserMix(users, products, seededRandom(42), weights)
        const common = { url: info.url, rate: options.rate, connections: 64, timeoutMs: 10_000, next: () => mix.next() }
        await runOpenLoop({ ...common, durationMs: options.warmupSeconds * 1000, onTick: progressPrinter(`L${level} ${mixName} warm-up`) })
        if (primaryUrl !== undefined) await resetStatements(primaryUrl).catch(() => undefined)
        const before = await readCounters(info.processes)
        const load = await runOpenLoop({ ...common, durationMs: options.durationSeconds * 1000, onTick: progressPrinter(`L${level} ${mixName}`) })
        const after = await readCounters(info.processes)
        const seconds = load.durationMs / 1000
        const statements = primaryUrl === undefined ? [] : await topStatements(primaryUrl, 100).catch(() => [])
        measurements.push({
          level,
          mix: mixName,
          load: { offeredRate: load.offeredRate, achievedRate: load.achievedRate, durationMs: load.durationMs, ok: load.ok, answered: load.answered, latency: load.latency, errorsByKind: load.errorsByKind },
          server: ratesBetween(before, after, seconds),
          statements: statements.sort((a, b) => b.calls - a.calls).slice(0, 12).map((s) => ({ query: s.query.replace(/\s+/g, ' ').trim(), calls: s.calls, perSecond: Math.round(s.calls / seconds * 10) / 10 })),
        })
        options.log(`shop mix: L${level} ${mixName}: ${load.achievedRate} req/s, ${JSON.stringify(measurements.at(-1)?.server)}`)
      }
    } finally {
      await stack.down()
    }
  }
  return { settings: { rate: options.rate, durationSeconds: options.durationSeconds, warmupSeconds: options.warmupSeconds, users: USERS, products, cpusPerServer, emulation, warmedCatalogue: true }, measurements }
}
