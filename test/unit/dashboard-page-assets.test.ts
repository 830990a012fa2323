import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { registerDashboardPage } from '../../src/dashboard/page.js'

test('the page and every asset it names are served from the build and the chart library\'s package; nothing else is', async () => {
  const app = Fastify()
  registerDashboardPage(app)
  try {
    const page = await app.inject('/dashboard')
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    const assets = [...page.body.matchAll(/(?:href|src)="(\/dashboard\/assets\/[^"]+)"/g), ...page.body.matchAll(/"uplot": "([^"]+)"/g)].map((m) => m[1] as string)
    assert.deepEqual(assets.sort(), ['/dashboard/assets/client/main.js', '/dashboard/assets/dashboard.css', '/dashboard/assets/uPlot.esm.js', '/dashboard/assets/uPlot.min.css'])
    assert.doesNotMatch(page.body, /https?:\/\//, 'no CDN')
    for (const path of assets) {
      const res = await app.inject(path)
      assert.equal(res.statusCode, 200, path)
      assert.match(String(res.headers['content-type']), path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/, path)
    }
    // The script's own imports resolve too, and none is a Node module.
    const main = (await app.inject('/dashboard/assets/client/main.js')).body
    for (const [, file] of main.matchAll(/from '\.\/([a-z-]+\.js)'/g)) {
      const res = await app.inject(`/dashboard/assets/client/${file ?? ''}`)
      assert.equal(res.statusCode, 200, file)
      assert.doesNotMatch(res.body, /from 'node:/, file)
    }
    for (const path of ['/dashboard/assets/client/..%2Fpage.js', '/dashboard/assets/client/nosuch.js', '/dashboard/assets/package.json', '/dashboard/assets/constructor']) {
      assert.equal((await app.inject(path)).statusCode, 404, path)
    }
  } finally {
    await app.close()
  }
})
