import { Command, Option } from 'commander'
import { BALANCER_NAMES } from '../config/stack-config.js'
import { isOutgrowError } from '../errors/index.js'
import { isStoppingOnSignal } from '../control/live-stacks.js'
import { DEFAULT_SLO } from '../lab/scenario-metrics.js'
import { fraction, instanceCountList, integer, levelList, positiveNumber, scenarioList } from './options.js'
import { CHAOS_HELP_FOOTER, GATEWAY_HELP_EXAMPLE, UP_HELP_FOOTER, upDefault } from './help-text.js'

/**
 * A command's module is loaded when the command runs: the bench, the stack and the gateway pull in
 * most of Outgrow and its libraries (about 2 s of start-up), which `status` or `--help` never need.
 */
type Handler = (...args: never[]) => unknown
type Action = (...args: unknown[]) => Promise<void>
// Commander passes the arguments, the options and the command the handler declares.
const lazy = (load: () => Promise<Handler>): Action => async (...args) => { await ((await load()) as (...a: unknown[]) => unknown)(...args) }
const control = (name: keyof typeof import('./control.js')): Action => lazy(async () => (await import('./control.js'))[name])
const jobsCommand = (name: keyof typeof import('./jobs.js')): Action => lazy(async () => (await import('./jobs.js'))[name])

const program = new Command()
program.name('outgrow').description('The scaling playbook as running software: one app, every level, measured.')

program.command('up')
  .description('start a stack at a level of the playbook (1 single server … 4 gateway + instances + replica + workers)')
  .option('-c, --config <file>', 'stack config (default: ./outgrow.config.{js,mjs,json}, else the bundled shop)')
  // Defaults are shown in the descriptions, not set on the options: a value set here would
  // override the config file even when the user gave no option.
  .option('-l, --level <n>', `playbook level 1–4 ${upDefault('level')}`, integer(1, 4))
  .option('-p, --port <port>', `public port ${upDefault('port')}`, integer(1, 65_535))
  .option('--host <host>', `public address to bind ${upDefault('host')}`)
  .option('--instances <n>', `app instances ${upDefault('instances')}`, integer(1, 32))
  .option('--replicas <n>', `read replicas ${upDefault('replicas')}`, integer(0, 4))
  .option('--workers <n>', `job worker processes ${upDefault('workers')}`, integer(0, 16))
  .addOption(new Option('--balancer <name>', `gateway balancing ${upDefault('balancer')}`).choices([...BALANCER_NAMES]))
  .option('--gateway-processes <n>', `gateway processes sharing the port (level 4) ${upDefault('gatewayProcesses')}`, integer(1, 64))
  .addOption(new Option('--emulation <mode>', `how servers are emulated ${upDefault('emulation')}`).choices(['auto', 'cgroup', 'taskset', 'none']))
  .option('--cpus <n>', `CPU share of each emulated server, in cores ${upDefault('cpus')}`, positiveNumber)
  .option('--products <n>', `products to seed ${upDefault('products')}`, integer(0, 10_000_000))
  .option('--users <n>', `users to seed ${upDefault('users')}`, integer(0, 1_000_000))
  .option('--data-dir <dir>', 'keep the stack\'s data here (default: .outgrow/ beside the config)')
  .option('--fresh', 'delete the data a previous run kept and start over', false)
  .option('--no-seed', 'create the schema but no demo data')
  // Both forms declared, so that neither sets a default over the config file's `ha`.
  .option('--ha', 'failover at level 4: etcd and an HA agent per PostgreSQL node (synchronous mode), Redis with Sentinel (default: on)')
  .option('--no-ha', 'level 4 without failover: one fixed PostgreSQL primary and its replicas, no etcd, Redis without Sentinel')
  .option('--prometheus', 'also run a Prometheus that scrapes every process (its URL is printed; docs/metrics.md)', false)
  .option('--control-host <host>', 'address of the control API and dashboard (default: 127.0.0.1; its token is required on any address)')
  .option('--control-port <port>', 'port of the control API and dashboard (default: a free one)', integer(0, 65_535))
  .addHelpText('after', UP_HELP_FOOTER)
  .action(lazy(async () => (await import('./up.js')).up))

const target = (command: Command): Command => command
  .option('-c, --config <file>', 'the stack\'s config (its data dir is .outgrow/ beside it)')
  .option('--data-dir <dir>', 'the running stack\'s data dir')

target(program.command('status')
  .description('each process of the running stack: server, pid, address, state, restarts'))
  .option('--json', 'machine-readable')
  .action(control('status'))

target(program.command('scale')
  .description('set instance counts of the running stack, e.g. outgrow scale app=5 worker=2')
  .argument('<name=count...>'))
  .option('--wait', 'return once the stack has converged')
  .action(control('scale'))

target(program.command('apply')
  .description('make the running stack match a config file (scale, replicas, routes, …)')
  .requiredOption('-f, --file <file>', 'config file (JSON or JS module)'))
  .option('--wait', 'return once the stack has converged')
  .action(control('apply'))

