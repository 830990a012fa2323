/** The dashboard's styles: system font, light theme, status colours that always come with text. */
export const DASHBOARD_CSS = `
:root {
  --fg: #1d2330; --muted: #5c6675; --line: #d9dee6; --bg: #f6f7f9; --panel: #fff;
  --ok: #1e7b3c; --ok-bg: #e6f4ea; --warn: #8a5a00; --warn-bg: #fff4d6;
  --bad: #b3261e; --bad-bg: #fde7e6; --idle: #5c6675; --idle-bg: #eef0f3; --accent: #2457c5;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.top { display: flex; align-items: baseline; gap: 16px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
.top h1 { font-size: 18px; margin: 0; }
.connection { margin-left: auto; padding: 2px 10px; border-radius: 10px; font-weight: 600; }
.connection.live { color: var(--ok); background: var(--ok-bg); }
.connection.connecting, .connection.disconnected { color: var(--bad); background: var(--bad-bg); }
main { padding: 12px 20px 40px; display: grid; gap: 12px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 0; }
.panel h2 { font-size: 15px; margin: 0 0 8px; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
.muted { color: var(--muted); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; }
.actions h2 { margin: 0; }
.actions form { display: flex; align-items: center; gap: 6px; margin: 0; }
.actions input[type=number] { width: 64px; }
#action-result { flex-basis: 100%; margin: 0; }
#action-result.failed { color: var(--bad); }
#action-result.ok { color: var(--ok); }
button { font: inherit; padding: 2px 10px; border: 1px solid #aab3c0; border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { background: var(--idle-bg); }
select, input { font: inherit; }
table.numbers { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.numbers th:first-child, table.numbers td:first-child, table.numbers td.status { text-align: left; }
table.numbers th { font-weight: 600; color: var(--muted); }
.status-healthy { color: var(--ok); }
.status-starting, .status-restarting, .status-draining, .status-stopping { color: var(--warn); }
.status-ejected, .status-dead { color: var(--bad); }
.topology { overflow-x: auto; }
.topology svg { display: block; font: 12px system-ui, sans-serif; }
.topology .server rect { fill: #fafbfc; stroke: var(--line); }
.topology .server text { fill: var(--muted); font-size: 11px; }
.topology .node rect { stroke-width: 1.5; }
.topology .node .name { font-weight: 600; fill: var(--fg); }
.topology .node .state { font-size: 11px; }
.topology .node.healthy rect { fill: var(--ok-bg); stroke: var(--ok); }
.topology .node.healthy .state { fill: var(--ok); }
.topology .node.starting rect, .topology .node.restarting rect, .topology .node.draining rect, .topology .node.stopping rect { fill: var(--warn-bg); stroke: #c98a00; }
.topology .node.starting .state, .topology .node.restarting .state, .topology .node.draining .state, .topology .node.stopping .state { fill: var(--warn); }
.topology .node.ejected rect, .topology .node.dead rect { fill: var(--bad-bg); stroke: var(--bad); }
.topology .node.ejected .state, .topology .node.dead .state { fill: var(--bad); }
.topology .node.lead rect { stroke-width: 3; }
.topology .edge line { stroke: #9aa5b5; stroke-width: 1.2; }
.topology .edge.idle line { stroke-dasharray: 3 3; }
.topology .edge.replication line { stroke: var(--accent); stroke-dasharray: 6 3; }
.topology .edge text { fill: var(--fg); font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.chart h3 { font-size: 13px; margin: 0 0 2px; font-weight: 600; }
.chart .u-legend { font-size: 11px; }
.legend-note { margin: 0 0 8px; }
.mark-event { border-bottom: 2px dashed #8c96a5; }
.mark-autoscale { border-bottom: 2px dashed var(--accent); }
.mark-failure { border-bottom: 2px dashed var(--bad); }
ol.log { list-style: none; margin: 0; padding: 0; max-height: 320px; overflow-y: auto; font-size: 13px; }
ol.log li { padding: 3px 0; border-bottom: 1px solid var(--line); }
ol.log time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 6px; }
ol.log .result-failed, ol.log .result-refused { color: var(--bad); }
ol.log .result-ok { color: var(--ok); }
`
