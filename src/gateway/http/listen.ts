import type { AddressInfo, Server } from 'node:net'

/** Binds server (net or http) and resolves with the port it got; rejects if the bind fails. */
export async function listenOn (server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.removeListener('error', reject)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}
