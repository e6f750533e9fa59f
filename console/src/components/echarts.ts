// ECharts, tree-shaken: only the charts and components the console draws are registered, so a page
// that shows a chart carries ECharts' core and these parts, nothing more (and only in its lazy chunk).
// Tooltips are drawn on the canvas (renderMode 'richText'): ECharts' HTML tooltips carry inline
// style attributes, which the console's strict CSP (style-src 'self') forbids.
import { BarChart, LineChart, PieChart } from 'echarts/charts'
import type { BarSeriesOption, LineSeriesOption, PieSeriesOption } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components'
import { init, use } from 'echarts/core'
import type { ComposeOption, EChartsType } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer])

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | PieSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption
>

export function createChart(el: HTMLElement, theme?: 'dark'): EChartsType {
  return init(el, theme, { renderer: 'canvas' })
}

/** The option as drawn: tooltips on the canvas (see above). */
export function cspSafe(option: ChartOption): ChartOption {
  const tooltip = option.tooltip
  if (!tooltip || Array.isArray(tooltip)) return option
  return { ...option, tooltip: { ...(tooltip as TooltipComponentOption), renderMode: 'richText' } }
}

/** A rate (0–1) as a percentage for an axis or a label. */
export function percent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(digits)}%`
}
