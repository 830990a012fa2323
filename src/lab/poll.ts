/** Polling helpers shared by the lab's benchmarks and the tests. */
export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

/** Polls check until it holds (true) or time runs out (false). */
export async function pollUntil (check: () => Promise<boolean>, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(pollMs)
  }
  return await check()
}
