import { OutgrowError } from '../errors/index.js'

/** One row change from the database's change stream, as an invalidation rule sees it. */
export interface RowChange {
  /** The table as declared in `invalidateOn` (`products`, or `schema.table` outside `public`). */
  readonly table: string
  readonly op: 'insert' | 'update' | 'delete'
  /**
   * The new row of an insert or update; for a delete, the old row's key columns (every column
   * with REPLICA IDENTITY FULL).
   */
  readonly row: Readonly<Record<string, unknown>>
  /**
   * An update's old row, when PostgreSQL sends it: its key columns when the key changed, every
   * column with REPLICA IDENTITY FULL (then a rule can tell which columns changed).
   */
  readonly old?: Readonly<Record<string, unknown>> | undefined
}

/** What a changed row invalidates: cache keys to delete, tags to invalidate. */
export interface RowInvalidation {
  readonly keys?: readonly string[]
  readonly tags?: readonly string[]
}

export type InvalidationRule = (change: RowChange) => RowInvalidation

/**
 * A service's `invalidateOn`: for each table, what a change of one of its rows invalidates. The
 * long form asks for REPLICA IDENTITY FULL, for rules that need more than the key of a deleted row.
 */
export type InvalidationRules = Readonly<Record<string, InvalidationRule | { readonly rule: InvalidationRule, readonly replicaIdentity: 'full' }>>

export interface TableRule {
  /** As declared: `products` or `schema.table`. */
  readonly table: string
  readonly schema: string
  readonly name: string
  readonly rule: InvalidationRule
  readonly replicaIdentityFull: boolean
}

/** Unquoted lower-case identifiers only: the names go into SQL (publication, ALTER TABLE). */
const TABLE_NAME = /^(?:[a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/

function refuse (field: string, message: string): never {
  throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid service: ${field}: ${message}`, { field })
}

/** Checks a service's `invalidateOn` and returns its tables; a bad entry is refused naming it. */
export function tableRules (rules: unknown): TableRule[] {
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) refuse('invalidateOn', 'expected an object of table name → rule')
  const entries = Object.entries(rules as Record<string, unknown>)
  if (entries.length === 0) refuse('invalidateOn', 'name at least one table')
  return entries.map(([table, value]) => {
    const field = `invalidateOn.${table}`
    if (!TABLE_NAME.test(table)) refuse(field, 'expected a lower-case table name, optionally schema-qualified (letters, digits, _)')
    const [schema, name] = table.includes('.') ? table.split('.') as [string, string] : ['public', table]
    if (typeof value === 'function') return { table, schema, name, rule: value as InvalidationRule, replicaIdentityFull: false }
    const long = value as { rule?: unknown, replicaIdentity?: unknown } | null
    if (typeof long !== 'object' || long === null || typeof long.rule !== 'function') refuse(field, 'expected a function (row change → { keys, tags }) or { rule, replicaIdentity: "full" }')
    if (long.replicaIdentity !== 'full') refuse(`${field}.replicaIdentity`, 'expected "full" (leave the long form out for the table\'s key)')
    const extra = Object.keys(long).filter((k) => k !== 'rule' && k !== 'replicaIdentity')
    if (extra.length > 0) refuse(`${field}.${extra[0] as string}`, 'unknown field')
    return { table, schema, name, rule: long.rule as InvalidationRule, replicaIdentityFull: true }
  })
}

function stringList (value: unknown, field: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) throw new TypeError(`${field}: expected an array of non-empty strings`)
  return value as string[]
}

/** Runs a rule and checks what it returned; throws naming the table when it throws or returns junk. */
export function applyRule (rule: TableRule, change: RowChange): { keys: string[], tags: string[] } {
  let result: unknown
  try {
    result = rule.rule(change)
  } catch (err) {
    throw new TypeError(`invalidateOn.${rule.table} threw on a ${change.op}: ${(err as Error).message}`)
  }
  if (typeof result !== 'object' || result === null) throw new TypeError(`invalidateOn.${rule.table}: expected { keys?, tags? }, got ${String(result)}`)
  const r = result as { keys?: unknown, tags?: unknown }
  return { keys: stringList(r.keys, `invalidateOn.${rule.table} keys`), tags: stringList(r.tags, `invalidateOn.${rule.table} tags`) }
}
