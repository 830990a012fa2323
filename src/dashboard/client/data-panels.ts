import type { DashboardSample } from '../sample.js'
import { byId, el, naturalOrder, setText } from './dom.js'
import { bytes, ms, percent, rate, seconds } from './format.js'

/** A table body whose rows are keyed by their first cell and updated in place. */
class KeyedRows {
  readonly #body: HTMLTableSectionElement
  readonly #rows = new Map<string, HTMLTableCellElement[]>()
  #order = ''

  constructor (table: HTMLTableElement) {
    this.#body = table.tBodies[0] ?? table.createTBody()
  }

  render (rows: ReadonlyArray<readonly string[]>): void {
    const order = rows.map((r) => r[0] ?? '').join(',')
    if (order !== this.#order) {
      this.#order = order
      const keep = new Set(rows.map((r) => r[0] ?? ''))
      for (const name of this.#rows.keys()) if (!keep.has(name)) this.#rows.delete(name)
      this.#body.replaceChildren(...rows.map((r) => {
        const key = r[0] ?? ''
        let cells = this.#rows.get(key)
        if (cells === undefined) {
          cells = r.map((_, i) => i === 0 ? el('th', { scope: 'row' }) : el('td'))
          this.#rows.set(key, cells)
        }
        const tr = cells[0]?.parentElement ?? el('tr')
        if (cells[0]?.parentElement === null) tr.append(...cells)
        return tr
      }))
    }
    for (const r of rows) {
      const cells = this.#rows.get(r[0] ?? '')
      r.forEach((v, i) => { const cell = cells?.[i]; if (cell !== undefined) setText(cell, v) })
    }
  }
}

/** The database nodes, the job queues, and one line each for the cache and the workers. */
export class DataPanels {
  readonly #database = new KeyedRows(byId<HTMLTableElement>('database'))
  readonly #queues = new KeyedRows(byId<HTMLTableElement>('queues'))
  readonly #cache = byId('cache-summary')
  readonly #jobs = byId('jobs-summary')

  render (sample: DashboardSample): void {
    this.#database.render([...sample.database].sort((a, b) => naturalOrder(a.name, b.name)).map((d) => [
      d.name, d.role, rate(d.queriesPerSecond), String(d.connections), d.role === 'primary' ? '–' : bytes(d.lagBytes), seconds(d.lagSeconds),
    ]))
    this.#queues.render((sample.jobs?.queues ?? []).map((q) => [
      q.name, String(q.waiting), String(q.active), String(q.delayed), String(q.failed), seconds(q.oldestWaitingSeconds),
    ]))
    const cache = sample.cache
    setText(this.#cache, cache === null
      ? 'Cache: not in this stack.'
      : `Cache: hit ratio ${percent(cache.hitRatio)}, Redis ${rate(cache.redisOpsPerSecond)} ops/s, memory ${bytes(cache.usedMemoryBytes)}.`)
    const jobs = sample.jobs
    setText(this.#jobs, jobs === null
      ? 'Jobs: no queue in this stack.'
      : `Jobs: ${rate(jobs.completedPerSecond)} completed/s, mean run time ${ms(jobs.meanRunMs)} ms.`)
  }
}
