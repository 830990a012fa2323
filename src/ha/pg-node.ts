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
  /** Shut down for good: no start after this, whatever slow work of the agent is still running. */
  #closed = false
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
    if (this.#closed) throw new Error('PostgreSQL is shutting down with its node')
    if (this.#starting !== null) return await this.#starting
    this.#wanted = true
    this.#starting = (async () => {
      await fenceOnDisk(this.dataDir, this.server.runAs)
      await this.server.start()
      if (this.server.process.pid !== undefined) await this.keeper.setPostmaster(this.server.process.pid)
    })().finally(() => { this.#starting = null })
    await this.#starting
  }

  /**
   * The node's last stop: a follow or rewind of the agent still running (the agent stops its loop,
   * not the work it started) cannot start the server again behind the shutdown, an orphan.
   */
  async shutdown (): Promise<void> {
    this.#closed = true
    await this.stop()
  }

  /** Fast shutdown (clean: pg_rewind may run afterwards); not restarted until start(). */
  async stop (): Promise<void> {
    this.#wanted = false
    clearTimeout(this.#restart)
    await this.#starting?.catch(() => {})
    await this.server.stop()
  }
}
