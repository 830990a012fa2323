import cluster from 'node:cluster'
import { parseGatewayConfig } from '../config/gateway-config.js'
import { readConfigFile } from '../config/load.js'
import { runGateway } from '../gateway/gateway-main.js'

/** `outgrow gateway --config gateway.json`: the gateway on its own, in front of any HTTP service. */
export async function gateway (options: { config: string, port?: number, processes?: number }): Promise<void> {
  const { raw } = await readConfigFile(options.config, 'gateway config')
  const overrides = { ...(options.port === undefined ? {} : { port: options.port }), ...(options.processes === undefined ? {} : { processes: options.processes }) }
  const config = parseGatewayConfig({ ...raw, ...overrides })
  await runGateway(config, 'gateway')
  if (cluster.isPrimary) {
    process.stderr.write(`outgrow: gateway listening on ${config.host}:${config.port} (${config.processes} process(es))\n`)
    process.stdout.write(`${JSON.stringify({ ready: true, url: `http://${config.host}:${config.port}` })}\n`)
  }
}
