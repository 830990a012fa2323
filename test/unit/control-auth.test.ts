import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseStackConfig } from '../../src/config/stack-config.js'
import { hostAllowed, originMatchesHost, ownHostNames, parseCookies } from '../../src/control/api-auth.js'
import { OutgrowError } from '../../src/errors/index.js'

test('Host: loopback names and the bound address pass; another name (DNS rebinding) does not', () => {
  const own = ownHostNames('10.1.2.3')
  for (const host of ['127.0.0.1:4000', 'localhost:4000', '[::1]:4000', 'app.localhost', '10.1.2.3:4000']) assert.equal(hostAllowed(host, own), true, host)
  for (const host of ['evil.example:4000', '10.1.2.4', undefined, '', 'a b']) assert.equal(hostAllowed(host, own), false, String(host))
})

test('Origin must be the page\'s own http origin, the one Host names', () => {
  assert.equal(originMatchesHost('http://127.0.0.1:4000', '127.0.0.1:4000'), true)
  assert.equal(originMatchesHost('http://127.0.0.1:4001', '127.0.0.1:4000'), false)
  assert.equal(originMatchesHost('http://evil.example', '127.0.0.1:4000'), false)
  assert.equal(originMatchesHost('null', '127.0.0.1:4000'), false)
  assert.equal(originMatchesHost(undefined, '127.0.0.1:4000'), false)
})

test('cookies are read by name, percent-decoded', () => {
  assert.equal(parseCookies('a=1; outgrow_control=x%2By; b=2').get('outgrow_control'), 'x+y')
  assert.equal(parseCookies(undefined).size, 0)
})

test('control.host and control.port are validated, naming the field', () => {
  assert.deepEqual(parseStackConfig({ app: { service: 's.js' } }).control, { host: '127.0.0.1', port: 0 })
  assert.deepEqual(parseStackConfig({ app: { service: 's.js' }, control: { host: '0.0.0.0', port: 9400 } }).control, { host: '0.0.0.0', port: 9400 })
  assert.throws(() => parseStackConfig({ app: { service: 's.js' }, control: { port: 70_000 } }), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_CONFIG_INVALID' && /control\.port/.test(err.message))
  assert.throws(() => parseStackConfig({ app: { service: 's.js' }, control: { host: 'not a host' } }), (err: unknown) => err instanceof OutgrowError && /control\.host/.test(err.message))
})
