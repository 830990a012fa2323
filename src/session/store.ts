/**
 * Where sessions live. Fields are stored separately (a Redis hash per session), never as one
 * blob, so two concurrent requests that change different fields — or increment the same one —
 * both land. Values are JSON strings.
 */
export interface SessionStore {
  getField(id: string, field: string): Promise<string | undefined>
  getAll(id: string): Promise<Record<string, string>>
  /**
   * Writes change only a session that exists, unless `create` is set (for an id the server has
   * just issued): a request still in flight with an id that was destroyed or renamed must not
   * bring it back. They answer false / undefined when the session does not exist.
   */
  setField(id: string, field: string, value: string, options?: WriteOptions): Promise<boolean>
  incrementField(id: string, field: string, by: number, options?: WriteOptions): Promise<number | undefined>
  /**
   * Atomically sets the field to value unless it holds a greater one, comparing byte-wise as
   * strings (so callers store fixed-width values, e.g. write positions); returns the value it
   * holds, or undefined when the session does not exist (and `create` is not set).
   */
  maxField(id: string, field: string, value: string, options?: WriteOptions): Promise<string | undefined>
  deleteFields(id: string, fields: string[]): Promise<void>
  /** Moves the data to a new id; the old id stops existing. */
  rename(oldId: string, newId: string): Promise<void>
  destroy(id: string): Promise<void>
  close(): Promise<void>
}

export interface WriteOptions {
  /** Create the session when it does not exist. */
  readonly create?: boolean
}
