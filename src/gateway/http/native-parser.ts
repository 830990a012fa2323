import { createRequire } from 'node:module'
import type { Socket } from 'node:net'

/**
 * Node's own HTTP/1 parser (llhttp compiled natively), the one node:http's client and server are
 * built on. Not a public module: both the gateway's server side and its upstream pool use it,
 * through this file only, so a Node release that changes it is met in one place.
 */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(data: Buffer): number | Error
  finish(): number | Error
  close(): void
  consume(handle: object): void
  unconsume(): void
  resume(): void
  getCurrentBuffer(): Buffer
  [key: number]: unknown
}

interface NativeParserClass {
  new(): NativeParser
  REQUEST: number
  RESPONSE: number
  kOnMessageBegin: number
  kOnHeaders: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
  kOnExecute: number
  kOnTimeout: number
}

interface HttpCommon { HTTPParser: NativeParserClass, methods: string[] }

/** The module, or why it cannot be had: a release without it must still load the gateway (node:http then serves). */
function load (): HttpCommon | string {
  try {
    const common = createRequire(import.meta.url)('_http_common') as Partial<HttpCommon> | undefined
    if (typeof common?.HTTPParser !== 'function' || !Array.isArray(common.methods)) return 'node:_http_common has no HTTPParser'
    return common as HttpCommon
  } catch (err) {
    return `node:_http_common cannot be loaded (${(err as Error).message})`
  }
}

const loaded = load()
/** Why Node's internal parser is missing; undefined when it is there (whether it behaves is native-probe.ts's question). */
export const nativeParserMissing: string | undefined = typeof loaded === 'string' ? loaded : undefined

/** Stands in when the module is missing: constructing it says why, so nothing half-works. */
class MissingParser {
  constructor () { throw new Error(`Node's internal HTTP parser is unavailable: ${nativeParserMissing ?? ''}`) }
}

export const HTTPParser: NativeParserClass = typeof loaded === 'string' ? MissingParser as unknown as NativeParserClass : loaded.HTTPParser
/** Method names by the parser's method index. */
export const METHODS: readonly string[] = typeof loaded === 'string' ? [] : loaded.methods

/**
 * llhttp's HPE_PAUSED: returned from the headers-complete callback it pauses the parser right
 * there; execute() then reports an HPE_PAUSED error whose bytesParsed says where to go on from
 * after resume().
 */
export const PAUSE_PARSER = 21

/** A parse error as llhttp reports it: `code` is e.g. HPE_HEADER_OVERFLOW, HPE_INVALID_METHOD. */
export type ParseError = Error & { code?: string, bytesParsed?: number }

type Callback = ((...args: never[]) => unknown) | null

/** llhttp's arguments when a message's headers are in: requests use method and url, responses status. */
export type HeadersComplete = (major: number, minor: number, headers: string[], method: number, url: string, status: number, statusMessage: string, upgrade: boolean, keepAlive: boolean) => number

export interface ParserCallbacks {
  messageBegin: Callback
  headersComplete: HeadersComplete
  body: Callback
  messageComplete: Callback
  execute: Callback
}

/**
 * A parser with every callback slot filled, in index order (null for the unused ones): the native
 * side looks each slot up per message, and a missing one costs a walk up the prototype chain.
 * Headers that llhttp hands over early (beyond 32 pairs) are gathered here, so `headersComplete`
 * always gets them all.
 */
export function createParser (type: number, maxHeaderSize: number, callbacks: ParserCallbacks): NativeParser {
  const parser = new HTTPParser()
  parser.initialize(type, {}, maxHeaderSize, 0)
  let early: string[] | undefined
  let earlyUrl = ''
  const headersComplete = callbacks.headersComplete
  parser[HTTPParser.kOnMessageBegin] = callbacks.messageBegin
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string | undefined): void => {
    (early ??= []).push(...headers)
    earlyUrl += url ?? ''
  }
  parser[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, status: number, statusMessage: string, upgrade: boolean, keepAlive: boolean): number => {
    if (early !== undefined) {
      headers = headers === undefined ? early : early.concat(headers)
      url = earlyUrl + (url ?? '')
      early = undefined
      earlyUrl = ''
    }
    return headersComplete(major, minor, headers ?? [], method, url ?? '', status, statusMessage, upgrade, keepAlive)
  }
  parser[HTTPParser.kOnBody] = callbacks.body
  parser[HTTPParser.kOnMessageComplete] = callbacks.messageComplete
  parser[HTTPParser.kOnExecute] = callbacks.execute
  parser[HTTPParser.kOnTimeout] = null
  return parser
}

/** Frees a parser on the next turn: never while it may be executing (callbacks can end a connection). */
export function closeParserLater (parser: NativeParser): void {
  setImmediate(() => { parser.close() })
}

interface StreamHandle {
  isStreamBase?: boolean
  reading?: boolean
  readStart(): number
  readStop(): number
}

function handleOf (socket: Socket): StreamHandle | undefined {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle
  return handle?.isStreamBase === true ? handle : undefined
}

/**
 * Lets the parser read the socket itself, in C++ (as node:http's server does): no JS stream
 * machinery per read, one callback (kOnExecute) with the parse result. False when the socket
 * has no stream handle, in which case the caller feeds the parser from 'data' events.
 */
export function consumeSocket (parser: NativeParser, socket: Socket): boolean {
  const handle = handleOf(socket)
  if (handle === undefined) return false
  parser.consume(handle)
  return true
}

/**
 * Backpressure: a consumed socket's handle stops and starts reading directly (its stream does not
 * see the bytes); any other socket is paused and resumed as a stream.
 */
export function setReading (socket: Socket, consumed: boolean, reading: boolean): void {
  if (!consumed) {
    if (reading) socket.resume()
    else socket.pause()
    return
  }
  const handle = handleOf(socket)
  if (handle === undefined || socket.destroyed) return
  if (reading) handle.readStart()
  else handle.readStop()
  handle.reading = reading
}
