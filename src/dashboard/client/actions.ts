import type { DashboardHello, ProcessView } from '../sample.js'
import { byId, el, setAttr, setText } from './dom.js'

function setValue (input: HTMLInputElement, value: string): void {
  if (input.value !== value) input.value = value
}

/** Calls the control API as the dashboard (same origin, the dashboard's cookie). */
async function post (path: string, body: unknown): Promise<string> {
  let res: Response
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-outgrow-actor': 'dashboard' },
      body: JSON.stringify(body),
    })
  } catch (err) {
    throw new Error(`the supervisor does not answer (${(err as Error).message})`)
  }
  const text = await res.text()
  if (res.ok) return 'accepted'
  let message = `HTTP ${res.status}`
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string, message?: string } }
    if (parsed.error?.message !== undefined) message = `${parsed.error.message}${parsed.error.code === undefined ? '' : ` (${parsed.error.code})`}`
  } catch {}
  throw new Error(message)
}

/**
 * The page's actions, each through the control API, each telling its outcome as text: scale a
 * service, kill an instance, rolling restart, start a chaos scenario. What they cause shows up in
 * the event log by itself.
 */
export class Actions {
  readonly #result = byId('action-result')
  readonly #service = byId<HTMLSelectElement>('scale-service')
  readonly #count = byId<HTMLInputElement>('scale-count')
  readonly #scenario = byId<HTMLSelectElement>('chaos-scenario')
  #counts = new Map<string, number>()
  /** The person typed a count not sent yet: samples leave it alone. */
  #edited = false

  constructor () {
    byId<HTMLFormElement>('scale-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const service = this.#service.value
      const n = Number(this.#count.value)
      this.#edited = false
      void this.#run(`scale ${service} to ${n}`, '/v1/scale', { targets: { [service]: n } }).then((ok) => { if (ok) this.#counts.set(service, n) })
    })
    byId<HTMLFormElement>('restart-form').addEventListener('submit', (e) => {
      e.preventDefault()
      void this.#run('rolling restart', '/v1/rolling-restart', {})
    })
    byId<HTMLFormElement>('chaos-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const scenario = this.#scenario.value
      void this.#run(`chaos ${scenario}`, '/v1/chaos', { scenario })
    })
    this.#service.addEventListener('change', () => { this.#edited = false; this.#count.value = String(this.#counts.get(this.#service.value) ?? 1) })
    this.#count.addEventListener('input', () => { this.#edited = true })
  }

  /** Keeps the count next to the select current when the autoscaler or the CLI scaled (copies are named `<group>-<n>`). */
  observe (processes: readonly ProcessView[]): void {
    for (const name of this.#counts.keys()) {
      const copy = new RegExp(`^${name.replace(/[^\w-]/g, '')}-\\d+$`)
      this.#counts.set(name, processes.filter((p) => copy.test(p.name) && p.status !== 'stopping' && p.status !== 'draining').length)
    }
    if (!this.#edited) setValue(this.#count, String(this.#counts.get(this.#service.value) ?? 1))
  }

  /** Fills the selects from the hello (services and their counts, chaos scenarios). */
  reset (hello: DashboardHello): void {
    const selected = this.#service.value
    this.#counts = new Map(hello.services.map((s) => [s.name, s.replicas]))
    this.#service.replaceChildren(...hello.services.map((s) => el('option', { value: s.name }, s.name)))
    if (hello.services.some((s) => s.name === selected)) this.#service.value = selected
    this.#count.value = String(this.#counts.get(this.#service.value) ?? 1)
    const scenario = this.#scenario.value
    this.#scenario.replaceChildren(...hello.scenarios.map((s) => el('option', { value: s }, s)))
    if (hello.scenarios.includes(scenario)) this.#scenario.value = scenario
  }

  kill (name: string, button: HTMLButtonElement): void {
    button.disabled = true
    void this.#run(`kill ${name}`, `/v1/processes/${encodeURIComponent(name)}/kill`, {}).finally(() => { button.disabled = false })
  }

  async #run (what: string, path: string, body: unknown): Promise<boolean> {
    setAttr(this.#result, 'class', 'muted')
    setText(this.#result, `${what}: sending…`)
    try {
      const outcome = await post(path, body)
      setAttr(this.#result, 'class', 'ok')
      setText(this.#result, `${what}: ${outcome}`)
      return true
    } catch (err) {
      setAttr(this.#result, 'class', 'failed')
      setText(this.#result, `${what}: failed — ${(err as Error).message}`)
      return false
    }
  }
}
