/** Small DOM helpers for the dashboard's script: create elements, change text only when it differs. */

export function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value)
  if (text !== undefined) node.textContent = text
  return node
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svg<K extends keyof SVGElementTagNameMap> (tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value))
  return node
}

/** Writing the same text again would still cost layout work with 32 rows updated every second. */
export function setText (node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text
}

export function setAttr (node: Element, name: string, value: string | number): void {
  const text = String(value)
  if (node.getAttribute(name) !== text) node.setAttribute(name, text)
}

export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`the page has no #${id}`)
  return node as T
}

/** Names with numbers in natural order: app-2 before app-10. */
export const naturalOrder = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true })
