import type { ServerKind } from '../../src/gateway/http/server.js'

/** Every client-facing server implementation: the gateway suites run once against each. */
export const SERVER_KINDS: readonly ServerKind[] = ['native', 'node-http']
