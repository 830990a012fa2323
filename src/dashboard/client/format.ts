/** How the dashboard writes numbers: short, with their unit, a dash where unknown. */

const DASH = '–'

export function rate (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  if (n >= 100) return n.toFixed(0)
  if (n >= 10) return n.toFixed(1)
  return n.toFixed(2).replace(/\.?0+$/, '') || '0'
}

export function ms (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  return n >= 100 ? n.toFixed(0) : n.toFixed(1)
}

export function percent (fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH
  return `${(fraction * 100).toFixed(0)}%`
}

export function bytes (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`
  return `${n.toFixed(0)} B`
}

export function seconds (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  return n >= 10 ? n.toFixed(0) : n.toFixed(2)
}

export function clock (ms: number): string {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((p) => String(p).padStart(2, '0')).join(':')
}
