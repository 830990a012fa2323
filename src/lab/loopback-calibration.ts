import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'

/**
 * What a message and its answer cost between two processes over loopback TCP on this machine.
 * The CPU calibration (calibration.ts) runs on one core and never enters the kernel; a request to
 * the shop is mostly the other thing: every call to the database, the cache or a peer is a socket
 * write that wakes another process, often on the other core. On a virtual machine that wake-up can
 * cost far more than on bare metal, and two machines with the same calibration can differ several
 * times here. Reported beside the calibration, so a reader comparing machines sees both.
 */
export interface LoopbackCalibration {
  /** Microseconds per round trip (send, the peer's echo, receive), the median of the rounds. */
  readonly roundTripUs: number
  readonly rounds: number
  readonly roundTripsPerRound: number
  readonly workload: string
}

const MESSAGE_BYTES = 64
const WORKLOAD = `one ${MESSAGE_BYTES}-byte message and its echo between two processes over loopback TCP, one at a time`

// The echo peer: a separate process, so every round trip wakes another process, as a query does.
const ECHO_PEER = `
const server = require('node:net').createServer((socket) => { socket.setNoDelay(true); socket.on('data', (d) => socket.write(d)) })
server.listen(0, '127.0.0.1', () => { process.stdout.write(server.address().port + '\\n') })
process.stdin.on('end', () => process.exit(0)).resume()
`

async function roundTrips (socket: Socket, count: number): Promise<number> {
  const message = Buffer.alloc(MESSAGE_BYTES, 1)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    // A message may arrive in pieces: wait until all of it is back before sending the next.
    await new Promise<void>((resolve) => {
      let received = 0
      const onData = (chunk: Buffer): void => {
        received += chunk.length
        if (received >= MESSAGE_BYTES) { socket.off('data', onData); resolve() }
      }
      socket.on('data', onData)
      socket.write(message)
    })
  }
  return (performance.now() - start) * 1000 / count
}

/** Measures `rounds` rounds of `perRound` round trips against an echo process and keeps the median round. */
export async function calibrateLoopback (rounds = 3, perRound = 2000): Promise<LoopbackCalibration> {
  const peer = spawn(process.execPath, ['-e', ECHO_PEER], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      peer.once('error', reject)
      peer.once('exit', (code) => { reject(new Error(`the echo process exited (${code})`)) })
      createInterface({ input: peer.stdout }).once('line', (line) => { resolve(Number(line)) })
    })
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
    try {
      await roundTrips(socket, Math.min(200, perRound)) // warm-up: JIT, the first wake-ups
      const results: number[] = []
      for (let round = 0; round < rounds; round++) results.push(await roundTrips(socket, perRound))
      results.sort((a, b) => a - b)
      const median = results[Math.floor(results.length / 2)] as number
      return { roundTripUs: Math.round(median), rounds, roundTripsPerRound: perRound, workload: WORKLOAD }
    } finally {
      socket.destroy()
    }
  } finally {
    peer.stdin.end()
    peer.kill()
  }
}
