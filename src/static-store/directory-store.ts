import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { storePathSegments, type StaticStore } from './store.js'

/** The file a URL path is kept in: the gateway serves a directory's index.html at the directory's path. */
export const INDEX_FILE = 'index.html'

const code = (err: unknown): string | undefined => (err as { code?: string }).code

/**
 * The static store as a directory the gateway serves (one machine, or a volume every writer and
 * gateway mounts). `/products/42` is kept as `products/42/index.html`, so the gateway serves it at
 * `/products/42` as text/html. A put writes a temporary file beside the target and renames it over
 * the target: rename is atomic, so a gateway reading the file gets the old bytes or the new ones.
 * Temporary names start with a dot, which the gateway never serves. No fsync: the store holds
 * derived copies a full render rebuilds.
 */
export class DirectoryStaticStore implements StaticStore {
  readonly #root: string

  constructor (dir: string) {
    this.#root = resolve(dir)
  }

  get root (): string { return this.#root }

  /** The directory a URL path's index file lives in. */
  directoryOf (urlPath: string): string {
    return join(this.#root, ...storePathSegments(urlPath))
  }

  async put (urlPath: string, body: string | Uint8Array): Promise<void> {
    const dir = this.directoryOf(urlPath)
    const temp = join(dir, `.${INDEX_FILE}.${randomBytes(6).toString('hex')}.tmp`)
    // A concurrent delete may remove the directory between mkdir and the write: make it again.
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true })
        await writeFile(temp, body)
        break
      } catch (err) {
        if (code(err) !== 'ENOENT' || attempt >= 3) throw err
      }
    }
    try {
      await rename(temp, join(dir, INDEX_FILE))
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
  }

  async delete (urlPath: string): Promise<void> {
    const dir = this.directoryOf(urlPath)
    try {
      await unlink(join(dir, INDEX_FILE))
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err
    }
    // The emptied directory goes too; one holding other paths (or a put under way) stays.
    await rmdir(dir).catch(() => {})
  }

  async close (): Promise<void> {}
}