target(program.command('switchover')
  .description('planned switchover of an HA database cluster: the leader hands over to --to (default: the best synchronous standby)'))
  .option('--to <node>', 'the node to lead, e.g. postgres-2')
  .option('--cluster <name>', 'the database cluster (default: the first with ha.enabled)')
  .option('--wait', 'return once the new leader holds the key')
  .action(control('switchover'))

target(program.command('kill')
  .description('SIGKILL one process of the running stack, as a crash would; the supervisor starts it again')
  .argument('<process>', 'a process name from outgrow status, e.g. app-2'))
  .action(control('kill'))

target(program.command('restart')
  .description('rolling restart: replace every instance of the named services (default: all), one at a time')
  .argument('[service...]'))
  .option('--wait', 'return once the stack has converged')
  .action(control('restart'))

target(program.command('dashboard').description('print the running stack\'s live dashboard URL (it carries the token that signs the browser in)')).action(control('dashboard'))

target(program.command('down').description('stop the running stack in order (its data is kept)')).action(control('down'))

target(program.command('events').description('the event log: every change, who made it, how it went'))
  .option('--json', 'JSON lines')
  .option('-f, --follow', 'keep printing new events')
  .action(control('events'))

target(program.command('logs').description('the last lines of one process\'s log, or of every process').argument('[name]'))
  .option('-n, --lines <n>', 'lines per process', integer(1, 10_000), 50)
  .action(control('logs'))

const jobs = program.command('jobs').description('the running stack\'s job queues: dead letters, retries, depth (level 4\'s Redis queue)')
target(jobs.command('failed').description('dead letters (jobs that used up their attempts), newest first'))
  .option('--queue <name>', 'one queue (default: every queue)')
  .option('-n, --limit <n>', 'at most this many', integer(1, 10_000), 100)
  .option('--json', 'machine-readable')
  .action(jobsCommand('jobsFailed'))
target(jobs.command('retry').description('run a dead letter again with its full attempts').argument('[id]'))
  .option('--all', 'every dead letter')
  .option('--queue <name>', 'one queue (default: every queue)')
  .action(jobsCommand('jobsRetry'))
target(jobs.command('purge').description('delete dead letters'))
  .option('--older-than <duration>', 'only those that failed at least this long ago, e.g. 30m, 1h, 2d')
  .option('--queue <name>', 'one queue (default: every queue)')
  .action(jobsCommand('jobsPurge'))
target(jobs.command('stats').description('per queue: jobs waiting, active, delayed, failed, and the oldest waiting job\'s age'))
  .option('--json', 'machine-readable')
  .action(jobsCommand('jobsStats'))

target(program.command('chaos')
  .description('inject a fault into the running stack under a checker workload and print a no-loss verdict')
  .argument('<scenario>', 'kill-instance, kill-primary, freeze-primary, kill-redis, kill-etcd-member or kill-worker'))
  .option('--duration <s>', 'seconds of the whole run; the fault comes after a quarter of it (1–5 s)', integer(2, 3600), 20)
  .option('--rate <req/s>', 'operations started per second, orders and reads alternating', integer(1, 10_000), 40)
  .option('--freeze <s>', 'freeze-primary: seconds the node stays stopped', integer(1, 3600), 5)
  .option('--clients <n>', 'virtual clients (seeded users user1…userN), one order in flight each', integer(1, 1000), 16)
  .option('--password <password>', 'password of the seeded users', 'password123')
  .option('--json', 'the report as JSON')
  .addHelpText('after', CHAOS_HELP_FOOTER)
  .action(lazy(async () => (await import('./chaos.js')).chaos))

program.command('gateway')
  .description('run the gateway on its own, in front of any HTTP service')
  .requiredOption('-c, --config <file>', 'gateway config (JSON or JS module)')
  .option('-p, --port <port>', 'listening port', integer(0, 65_535))
  .option('--processes <n>', 'processes sharing the port', integer(1, 64))
  .addHelpText('after', GATEWAY_HELP_EXAMPLE)
  .action(lazy(async () => (await import('./gateway.js')).gateway))

