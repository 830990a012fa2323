import { HTTPParser, METHODS, PAUSE_PARSER, createParser, nativeParserMissing, type ParseError } from './native-parser.js'

/** Whether Node's internal parser can serve the gateway in this process, and if not, why. */
export type ProbeResult = { ok: true } | { ok: false, reason: string }

interface Message { method: string, url: string, status: number, headers: string[], body: string, keepAlive: boolean, complete: boolean }

/** Runs `input` through a fresh parser; `pauseAt` pauses it after that message's headers, as pipelining does. */
function parse (type: number, input: string, pauseAt = -1): { messages: Message[], result: number | ParseError, resumed?: number | ParseError } {
  const messages: Message[] = []
  const parser = createParser(type, 16 * 1024, {
    messageBegin: null,
    headersComplete: (_major, _minor, headers, method, url, status, _message, _upgrade, keepAlive) => {
      messages.push({ method: METHODS[method] ?? '', url, status, headers, body: '', keepAlive, complete: false })
      return messages.length - 1 === pauseAt ? PAUSE_PARSER : 0
    },
    body: (chunk: Buffer) => { const m = messages.at(-1); if (m !== undefined) m.body += chunk.toString('latin1') },
    messageComplete: () => { const m = messages.at(-1); if (m !== undefined) m.complete = true },
    execute: null,
  })
  try {
    const bytes = Buffer.from(input, 'latin1')
    // The compiler needs the assertion (execute() is typed number | Error); the lint rule's type
    // service resolves ParseError to the same type and calls it unnecessary.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    const result = parser.execute(bytes) as number | ParseError
    if (typeof result === 'number' || result.code !== 'HPE_PAUSED') return { messages, result }
    parser.resume()
    return { messages, result, resumed: parser.execute(bytes.subarray(result.bytesParsed ?? 0)) }
  } finally {
    parser.close()
  }
}

const MANY = Array.from({ length: 40 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')
const FIRST = `POST /probe?x=1 HTTP/1.1\r\nHost: probe\r\nTransfer-Encoding: chunked\r\n${MANY}\r\n3\r\nabc\r\n0\r\n\r\n`
const SECOND = 'GET /second HTTP/1.1\r\nHost: probe\r\n\r\n'
const THIRD = 'GET /third HTTP/1.0\r\n\r\n'

/** The canned exchanges, checked the way the gateway relies on them; the first difference is the reason. */
function selfTest (): string | undefined {
  const requests = parse(HTTPParser.REQUEST, FIRST + SECOND + THIRD, 1)
  const [first, second, third] = requests.messages
  if (first?.method !== 'POST' || first.url !== '/probe?x=1') return `a request line parsed as ${first?.method ?? '?'} ${first?.url ?? '?'}`
  if (first.headers.length !== 2 * 42) return `${first.headers.length / 2} of 42 headers handed over`
  if (first.body !== 'abc' || !first.complete || !first.keepAlive) return 'a chunked request body was not decoded as sent'
  if (second?.url !== '/second') return 'the second pipelined request was not parsed'
  const paused = requests.result
  if (typeof paused === 'number' || paused.code !== 'HPE_PAUSED') return 'pausing after a request\'s headers did not pause the parser'
  if (paused.bytesParsed !== FIRST.length + SECOND.length) return `a paused parser reported ${String(paused.bytesParsed)} bytes parsed, not ${FIRST.length + SECOND.length}`
  if (requests.resumed !== THIRD.length || third?.url !== '/third' || third.keepAlive) return 'a resumed parser did not go on where it paused'
  const smuggled = parse(HTTPParser.REQUEST, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n').result
  if (typeof smuggled === 'number' || smuggled.code?.startsWith('HPE_') !== true) return 'Content-Length with Transfer-Encoding was not refused with an HPE_ error'
  const response = parse(HTTPParser.RESPONSE, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  const answer = response.messages[0]
  if (answer?.status !== 200 || answer.body !== 'ok' || !answer.complete) return 'a response was not parsed as sent'
  return undefined
}

let cached: ProbeResult | undefined

/**
 * Is Node's internal parser present, and does it parse canned requests and a response as the
 * gateway expects (methods, many headers, chunked bodies, pausing, refusal of smuggling shapes)?
 * Run once per process; a release that changes the parser is caught here, not by a client.
 */
export function probeNativeParser (): ProbeResult {
  if (cached !== undefined) return cached
  if (nativeParserMissing !== undefined) return (cached = { ok: false, reason: nativeParserMissing })
  let reason: string | undefined
  try {
    reason = selfTest()
  } catch (err) {
    reason = `its self-test threw: ${(err as Error).message}`
  }
  cached = reason === undefined ? { ok: true } : { ok: false, reason: `Node's internal HTTP parser failed its self-test: ${reason}` }
  return cached
}
