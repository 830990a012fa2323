import { request } from 'undici'

export interface CallResult {
  status: number
  json: Record<string, unknown>
  instance: string
  /** The session cookie (`outgrow.sid=…`) the response set, else the one sent. */
  cookie: string
}

export type Call = (method: 'GET' | 'POST' | 'DELETE', path: string, cookie?: string, body?: unknown) => Promise<CallResult>

/** A JSON client for the shop at base(), carrying the session cookie like a browser. */
export function shopClient (base: () => string): Call {
  return async (method, path, cookie = '', body) => {
    const res = await request(`${base()}${path}`, {
      method,
      headers: { ...(cookie === '' ? {} : { cookie }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    })
    const text = await res.body.text()
    const setCookie = res.headers['set-cookie']
    const sid = (Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]).map((c) => c.split(';')[0] as string).find((c) => c.startsWith('outgrow.sid='))
    return { status: res.statusCode, json: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {}, instance: String(res.headers['x-outgrow-instance']), cookie: sid ?? cookie }
  }
}
