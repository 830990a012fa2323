import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'

/**
 * Hosts for multi-host tests, built from Linux network namespaces: one namespace per host with an
 * `eth0` (10.77.0.N/24), every host's veth peer on one bridge in a namespace of its own (the
 * switch), so nothing is added to the namespace the test runs in. Needs root and iproute2.
 * Everything is named with a random tag and deleted by `destroy()` — also on process exit, so a
 * failing test leaves no namespace behind. Faults use iproute2 and signals only.
 */

const MAX_HOSTS = 8
const live = new Set<Network>()
process.once('exit', () => { for (const n of live) n.destroySync() })
// A test runner stopping the file (time-out, Ctrl-C) sends a signal: clean up, then exit as the signal would.
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  process.once(signal, () => {
    for (const n of live) n.destroySync()
    process.exit(code)
  })
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
}

/** Whether this process may build namespaces (root, iproute2 with netns support). */
export function namespacesAvailable (): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

export interface Host {
  readonly name: string
  /** Its address on the bridge. */
  readonly ip: string
  readonly netns: string
  /** The switch-side end of its link (in the switch namespace). */
  readonly port: string
}

export interface HostProcess {
  readonly child: ChildProcess
  /** Lines the process printed on stdout, as they come. */
  readonly lines: string[]
  /** Resolves with the first stdout line that matches. */
  waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string>
}

export class Network {
  readonly hosts = new Map<string, Host>()
  readonly #tag: string
  readonly #switch: string
  readonly #namespaces: string[] = []
  readonly #children = new Set<ChildProcess>()
  #destroyed = false

  private constructor (tag: string) {
    this.#tag = tag
    this.#switch = `${tag}-sw`
  }

  /** Builds the switch and one host per name; on any failure, removes what it made and throws. */
  static create (names: readonly string[]): Network {
    if (names.length > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts`)
    const network = new Network(`og${randomBytes(3).toString('hex')}`)
    live.add(network)
    try {
      network.#build(names)
    } catch (err) {
      network.destroySync()
      throw err
    }
    return network
  }

  #build (names: readonly string[]): void {
    const sw = this.#switch
    ip('netns', 'add', sw)
    this.#namespaces.push(sw)
    ip('-n', sw, 'link', 'set', 'lo', 'up')
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', sw, 'link', 'set', 'br0', 'up')
    names.forEach((name, i) => {
      const netns = `${this.#tag}-${name}`
      const port = `p${i}`
      ip('netns', 'add', netns)
      this.#namespaces.push(netns)
      ip('-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns)
      ip('-n', sw, 'link', 'set', port, 'master', 'br0')
      ip('-n', sw, 'link', 'set', port, 'up')
      const address = `10.77.0.${i + 1}`
      ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
      ip('-n', netns, 'link', 'set', 'eth0', 'up')
      ip('-n', netns, 'link', 'set', 'lo', 'up')
      this.hosts.set(name, { name, ip: address, netns, port })
    })
  }

  host (name: string): Host {
    const host = this.hosts.get(name)
    if (host === undefined) throw new Error(`no host ${name}`)
    return host
  }

  /** Runs `node script args…` on a host; killed by destroy() if still running. */
  run (name: string, script: string, args: readonly string[] = []): HostProcess {
    return this.exec(name, [process.execPath, script, ...args])
  }

  /** Runs a program on a host; killed by destroy() if still running. */
  exec (name: string, argv: readonly string[]): HostProcess {
    const script = argv[1] ?? argv[0] ?? ''
    const child = spawn('ip', ['netns', 'exec', this.host(name).netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    const lines: string[] = []
    const waiters: Array<{ match: (line: string) => boolean, resolve: (line: string) => void }> = []
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line)
      for (const w of [...waiters]) {
        if (!w.match(line)) continue
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
    const waitFor = async (match: (line: string) => boolean, timeoutMs: number): Promise<string> => {
      const seen = lines.find(match)
      if (seen !== undefined) return seen
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`${script} on ${name}: no such line within ${timeoutMs} ms; stderr: ${stderr}`)) }, timeoutMs)
        waiters.push({ match, resolve: (line) => { clearTimeout(timer); resolve(line) } })
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} on ${name} exited (${String(code)}); stderr: ${stderr}`)) })
      })
    }
    return { child, lines, waitFor }
  }

  // Faults. Each has its undo; none sends a reset: packets just stop (or stop being answered).

  /** The host's link goes down at the switch: a silent partition from everyone. */
  linkDown (name: string): void { ip('-n', this.#switch, 'link', 'set', this.host(name).port, 'down') }
  linkUp (name: string): void { ip('-n', this.#switch, 'link', 'set', this.host(name).port, 'up') }

  /** The host's port leaves the bridge (the cable pulled from the switch); its link stays up. */
  detach (name: string): void { ip('-n', this.#switch, 'link', 'set', this.host(name).port, 'nomaster') }
  attach (name: string): void { ip('-n', this.#switch, 'link', 'set', this.host(name).port, 'master', 'br0') }

  /** Isolated bridge ports reach only non-isolated ones: isolating two hosts partitions them from each other alone. */
  isolate (name: string, on = true): void {
    ip('-n', this.#switch, 'link', 'set', 'dev', this.host(name).port, 'type', 'bridge_slave', 'isolated', on ? 'on' : 'off')
  }

  /** SIGSTOP: the kernel still accepts connections, the process answers nothing. */
  static freeze (process_: HostProcess): void { process_.child.kill('SIGSTOP') }
  static thaw (process_: HostProcess): void { process_.child.kill('SIGCONT') }

  /** Stops what it started and deletes its namespaces (and with them every link). */
  async destroy (): Promise<void> {
    await Promise.all([...this.#children].map(async (child) => await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
      child.once('exit', () => { resolve() })
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    })))
    this.destroySync()
  }

  destroySync (): void {
    if (this.#destroyed) return
    this.#destroyed = true
    live.delete(this)
    for (const child of this.#children) { child.kill('SIGCONT'); child.kill('SIGKILL') }
    for (const netns of this.#namespaces.reverse()) {
      try { ip('netns', 'del', netns) } catch { /* already gone */ }
    }
  }
}
