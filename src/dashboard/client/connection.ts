import type { AutoscaleRecord } from '../../control/autoscaler/controller.js'
import type { StackEvent } from '../../control/event-log.js'
import type { DashboardHello, DashboardSample } from '../sample.js'
import { setAttr, setText } from './dom.js'

export interface StreamHandlers {
  readonly hello: (hello: DashboardHello) => void
  readonly sample: (sample: DashboardSample) => void
  readonly stackEvent: (event: StackEvent) => void
  readonly autoscale: (record: AutoscaleRecord) => void
}

/** EventSource gives up after a refusal (e.g. a restarted supervisor's 401): try again after this. */
const REOPEN_MS = 3000

/**
 * The dashboard's Server-Sent Events stream. EventSource reconnects by itself after a dropped
 * connection; the page says visibly when it is not live, and the next `hello` brings it up to date.
 */
export function connect (url: string, handlers: StreamHandlers, indicator: HTMLElement): void {
  const show = (state: 'live' | 'connecting' | 'disconnected', text: string): void => {
    setAttr(indicator, 'class', `connection ${state}`)
    setText(indicator, text)
    document.body.dataset.connection = state
  }
  const open = (): void => {
    const source = new EventSource(url)
    const on = <T>(name: string, handle: (value: T) => void): void => {
      source.addEventListener(name, (e) => {
        let value: T
        try {
          value = JSON.parse((e as MessageEvent<string>).data) as T
        } catch {
          return
        }
        handle(value)
      })
    }
    on<DashboardHello>('hello', (hello) => { show('live', 'Live'); handlers.hello(hello) })
    on<DashboardSample>('sample', handlers.sample)
    on<StackEvent>('stack-event', handlers.stackEvent)
    on<AutoscaleRecord>('autoscale', handlers.autoscale)
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        show('disconnected', `Disconnected — retrying in ${REOPEN_MS / 1000} s`)
        source.close()
        setTimeout(open, REOPEN_MS)
      } else {
        show('disconnected', 'Disconnected — reconnecting…')
      }
    })
  }
  show('connecting', 'Connecting…')
  open()
}
