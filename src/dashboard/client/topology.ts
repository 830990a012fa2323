import type { DashboardSample, EdgeView, ProcessView } from '../sample.js'
import { setAttr, setText, svg } from './dom.js'
import { rate, seconds } from './format.js'
import { edgeGeometry, layoutKey, layoutTopology, NODE_H, NODE_W, type NodeBox, type TopologyLayout } from './topology-layout.js'

interface NodeElements { g: SVGGElement, rect: SVGRectElement, name: SVGTextElement, state: SVGTextElement, title: SVGTitleElement }
interface EdgeElements { g: SVGGElement, line: SVGLineElement, label: SVGTextElement }
interface Link { from: string, to: string, label: string, kind: 'traffic' | 'replication', idle: boolean }

const isLead = (p: ProcessView): boolean => p.dataRole === 'primary' || p.dataRole === 'leader'

/** Replication links the samples imply: every primary (or HA leader) to the replicas of the same kind. */
function replicationLinks (sample: DashboardSample): Link[] {
  const links: Link[] = []
  const lagOf = new Map(sample.database.map((d) => [d.name, d.lagSeconds]))
  for (const role of ['postgres', 'redis']) {
    const primary = sample.processes.find((p) => p.role === role && isLead(p))
    if (primary === undefined) continue
    for (const replica of sample.processes.filter((p) => p.role === role && p.dataRole === 'replica')) {
      const lag = lagOf.get(replica.name)
      links.push({ from: primary.name, to: replica.name, label: lag === undefined || lag === null ? 'replicates' : `lag ${seconds(lag)} s`, kind: 'replication', idle: false })
    }
  }
  return links
}

const GROUP = 'column-'
const groupBox = (layout: TopologyLayout, name: string): NodeBox | undefined => name.startsWith(GROUP) ? layout.wrapped.get(Number(name.slice(GROUP.length))) : undefined

/**
 * Links with their rates. Links to or from a column that wrapped (many instances) are summed per
 * other end and drawn to the whole group: 32 lines from the gateway would cross every instance.
 */
function summedAtWrappedColumns (layout: TopologyLayout, edges: readonly EdgeView[]): Link[] {
  const sums = new Map<string, { from: string, to: string, perSecond: number, count: number }>()
  const links: Link[] = []
  const endOf = (name: string): string => {
    const column = layout.nodes.get(name)?.column
    return column !== undefined && layout.wrapped.has(column) ? `${GROUP}${column}` : name
  }
  for (const e of edges) {
    const from = endOf(e.from)
    const to = endOf(e.to)
    if (from === e.from && to === e.to) {
      links.push({ from, to, label: `${rate(e.perSecond)}/s`, kind: 'traffic', idle: e.perSecond === 0 })
      continue
    }
    if (from.startsWith(GROUP) && to.startsWith(GROUP)) continue
    const key = `${from}>${to}`
    const sum = sums.get(key) ?? { from, to, perSecond: 0, count: 0 }
    sum.perSecond += e.perSecond
    sum.count++
    sums.set(key, sum)
  }
  for (const s of sums.values()) links.push({ from: s.from, to: s.to, label: `Σ ${rate(s.perSecond)}/s`, kind: 'traffic', idle: s.perSecond === 0 })
  return links
}

/**
 * The topology as a picture (SVG): servers as boxes, processes as nodes with their status and
 * restarts as text, links with their live rates. Elements are keyed by name and updated in place;
 * the layout is computed again only when processes come, go or move.
 */
export class TopologyView {
  readonly #root: SVGSVGElement
  readonly #servers = svg('g', { class: 'servers' })
  readonly #edges = svg('g', { class: 'edges' })
  readonly #nodesLayer = svg('g', { class: 'nodes' })
  readonly #nodes = new Map<string, NodeElements>()
  readonly #edgeElements = new Map<string, EdgeElements>()
  #layout: TopologyLayout | undefined
  #layoutKey = ''

