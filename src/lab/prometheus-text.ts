/** Sample lines of the Prometheus text format as { name, labels, value }. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheusText (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = LINE.exec(line)
    if (match === null) continue
    const labels: Record<string, string> = {}
    for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, '$1')
    const value = Number(match[3])
    if (!Number.isNaN(value)) samples.push({ name: match[1] as string, labels, value })
  }
  return samples
}

/** Sum of a metric's samples whose labels include every given label. */
export function sumSamples (samples: readonly Sample[], name: string, where: Readonly<Record<string, string>> = {}): number {
  let total = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value
  }
  return total
}

/**
 * `url` with a `name[]=` selection of metric families: an app process then collects and sends
 * only those. A process that does not know the selection sends every family, which reads the same.
 */
export function selectingFamilies (url: string, families: readonly string[]): string {
  const selected = new URL(url)
  for (const family of families) selected.searchParams.append('name[]', family)
  return selected.toString()
}
