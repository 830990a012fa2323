import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { OutgrowError } from '../../src/errors/index.js'

const INSTALL_HINT = 'run `bash scripts/setup.sh` (Debian: apt-get install chromium), or set OUTGROW_CHROMIUM to a Chromium binary'

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The Chromium to drive: OUTGROW_CHROMIUM, else `chromium` (or `chromium-browser`) on PATH. Playwright's own browsers are not used. */
export function findChromium (): string {
  const fromEnv = process.env.OUTGROW_CHROMIUM
  if (fromEnv !== undefined && fromEnv !== '') {
    if (executable(fromEnv)) return fromEnv
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', `OUTGROW_CHROMIUM=${fromEnv} is not an executable file: ${INSTALL_HINT}`)
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (dir !== '' && executable(join(dir, name))) return join(dir, name)
    }
  }
  throw new OutgrowError('OUTGROW_ENGINE_MISSING', `chromium not found: ${INSTALL_HINT}`)
}

/** A headless Chromium; a missing one is a failure with an install hint, never a skip. */
export async function launchChromium (): Promise<Browser> {
  // Playwright runs Chromium without its sandbox unless asked (it cannot run as root with it).
  return await chromium.launch({ executablePath: findChromium(), headless: true })
}
