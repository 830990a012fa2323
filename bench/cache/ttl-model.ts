/**
 * What a TTL allows at best: keys requested at Poisson rates λ_k with Zipf(s) popularity, each
 * cached on a miss for `ttlSeconds` and never invalidated. A key then misses once per
 * 1/λ_k + ttl seconds on average, so its misses per second are λ_k / (1 + λ_k·ttl): the long
 * tail, requested less than once per TTL, misses on almost every request whatever the cache.
 */
export function steadyStateHits (options: { requestsPerSecond: number, keys: number, zipfS: number, ttlSeconds: number }): { hitRatio: number, missesPerSecond: number } {
  let harmonic = 0
  for (let k = 1; k <= options.keys; k++) harmonic += 1 / k ** options.zipfS
  let misses = 0
  for (let k = 1; k <= options.keys; k++) {
    const rate = options.requestsPerSecond * (1 / k ** options.zipfS) / harmonic
    misses += rate / (1 + rate * options.ttlSeconds)
  }
  return { hitRatio: 1 - misses / options.requestsPerSecond, missesPerSecond: misses }
}
