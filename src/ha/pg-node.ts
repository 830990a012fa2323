/**
 * One PostgreSQL server as the HA agent's process runs it: every start is fenced on disk first
 * (read-only until the fence keeper unfences it), the keeper learns the postmaster's pid, and a
 * server that exits without being asked is started again (as a supervisor would) after a pause.
 */
import type { PostgresServer } from '../supervisor/engines/postgres.js'
import type { FenceKeeper } from './fence-keeper.js'
import { fenceOnDisk } from './pg-files.js'

export class PgNode {
  #wanted = false
  #restart: NodeJS.Timeout | undefined
  #starting: Promise<void> | null = null

  constructor (readonly server: PostgresServer, private readonly keeper: FenceKeeper, private readonly restartAfterMs = 1000) {
    server.process.on('exit', () => {
      if (!this.#wanted || this.#starting !== null) return
      clearTimeout(this.#restart)
      this.#restart = setTimeout(() => { if (this.#wanted && !this.running) void this.start().catch(() => {}) }, this.restartAfterMs)
    })
  }

  get running (): boolean { return this.server.process.running }
  get dataDir (): string { return this.server.options.dataDir }

  async start (): Promise<void> {
    if (this.#starting !== null) return await this.#starting
    this.#wanted = true
    this.#starting = (async () => {
      await fenceOnDisk(this.dataDir, this.server.runAs)
      await this.server.start()
      if (this.server.process.pid !== undefined) await this.keeper.setPostmaster(this.server.process.pid)
    })().finally(() => { this.#starting = null })
    await this.#starting
  }

  /** Fast shutdown (clean: pg_rewind may run afterwards); not restarted until start(). */
  async stop (): Promise<void> {
    this.#wanted = false
    clearTimeout(this.#restart)
    await this.#starting?.catch(() => {})
    await this.server.stop()
  }
}
