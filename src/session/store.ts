/**
 * Where sessions live. Fields are stored separately (a Redis hash per session), never as one
 * blob, so two concurrent requests that change different fields — or increment the same one —
 * both land. Values are JSON strings.
 */
export interface SessionStore {
  getField(id: string, field: string): Promise<string | undefined>
  getAll(id: string): Promise<Record<string, string>>
  setField(id: string, field: string, value: string): Promise<void>
  incrementField(id: string, field: string, by: number): Promise<number>
  /**
   * Atomically sets the field to value unless it holds a greater one, comparing byte-wise as
   * strings (so callers store fixed-width values, e.g. write positions); returns the value it holds.
   */
  maxField(id: string, field: string, value: string): Promise<string>
  deleteFields(id: string, fields: string[]): Promise<void>
  /** Moves the data to a new id; the old id stops existing. */
  rename(oldId: string, newId: string): Promise<void>
  destroy(id: string): Promise<void>
  close(): Promise<void>
}
