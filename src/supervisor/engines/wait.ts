/** Retries probe until it resolves or timeoutMs passes; the last error explains a time-out. */
export async function waitUntil (probe: () => Promise<void>, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('process exited')
    try {
      await probe()
      return
    } catch (err) {
      lastError = err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw lastError instanceof Error ? lastError : new Error('timed out')
}
