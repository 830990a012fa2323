import * as vega from 'vega'
import { compile } from 'vega-lite'
import type { Figure, RenderedFigure } from './figure.js'
import { vegaLiteSpec } from './vega-specs.js'

/**
 * A figure as an SVG document, rendered in this process: Vega's scenegraph written as SVG by its
 * headless renderer (no browser, no canvas; text widths are estimated). Nothing is fetched: every
 * figure carries its data inline, and the loader refuses any URL.
 */
export async function renderSvg (figure: Figure): Promise<string> {
  const spec = compile(vegaLiteSpec(figure)).spec
  const refuse = async (): Promise<never> => { throw new Error('a report chart loads nothing') }
  const loader = { ...vega.loader(), load: refuse, sanitize: refuse, http: refuse, file: refuse }
  const view = new vega.View(vega.parse(spec), { renderer: 'none', loader: loader as unknown as ReturnType<typeof vega.loader> })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Renders figures one after another (each is quick; in parallel they would only compete for the same core). */
export async function renderFigures (figures: readonly Figure[]): Promise<RenderedFigure[]> {
  const rendered: RenderedFigure[] = []
  for (const figure of figures) rendered.push({ figure, svg: await renderSvg(figure) })
  return rendered
}
