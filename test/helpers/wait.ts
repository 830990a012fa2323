export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

/** Polls an asynchronous check (e.g. a Redis read) until it holds or time runs out. */
export async function waitUntil (check: () => Promise<boolean>, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(pollMs)
  }
  return await check()
}
