import type { RenderedFigure } from '../charts/figure.js'

/** A table of the report's headline numbers, shown above the charts. */
export interface SummaryTable {
  readonly header: readonly string[]
  readonly rows: ReadonlyArray<readonly string[]>
}

export interface HtmlReport {
  readonly title: string
  /** Short paragraphs: when and how it was measured, on what. */
  readonly facts: readonly string[]
  readonly summary: SummaryTable
  readonly figures: readonly RenderedFigure[]
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

/**
 * The SVG element alone (a prolog or doctype does not belong inside HTML), its ids prefixed: every
 * chart numbers its clip paths from 1, and in one page ids must not collide.
 */
function inlineSvg (svg: string, prefix: string): string {
  const start = svg.indexOf('<svg')
  if (start < 0) return ''
  return svg.slice(start)
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`)
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}p{line-height:1.45}
table{border-collapse:collapse;font-size:.9rem;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1.5rem 0}figcaption{color:#555;font-size:.9rem;max-width:40rem}
svg{max-width:100%;height:auto}`

/**
 * One HTML file that opens anywhere, offline: styles inline, every chart an inline SVG, no
 * scripts, fonts or images to fetch.
 */
export function renderHtmlReport (report: HtmlReport): string {
  const numeric = (cell: string): boolean => /^[-+]?[\d.,]+( \(.*\))?( ?[%×x])?$/.test(cell.trim())
  const table = [
    '<table>',
    `<thead><tr>${report.summary.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${report.summary.rows.map((row) => `<tr>${row.map((cell) => `<td${numeric(cell) ? ' class="n"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('\n')
  const figures = report.figures.map(({ figure, svg }) => [
    `<figure id="${escapeHtml(figure.name)}">`,
    inlineSvg(svg, `chart-${figure.name}`),
    figure.caption === undefined ? '' : `<figcaption>${escapeHtml(figure.caption)}</figcaption>`,
    '</figure>',
  ].join('\n'))
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
${report.facts.map((f) => `<p>${escapeHtml(f)}</p>`).join('\n')}
${table}
${figures.join('\n')}
</body>
</html>
`
}
