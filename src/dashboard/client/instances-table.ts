import type { DashboardSample, InstanceView, ProcessView } from '../sample.js'
import { el, naturalOrder, setAttr, setText } from './dom.js'
import { ms, percent, rate } from './format.js'

interface Row { tr: HTMLTableRowElement, cells: HTMLTableCellElement[] }

const COLUMNS = 10

/**
 * One row per app instance, keyed by name and updated in place; rows are reordered only when
 * instances come or go. Each row has its Kill button (the page's actions module handles clicks).
 */
export class InstancesTable {
  readonly #body: HTMLTableSectionElement
  readonly #rows = new Map<string, Row>()
  readonly #onKill: (name: string, button: HTMLButtonElement) => void
  #order = ''

  constructor (table: HTMLTableElement, onKill: (name: string, button: HTMLButtonElement) => void) {
    this.#body = table.tBodies[0] ?? table.createTBody()
    this.#onKill = onKill
  }

  render (sample: DashboardSample): void {
    const metrics = new Map<string, InstanceView>(sample.instances.map((i) => [i.name, i]))
    const processes = new Map<string, ProcessView>(sample.processes.filter((p) => p.role === 'app').map((p) => [p.name, p]))
    const names = [...new Set([...processes.keys(), ...metrics.keys()])].sort(naturalOrder)
    const order = names.join(',')
    if (order !== this.#order) {
      this.#order = order
      const keep = new Set(names)
      for (const [name, row] of this.#rows) {
        if (!keep.has(name)) { row.tr.remove(); this.#rows.delete(name) }
      }
      this.#body.replaceChildren(...names.map((name) => this.#row(name).tr))
    }
    for (const name of names) {
      const row = this.#row(name)
      const m = metrics.get(name)
      const p = processes.get(name)
      const status = p?.status ?? 'healthy'
      const values = [
        name, status,
        rate(m?.requestsPerSecond), ms(m?.p50Ms), ms(m?.p99Ms), rate(m?.errorsPerSecond),
        percent(m?.serverCpu), percent(m?.elu), m === undefined ? '–' : String(m.inFlight), String(p?.restarts ?? 0),
      ]
      values.forEach((v, i) => { const cell = row.cells[i]; if (cell !== undefined) setText(cell, v) })
      const statusCell = row.cells[1]
      if (statusCell !== undefined) setAttr(statusCell, 'class', `status status-${status}`)
    }
  }

  #row (name: string): Row {
    let row = this.#rows.get(name)
    if (row !== undefined) return row
    const tr = el('tr', { 'data-name': name })
    const cells: HTMLTableCellElement[] = []
    for (let i = 0; i < COLUMNS; i++) {
      const cell = i === 0 ? el('th', { scope: 'row' }) : el('td')
      cells.push(cell)
      tr.append(cell)
    }
    const button = el('button', { type: 'button', 'aria-label': `Kill ${name}` }, 'Kill')
    button.addEventListener('click', () => { this.#onKill(name, button) })
    const action = el('td')
    action.append(button)
    tr.append(action)
    row = { tr, cells }
    this.#rows.set(name, row)
    return row
  }
}
