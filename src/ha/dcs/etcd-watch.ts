import type { Etcd3, IKeyValue, Watcher } from 'etcd3'
import { OutgrowError } from '../../errors/index.js'
import { call } from './etcd-errors.js'

/** One change of a watched key. A delete carries an empty value and the deleting revision. */
export interface WatchEvent {
  readonly type: 'put' | 'delete'
  readonly key: string
  readonly value: string
  readonly modRevision: number
  /** The revision that created the key (0 for a delete). */
  readonly createRevision: number
}

export interface WatchOptions {
  /** Watch every key under `key` instead of `key` alone. */
  readonly prefix?: boolean
  /**
   * Deliver changes from this revision on: the revision a `getPrefix` returned, plus one, so nothing
   * written between a read and its watch is missed. Default: changes after the watch starts.
   */
  readonly fromRevision?: number
  readonly onEvent: (event: WatchEvent) => void
  /**
   * The stream broke (`disconnected`; it reconnects by itself, with back-off, to any member and
   * resumes after the last event it delivered), came back (`connected`), or was ended by etcd
   * (`failed`, e.g. the revision to resume from was compacted: read again and watch anew).
   */
  readonly onState?: (state: 'connected' | 'disconnected' | 'failed', error?: Error) => void
}

export interface EtcdWatch {
  /** The revision of the last event delivered, if any. */
  lastRevision(): number | undefined
  cancel(): Promise<void>
}

const event = (type: WatchEvent['type'], kv: IKeyValue): WatchEvent =>
  ({ type, key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) })

/** Starts a watch; resolves once etcd has confirmed it, or fails as unreachable after timeoutMs. */
export async function startWatch (etcd: Etcd3, key: string, options: WatchOptions, timeoutMs: number): Promise<EtcdWatch> {
  let builder = etcd.watch()
  builder = options.prefix === true ? builder.prefix(key) : builder.key(key)
  if (options.fromRevision !== undefined) builder = builder.startRevision(String(options.fromRevision))
  const watcher: Watcher = builder.watcher()
  watcher.on('put', (kv) => { options.onEvent(event('put', kv)) })
  watcher.on('delete', (kv) => { options.onEvent(event('delete', kv)) })
  watcher.on('disconnected', (err) => { options.onState?.('disconnected', err) })
  watcher.on('error', (err) => { options.onState?.('failed', err) })
  let first = true
  const connected = new Promise<void>((resolve) => {
    watcher.on('connected', () => {
      if (!first) options.onState?.('connected')
      first = false
      resolve()
    })
  })
  let timer: NodeJS.Timeout | undefined
  try {
    await call(key, async () => {
      await Promise.race([connected, new Promise((_resolve, reject) => {
        timer = setTimeout(() => { reject(new OutgrowError('OUTGROW_DCS_UNAVAILABLE', `etcd unreachable (${key}): no member confirmed the watch in ${timeoutMs} ms`, { key })) }, timeoutMs)
      })])
    })
  } catch (err) {
    await watcher.cancel().catch(() => {})
    throw err
  } finally {
    clearTimeout(timer)
  }
  return {
    lastRevision: () => watcher.lastRevision() ?? undefined,
    cancel: async () => { await watcher.cancel() },
  }
}
