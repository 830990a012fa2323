import assert from 'node:assert/strict'
import { test } from 'node:test'
import { httpUrl, listeningAddress, publishHostFor } from '../../src/runtime/published-address.js'

test('the published host is the configured one, else the bind host, with wildcards published as loopback', () => {
  assert.equal(publishHostFor('0.0.0.0'), '127.0.0.1')
  assert.equal(publishHostFor('::'), '127.0.0.1')
  assert.equal(publishHostFor('10.1.2.3'), '10.1.2.3')
  assert.equal(publishHostFor('0.0.0.0', 'app-1.internal'), 'app-1.internal')
})

test('the listening address carries the bound port; IPv6 hosts are bracketed in URLs', () => {
  assert.deepEqual(listeningAddress({ address: '0.0.0.0', family: 'IPv4', port: 43121 }, '0.0.0.0', 'app-1.internal'), {
    address: 'http://0.0.0.0:43121', port: 43121, url: 'http://app-1.internal:43121',
  })
  assert.equal(httpUrl('::1', 80), 'http://[::1]:80')
  assert.equal(httpUrl('[::1]', 80), 'http://[::1]:80')
})
