import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import cluster from 'node:cluster'
import { parseGatewayConfig } from '../config/gateway-config.js'
import { OutgrowError } from '../errors/index.js'
import { runGateway } from '../gateway/gateway-main.js'

/** `outgrow gateway --config gateway.json`: the gateway on its own, in front of any HTTP service. */
export async function gateway (options: { config: string, port?: number, processes?: number }): Promise<void> {
  const file = resolve(options.config)
  if (!existsSync(file)) throw new OutgrowError('OUTGROW_CONFIG_NOT_FOUND', `config file not found: ${options.config}`)
  let raw: unknown
  if (file.endsWith('.json')) {
    try {
      raw = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid gateway config: ${options.config} is not valid JSON: ${(err as Error).message}`)
    }
  } else {
    raw = (await import(pathToFileURL(file).href) as { default?: unknown }).default
  }
  const overrides = { ...(options.port === undefined ? {} : { port: options.port }), ...(options.processes === undefined ? {} : { processes: options.processes }) }
  const config = parseGatewayConfig({ ...(raw as object), ...overrides })
  await runGateway(config, 'gateway')
  if (cluster.isPrimary) {
    process.stderr.write(`outgrow: gateway listening on ${config.host}:${config.port} (${config.processes} process(es))\n`)
    process.stdout.write(`${JSON.stringify({ ready: true, url: `http://${config.host}:${config.port}` })}\n`)
  }
}
