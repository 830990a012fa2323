import type { Upstream } from '../upstream.js'
import { eligible, type Balancer, type PickContext } from './balancer.js'

/**
 * Sticky sessions by cookie: a request naming an eligible instance in the cookie goes there;
 * otherwise the fallback balancer picks and the proxy sets the cookie on the response.
 */
export class Sticky implements Balancer {
  readonly name = 'sticky'
  readonly cookieName: string
  readonly #fallback: Balancer

  constructor (fallback: Balancer, cookieName = 'outgrow.upstream') {
    this.#fallback = fallback
    this.cookieName = cookieName
  }

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    if (context.stickyId !== undefined) {
      const pinned = upstreams.find((u) => u.id === context.stickyId)
      if (pinned !== undefined && eligible(pinned, context)) return pinned
    }
    return this.#fallback.pick(upstreams, context)
  }

  rebuild (upstreams: readonly Upstream[]): void {
    this.#fallback.rebuild?.(upstreams)
  }
}
