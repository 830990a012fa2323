import type { IKeyValue } from 'etcd3'

/** A key as etcd holds it, with the revisions conditional writes compare. */
export interface KeyValue {
  readonly key: string
  readonly value: string
  /** The revision that created it; a key deleted and written again gets a new one. */
  readonly createRevision: number
  /** The revision of its last write: what compareAndSet compares. */
  readonly modRevision: number
  /** The lease it is attached to ('0': none); it goes when that lease expires. */
  readonly lease: string
}

export function keyValue (kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease),
  }
}
