import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { OutgrowError } from '../errors/index.js'
import { identifyReport } from '../lab/report-charts/report-kinds.js'
import { embedCharts, writeChartReport, type WrittenCharts } from '../lab/report-charts/write-report.js'

export interface ReportCliOptions {
  out?: string
  /** false: leave the Markdown beside the JSON as it is. */
  markdown: boolean
}

/**
 * `outgrow report <json>`: the charts and the HTML page of a written bench result, rendered again
 * from its JSON (no bench is run); the Markdown of the same name beside it gets the charts section.
 */
export async function rerenderReport (jsonFile: string, options: ReportCliOptions): Promise<{ charts: WrittenCharts, markdown?: string }> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(jsonFile, 'utf8'))
  } catch (err) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', `report: cannot read ${jsonFile} as JSON: ${(err as Error).message}`, { field: 'report' })
  }
  const charted = identifyReport(json, jsonFile)
  const dir = options.out ?? dirname(jsonFile)
  await mkdir(dir, { recursive: true })
  const stem = basename(jsonFile).replace(/\.json$/, '')
  const charts = await writeChartReport(charted, dir, stem)
  const markdown = join(dirname(jsonFile), `${stem}.md`)
  if (!options.markdown || !existsSync(markdown)) return { charts }
  await embedCharts(markdown, charts)
  return { charts, markdown }
}

export async function report (jsonFile: string, options: ReportCliOptions): Promise<void> {
  const { charts, markdown } = await rerenderReport(jsonFile, options)
  process.stdout.write(`${[charts.html, ...charts.svgs.map((s) => s.file), ...(markdown === undefined ? [] : [`${markdown} (charts section)`])].join('\n')}\n`)
}
