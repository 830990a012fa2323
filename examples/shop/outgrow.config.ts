import { defineConfig } from '../../src/index.js'

export default defineConfig({
  app: { service: './service.js' },
  level: 1,
  port: 8080,
  balancer: 'round-robin',
  emulation: { mode: 'auto', cpusPerServer: 0.5 },
  seed: { products: 10_000, users: 1000 },
})
