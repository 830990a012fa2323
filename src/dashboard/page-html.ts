/**
 * The dashboard's one page. Its regions are filled in by the script (client/main.ts); the import
 * map lets the script import the chart library by its package name, served locally.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outgrow dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/uPlot.min.css">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script type="importmap">{ "imports": { "uplot": "/dashboard/assets/uPlot.esm.js" } }</script>
<script type="module" src="/dashboard/assets/client/main.js"></script>
</head>
<body>
<header class="top">
  <h1>Outgrow</h1>
  <span id="stack-summary" class="muted">connecting…</span>
  <span id="connection" role="status" class="connection connecting">Connecting…</span>
</header>
<main>
  <section aria-labelledby="actions-title" class="panel actions">
    <h2 id="actions-title">Actions</h2>
    <form id="scale-form">
      <label for="scale-service">Scale service</label>
      <select id="scale-service" name="service"></select>
      <span>to</span>
      <input id="scale-count" name="count" type="number" min="0" max="256" value="1" required aria-label="Instance count">
      <button type="submit">Scale</button>
    </form>
    <form id="restart-form"><button type="submit">Rolling restart</button></form>
    <form id="chaos-form">
      <label for="chaos-scenario">Chaos scenario</label>
      <select id="chaos-scenario" name="scenario"></select>
      <button type="submit">Start scenario</button>
    </form>
    <p id="action-result" role="status" aria-live="polite" class="muted">No action yet.</p>
  </section>

  <section aria-labelledby="topology-title" class="panel">
    <h2 id="topology-title">Topology</h2>
    <p id="topology-summary" class="muted"></p>
    <div id="topology" class="topology"></div>
  </section>

  <section aria-labelledby="instances-title" class="panel">
    <h2 id="instances-title">Instances</h2>
    <table id="instances" class="numbers">
      <thead><tr><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Requests/s</th><th scope="col">p50 ms</th><th scope="col">p99 ms</th><th scope="col">Errors/s</th><th scope="col">Server CPU</th><th scope="col">ELU</th><th scope="col">In flight</th><th scope="col">Restarts</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section aria-labelledby="charts-title" class="panel">
    <h2 id="charts-title">Charts</h2>
    <p class="muted legend-note">Dashed lines mark events: <span class="mark-event">stack events</span>, <span class="mark-autoscale">autoscaler decisions</span>, <span class="mark-failure">failures</span>.</p>
    <div id="charts" class="charts"></div>
  </section>

  <div class="columns">
    <section aria-labelledby="database-title" class="panel">
      <h2 id="database-title">Database</h2>
      <table id="database" class="numbers">
        <thead><tr><th scope="col">Node</th><th scope="col">Role</th><th scope="col">Queries/s</th><th scope="col">Connections</th><th scope="col">Lag bytes</th><th scope="col">Lag s</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
    <section aria-labelledby="jobs-title" class="panel">
      <h2 id="jobs-title">Cache and jobs</h2>
      <p id="cache-summary" class="muted"></p>
      <p id="jobs-summary" class="muted"></p>
      <table id="queues" class="numbers">
        <thead><tr><th scope="col">Queue</th><th scope="col">Waiting</th><th scope="col">Active</th><th scope="col">Delayed</th><th scope="col">Failed</th><th scope="col">Oldest s</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
  </div>

  <div class="columns">
    <section aria-labelledby="events-title" class="panel">
      <h2 id="events-title">Event log</h2>
      <ol id="events" class="log" reversed></ol>
    </section>
    <section aria-labelledby="autoscaler-title" class="panel">
      <h2 id="autoscaler-title">Autoscaler decisions</h2>
      <p id="autoscaler-last" class="muted">No evaluation yet.</p>
      <ol id="autoscaler" class="log" reversed></ol>
    </section>
  </div>
</main>
</body>
</html>
`
