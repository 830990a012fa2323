/**
 * How long gateways may keep sending after an instance deregisters: they hear of it at once by
 * pub/sub, and re-read the registry every second in case they missed the message.
 */
export const DEREGISTER_GRACE_MS = 1500

export interface LeaveRotationOptions {
  /** Takes the instance out of the registry. */
  readonly leave: () => Promise<void>
  /** Requests received and not yet answered. */
  readonly inFlight: () => number
  readonly graceMs?: number
  /** Epoch ms after which it stops waiting, so the caller still has time to close before being killed. */
  readonly deadline: number
  readonly pollMs?: number
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

/**
 * Scale-in without failed requests: leave the registry, let the gateways notice for the grace
 * period, then wait until no request is in flight (a gateway that noticed late may still have sent
 * some), all before the deadline. Closing the server earlier would refuse what they still send.
 * Resolves with the number of requests still in flight when it stopped waiting (0 unless late).
 */
export async function leaveRotation (options: LeaveRotationOptions): Promise<number> {
  const { inFlight, deadline, graceMs = DEREGISTER_GRACE_MS, pollMs = 20 } = options
  // Unreachable Redis: the entry expires by itself within its TTL; the wait below still applies.
  await options.leave().catch(() => {})
  await sleep(Math.min(graceMs, deadline - Date.now()))
  while (inFlight() > 0 && Date.now() < deadline) await sleep(pollMs)
  return inFlight()
}
