import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chmod, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../errors/index.js'
import { alive } from '../supervisor/data-dir.js'

/** How CLI commands find a running supervisor: `control.json` (where) and `control.token` (the secret). */
export interface ControlEndpoint {
  readonly url: string
  readonly pid: number
  readonly token: string
}

const ENDPOINT_FILE = 'control.json'
const TOKEN_FILE = 'control.token'

/** The endpoint of a live supervisor on dataDir, if there is one. */
export function readControlEndpoint (dataDir: string): ControlEndpoint | undefined {
  try {
    const { url, pid } = JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8')) as { url: string, pid: number }
    if (!alive(pid)) return undefined
    const token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim()
    return { url, pid, token }
  } catch {
    return undefined
  }
}

/** Refuses to start a second supervisor on a data dir that a live one uses. */
export function assertNoLiveSupervisor (dataDir: string): void {
  const endpoint = readControlEndpoint(dataDir)
  if (endpoint !== undefined && endpoint.pid !== process.pid) {
    throw new OutgrowError('OUTGROW_STACK_RUNNING', `a stack (supervisor pid ${endpoint.pid}) already runs on ${dataDir}: outgrow down, or use another --data-dir`)
  }
}

/** A fresh token, readable by this user only. */
export async function createControlToken (dataDir: string): Promise<string> {
  const token = randomBytes(24).toString('base64url')
  const file = join(dataDir, TOKEN_FILE)
  await writeFile(file, `${token}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  return token
}

export async function writeControlEndpoint (dataDir: string, url: string): Promise<void> {
  await writeFile(join(dataDir, ENDPOINT_FILE), JSON.stringify({ url, pid: process.pid }) + '\n')
}

export async function removeControlFiles (dataDir: string): Promise<void> {
  await rm(join(dataDir, ENDPOINT_FILE), { force: true })
  await rm(join(dataDir, TOKEN_FILE), { force: true })
}

/** The dashboard's URL with the token that signs a browser in (exchanged for a cookie on first load). */
export function dashboardUrlOf (controlUrl: string, token: string): string {
  // Bound to every interface: this machine reaches it on loopback (browsers refuse 0.0.0.0); others use its address.
  const base = controlUrl.replace(/\/$/, '').replace(/^http:\/\/(?:0\.0\.0\.0|\[::\])(?=:|$)/, 'http://127.0.0.1')
  return `${base}/dashboard?token=${encodeURIComponent(token)}`
}