program.command('bench')
  .description('open-model load test of the shop: against --url, level by level with --levels, or autoscaling load shapes with --scenario')
  .option('-c, --config <file>', 'stack config for --levels')
  .option('--levels <list>', 'bring up each level in turn, e.g. 1,2,3,4: find each one\'s capacity (or, with --rate, offer that rate to each) and write a report', levelList)
  .option('--scale-out <list>', 'with --levels: also find the capacity of level 4 with each of these app instance counts, e.g. 1,2,4,8', instanceCountList)
  .option('--url <url>', 'a running stack', 'http://127.0.0.1:8080')
  .option('--rate <n>', 'offered requests per second, a constant arrival rate (default 200 against --url; with --levels: the fixed-rate table instead of the capacity search)', integer(1, 1_000_000))
  .option('--duration <s>', 'measured seconds (fixed rate)', integer(1, 86_400), 30)
  .option('--repeat <n>', 'capacity search: runs per level, each on a fresh stack (median and range reported)', integer(1, 20), 3)
  .option('--step <s>', 'capacity search: measured seconds of a full step, the sustained window', positiveNumber, 10)
  .option('--min-requests <n>', 'capacity search: a full step measures at least this many requests (longer than --step at low rates, up to 60 s)', integer(0, 1_000_000), 1000)
  .option('--ramp-step <s>', 'capacity search: measured seconds of a ramp step', positiveNumber, 5)
  .option('--settle <s>', 'capacity search: seconds at each step\'s rate before it is measured', positiveNumber, 3)
  .option('--start-rate <n>', 'capacity search: first rate of the ramp, req/s', positiveNumber, 50)
  .option('--max-rate <n>', 'capacity search: never offer more, req/s', positiveNumber, 20_000)
  .option('--precision <fraction>', 'capacity search: bisect until the bracket is this narrow', fraction, 0.05)
  .option('--think <s>', 'capacity search: seconds a user thinks between requests, to count active users', positiveNumber, 10)
  .option('--no-diagnose', 'capacity search: skip the knee diagnosis (CPU per server, profile, top statements)')
  .option('--compare <file>', 'capacity search: an earlier capacity.json, shown beside this run')
  .option('--warmup <s>', 'warm-up seconds before measuring', integer(0, 3600), 5)
  .option('--warm-cache <share>', 'capacity search: before measuring, request once the most popular product pages that take this share of product views (0: a cold cache)', fraction, 0.8)
  .option('--users <n>', 'logged-in virtual users', integer(1, 100_000), 50)
  .option('--connections <n>', 'maximum connections', integer(1, 10_000), 256)
  .option('--timeout <ms>', 'per-request timeout', integer(1, 600_000), 10_000)
  .option('--products <n>', 'catalog size (seeded for --levels)', integer(1, 10_000_000))
  .option('--cpus <n>', 'CPU cores per emulated server (--levels)', positiveNumber)
  .addOption(new Option('--emulation <mode>', 'how servers are emulated (--levels)').choices(['auto', 'cgroup', 'taskset', 'none']))
  .option('--password <password>', 'password of the seeded users', 'password123')
  .option('--scenario <list>', 'autoscaling scenarios (step, ramp, spike, wave), comma-separated: Outgrow\'s autoscaler, HPA\'s defaults and a fixed fleet on the same trace; writes <out>/autoscaling.{md,json}', scenarioList)
  .option('--base <rate>', 'the scenarios\' base rate, req/s (default 60)', positiveNumber)
  .option('--lead <s>', 'scenarios: seconds at base before the change', integer(1, 3600))
  .option('--hold <s>', 'scenarios: seconds the changed load lasts (a wave: its period)', integer(1, 3600))
  .option('--tail <s>', 'scenarios: seconds at base after it', integer(0, 3600))
  .addOption(new Option('--metric <kind>', 'metric the scenarios autoscale on').choices(['cpu', 'elu', 'inflight', 'p99']).default('cpu'))
  .option('--target <value>', 'target of --metric (elu and cpu: a fraction; inflight: requests; p99: seconds)', positiveNumber, 0.5)
  .option('--min-instances <n>', 'scenarios: fewest app instances', integer(1, 32), 1)
  .option('--max-instances <n>', 'scenarios: most app instances, and the fixed fleet\'s size', integer(1, 32), 6)
  .option('--slo-ms <ms>', 'p99 objective: of each step of the capacity search, of each second of the scenarios', positiveNumber, DEFAULT_SLO.p99Ms)
  .option('--app-cpus <n>', 'scenarios: CPU cores of each app instance\'s server (default: --cpus)', positiveNumber)
  .option('--capacity <req/s>', 'scenarios: requests per second one instance carries at the target (fitted from the runs by default)', positiveNumber)
  .option('-o, --out <dir>', 'report folder (--levels, --scenario; --url: bench.json and bench.html for a stack of `outgrow up`)', 'reports/latest')
  .action(lazy(async () => (await import('./bench.js')).bench))

program.command('report')
  .description('render the charts and the self-contained HTML page of a bench result again from its JSON, and show them in the Markdown beside it')
  .argument('<json>', 'a report.json, capacity.json or autoscaling result written by `outgrow bench`')
  .option('-o, --out <dir>', 'where the .html and .svg files go (default: beside the JSON)')
  .option('--no-markdown', 'leave the Markdown beside the JSON untouched')
  .action(lazy(async () => (await import('./report.js')).report))

program.parseAsync().catch((err: unknown) => {
  // A bench stopped by a signal fails on its way out; the signal's handler exits once its stacks are down.
  if (isStoppingOnSignal()) return
  if (isOutgrowError(err)) process.stderr.write(`${err.code}: ${err.message}\n`)
  else process.stderr.write(`OUTGROW_INTERNAL: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