  constructor (container: HTMLElement) {
    // A figure, not an image: its texts (names, states, rates) stay readable to assistive technology.
    this.#root = svg('svg', { role: 'figure', 'aria-label': 'Topology of the stack' })
    this.#root.append(this.#servers, this.#edges, this.#nodesLayer)
    container.append(this.#root)
  }

  render (sample: DashboardSample): void {
    const key = layoutKey(sample.processes)
    if (key !== this.#layoutKey || this.#layout === undefined) {
      this.#layoutKey = key
      this.#relayout(layoutTopology(sample.processes), sample.processes)
    }
    for (const p of sample.processes) this.#updateNode(p)
    this.#renderEdges(sample)
  }

  #relayout (layout: TopologyLayout, processes: readonly ProcessView[]): void {
    this.#layout = layout
    setAttr(this.#root, 'viewBox', `0 0 ${layout.width} ${layout.height}`)
    setAttr(this.#root, 'width', layout.width)
    setAttr(this.#root, 'height', layout.height)
    this.#servers.replaceChildren(...layout.servers.map((s) => {
      const g = svg('g', { class: 'server', 'data-server': s.name })
      const label = svg('text', { x: s.x + 6, y: s.y + 12 })
      label.textContent = s.name
      g.append(svg('rect', { x: s.x, y: s.y, width: s.w, height: s.h, rx: 5 }), label)
      return g
    }))
    const present = new Set(processes.map((p) => p.name))
    for (const [name, node] of this.#nodes) {
      if (!present.has(name)) { node.g.remove(); this.#nodes.delete(name) }
    }
    for (const p of processes) {
      const box = layout.nodes.get(p.name)
      if (box === undefined) continue
      let node = this.#nodes.get(p.name)
      if (node === undefined) {
        node = this.#createNode(p)
        this.#nodes.set(p.name, node)
        this.#nodesLayer.append(node.g)
      }
      setAttr(node.g, 'transform', `translate(${box.x},${box.y})`)
    }
    // Edge positions depend on the layout: let the next pass place them all again.
    for (const edge of this.#edgeElements.values()) edge.g.remove()
    this.#edgeElements.clear()
  }

  #createNode (p: ProcessView): NodeElements {
    const g = svg('g', { class: 'node', 'data-name': p.name, 'data-role': p.role })
    const title = svg('title')
    const rect = svg('rect', { width: NODE_W, height: NODE_H, rx: 4 })
    const name = svg('text', { x: 8, y: 16, class: 'name' })
    const state = svg('text', { x: 8, y: 32, class: 'state' })
    g.append(title, rect, name, state)
    return { g, rect, name, state, title }
  }

  #updateNode (p: ProcessView): void {
    const node = this.#nodes.get(p.name)
    if (node === undefined) return
    setAttr(node.g, 'class', `node ${p.status}${isLead(p) ? ' lead' : ''}`)
    setText(node.name, `${p.name}${isLead(p) ? ` ★ ${p.dataRole ?? ''}` : p.dataRole === null ? '' : ` · ${p.dataRole}`}`)
    setText(node.state, `${p.status} · restarts ${p.restarts}`)
    setText(node.title, `${p.name} (${p.role}) on ${p.server}${p.pid === null ? '' : `, pid ${p.pid}`}${p.detail === null ? '' : `: ${p.detail}`}`)
  }

  #renderEdges (sample: DashboardSample): void {
    const layout = this.#layout
    if (layout === undefined) return
    const links: Link[] = [
      ...summedAtWrappedColumns(layout, sample.edges),
      ...replicationLinks(sample),
    ]
    const seen = new Set<string>()
    for (const link of links) {
      const from = layout.nodes.get(link.from) ?? groupBox(layout, link.from)
      const to = layout.nodes.get(link.to) ?? groupBox(layout, link.to)
      if (from === undefined || to === undefined) continue
      const key = `${link.from}>${link.to}`
      seen.add(key)
      let edge = this.#edgeElements.get(key)
      if (edge === undefined) {
        const g = svg('g', { 'data-from': link.from, 'data-to': link.to })
        const line = svg('line')
        const label = svg('text')
        g.append(line, label)
        edge = { g, line, label }
        this.#edgeElements.set(key, edge)
        this.#edges.append(g)
        const geometry = edgeGeometry(layout, from, to)
        for (const [attr, value] of [['x1', geometry.x1], ['y1', geometry.y1], ['x2', geometry.x2], ['y2', geometry.y2]] as const) line.setAttribute(attr, String(value))
        label.setAttribute('x', String(geometry.lx))
        label.setAttribute('y', String(geometry.ly))
      }
      setAttr(edge.g, 'class', `edge ${link.kind}${link.idle ? ' idle' : ''}`)
      setText(edge.label, link.label)
    }
    for (const [key, edge] of this.#edgeElements) {
      if (!seen.has(key)) { edge.g.remove(); this.#edgeElements.delete(key) }
    }
  }
}
