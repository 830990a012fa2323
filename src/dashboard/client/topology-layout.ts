import type { ProcessView } from '../sample.js'
import { naturalOrder } from './dom.js'

/**
 * Where the topology picture puts each emulated server and its processes: columns in the order a
 * request flows (gateway → app instances and workers → data stores → their coordinators), each
 * server a box holding its processes, a column wrapping into more when it grows tall (32 instances).
 */

export const NODE_W = 204
export const NODE_H = 40
const PAD = 6
const HEADER = 16
const NODE_GAP = 6
const SERVER_GAP = 10
const SUB_COLUMN_GAP = 14
const COLUMN_GAP = 110
const MAX_COLUMN_H = 560
const MARGIN = 10

const ROLE_ORDER = ['gateway', 'app', 'worker', 'redis', 'postgres', 'pooler', 'sentinel', 'consensus']
const COLUMN_OF_ROLE: Record<string, number> = { gateway: 0, app: 1, worker: 1, redis: 2, postgres: 2, pooler: 2, sentinel: 3, consensus: 3 }

const roleRank = (role: string): number => {
  const i = ROLE_ORDER.indexOf(role)
  return i === -1 ? ROLE_ORDER.length : i
}
const columnOf = (role: string): number => COLUMN_OF_ROLE[role] ?? 2

export interface Box { readonly x: number, readonly y: number, readonly w: number, readonly h: number }
export interface ServerBox extends Box { readonly name: string }
export interface NodeBox extends Box { readonly name: string, readonly column: number }

export interface TopologyLayout {
  readonly width: number
  readonly height: number
  readonly servers: readonly ServerBox[]
  readonly nodes: ReadonlyMap<string, NodeBox>
  /** Nodes per column, to place edge labels where the lines fan out. */
  readonly columnSizes: readonly number[]
  /** Columns that wrapped into several, with their bounds: their links are drawn summed, to and from the whole group. */
  readonly wrapped: ReadonlyMap<number, NodeBox>
}

/** What the layout depends on: a page lays out again only when this changes. */
export function layoutKey (processes: readonly ProcessView[]): string {
  return processes.map((p) => `${p.server}/${p.name}/${p.role}`).sort().join(',')
}

export function layoutTopology (processes: readonly ProcessView[]): TopologyLayout {
  const byServer = new Map<string, ProcessView[]>()
  for (const p of processes) {
    const list = byServer.get(p.server) ?? []
    list.push(p)
    byServer.set(p.server, list)
  }
  const servers = [...byServer.entries()].map(([name, list]) => {
    list.sort((a, b) => roleRank(a.role) - roleRank(b.role) || naturalOrder(a.name, b.name))
    const rank = Math.min(...list.map((p) => roleRank(p.role)))
    const column = Math.min(...list.map((p) => columnOf(p.role)))
    return { name, list, rank, column }
  })
  servers.sort((a, b) => a.rank - b.rank || naturalOrder(a.list[0]?.name ?? a.name, b.list[0]?.name ?? b.name))

  const serverBoxes: Array<ServerBox & { column: number }> = []
  const nodeBoxes: NodeBox[] = []
  const columnSizes: number[] = []
  let x = MARGIN
  let height = 0
  const columns = [...new Set(servers.map((s) => s.column))].sort((a, b) => a - b)
  for (const [columnIndex, column] of columns.entries()) {
    let y = MARGIN
    let subX = x
    for (const server of servers.filter((s) => s.column === column)) {
      const h = HEADER + server.list.length * (NODE_H + NODE_GAP) - NODE_GAP + 2 * PAD
      if (y > MARGIN && y + h > MAX_COLUMN_H) {
        subX += NODE_W + 2 * PAD + SUB_COLUMN_GAP
        y = MARGIN
      }
      serverBoxes.push({ name: server.name, column: columnIndex, x: subX, y, w: NODE_W + 2 * PAD, h })
      for (const [i, p] of server.list.entries()) {
        nodeBoxes.push({ name: p.name, column: columnIndex, x: subX + PAD, y: y + HEADER + PAD + i * (NODE_H + NODE_GAP), w: NODE_W, h: NODE_H })
      }
      columnSizes[columnIndex] = (columnSizes[columnIndex] ?? 0) + server.list.length
      y += h + SERVER_GAP
      height = Math.max(height, y)
    }
    x = subX + NODE_W + 2 * PAD + COLUMN_GAP
  }
  // Each column centred on the tallest, so a lone gateway fans out to its instances evenly.
  const shift = columnSizes.map((_, column) => {
    const bottom = Math.max(...serverBoxes.filter((b) => b.column === column).map((b) => b.y + b.h))
    return Math.floor((height - SERVER_GAP - bottom) / 2)
  })
  const nodes = new Map(nodeBoxes.map((n) => [n.name, { ...n, y: n.y + (shift[n.column] ?? 0) }]))
  const wrapped = new Map<number, NodeBox>()
  for (const column of columnSizes.keys()) {
    const boxes = [...nodes.values()].filter((n) => n.column === column)
    const left = Math.min(...boxes.map((b) => b.x))
    const right = Math.max(...boxes.map((b) => b.x + b.w))
    if (right - left <= NODE_W) continue
    const top = Math.min(...boxes.map((b) => b.y))
    wrapped.set(column, { name: `column-${column}`, column, x: left, y: top, w: right - left, h: Math.max(...boxes.map((b) => b.y + b.h)) - top })
  }
  return {
    // Room on the right for the labels of links inside the last column.
    width: x - COLUMN_GAP + MARGIN + 60,
    height: height + MARGIN,
    servers: serverBoxes.map(({ column, ...b }) => ({ ...b, y: b.y + (shift[column] ?? 0) })),
    nodes,
    columnSizes,
    wrapped,
  }
}

export interface EdgeGeometry { readonly x1: number, readonly y1: number, readonly x2: number, readonly y2: number, readonly lx: number, readonly ly: number }

/** A line between two nodes, its label nearer the end where lines fan out so labels spread. */
export function edgeGeometry (layout: TopologyLayout, from: NodeBox, to: NodeBox): EdgeGeometry {
  if (from.column === to.column) {
    // Same column (a primary and its replica): down the right-hand side, label beside it.
    const x = Math.max(from.x, to.x) + from.w - 24
    const [y1, y2] = from.y < to.y ? [from.y + from.h, to.y] : [from.y, to.y + to.h]
    return { x1: x, y1, x2: x, y2, lx: x + 4, ly: (y1 + y2) / 2 + 4 }
  }
  const forward = from.x < to.x
  const x1 = forward ? from.x + from.w : from.x
  const x2 = forward ? to.x : to.x + to.w
  const y1 = from.y + from.h / 2
  const y2 = to.y + to.h / 2
  const isGroup = (box: NodeBox): boolean => layout.wrapped.get(box.column) === box
  const fanOutAtTarget = (layout.columnSizes[to.column] ?? 0) >= (layout.columnSizes[from.column] ?? 0)
  const t = isGroup(from) || isGroup(to) ? 0.3 : fanOutAtTarget ? 0.72 : 0.28
  return { x1, y1, x2, y2, lx: x1 + (x2 - x1) * t, ly: y1 + (y2 - y1) * t - 3 }
}
