import { readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import { renderFigures } from '../charts/render-svg.js'
import { renderHtmlReport } from './html-report.js'
import { reportCharts, type ChartedReport } from './report-kinds.js'

const START = '<!-- charts: rendered from the JSON beside this file by `outgrow report`; do not edit by hand -->'
const END = '<!-- /charts -->'

export interface WrittenCharts {
  readonly html: string
  /** Each chart's SVG file, in the order the report shows them. */
  readonly svgs: ReadonlyArray<{ readonly file: string, readonly title: string }>
}

/**
 * Writes `<stem>.html` (self-contained) and `<stem>-<chart>.svg` for each chart into `dir`; the
 * stem is the JSON's file name without `.json`, so a report's files sit together.
 */
export async function writeChartReport (charted: ChartedReport, dir: string, stem: string): Promise<WrittenCharts> {
  const charts = reportCharts(charted)
  const rendered = await renderFigures(charts.figures)
  const svgs: Array<{ file: string, title: string }> = []
  for (const { figure, svg } of rendered) {
    const file = join(dir, `${stem}-${figure.name}.svg`)
    await writeFile(file, svg)
    svgs.push({ file, title: figure.title })
  }
  const html = join(dir, `${stem}.html`)
  await writeFile(html, renderHtmlReport({ title: charts.title, facts: charts.facts, summary: charts.summary, figures: rendered }))
  return { html, svgs }
}

/** The Markdown section that shows the charts, image paths relative to the Markdown file. */
export function chartsSection (charts: WrittenCharts, markdownDir: string): string {
  const link = (file: string): string => relative(markdownDir, file).split('\\').join('/')
  return [
    START,
    '## Charts',
    '',
    `Also as one page: [${basename(charts.html)}](${link(charts.html)}) (self-contained, opens offline).`,
    '',
    ...charts.svgs.map((s) => `![${s.title.replace(/[[\]]/g, '')}](${link(s.file)})\n`),
    END,
  ].join('\n')
}

/** Puts the charts section into a Markdown report: in place of an earlier one, else at the end. */
export async function embedCharts (markdownFile: string, charts: WrittenCharts): Promise<void> {
  const markdown = await readFile(markdownFile, 'utf8')
  const section = chartsSection(charts, dirname(markdownFile))
  const start = markdown.indexOf(START)
  const end = markdown.indexOf(END)
  const next = start >= 0 && end > start
    ? `${markdown.slice(0, start)}${section}${markdown.slice(end + END.length)}`
    : `${markdown.trimEnd()}\n\n${section}\n`
  await writeFile(markdownFile, next)
}

/** After a bench wrote `<stem>.md` and `<stem>.json`: the charts and the HTML page beside them, the Markdown showing the charts. */
export async function writeChartsBeside (charted: ChartedReport, markdownFile: string): Promise<string> {
  const charts = await writeChartReport(charted, dirname(markdownFile), basename(markdownFile).replace(/\.md$/, ''))
  await embedCharts(markdownFile, charts)
  return charts.html
}
