/* Values up to 2047 have a bucket each; above, 1024 buckets per power of two. */
#include "histogram.h"

static int hist_index (uint64_t v) {
  if (v < 2048) return (int)v;
  int shift = 63 - __builtin_clzll(v) - 10;
  return shift * 1024 + (int)(v >> shift);
}

static uint64_t hist_value (int index) {
  if (index < 2048) return (uint64_t)index;
  int shift = index / 1024 - 1;
  uint64_t sub = (uint64_t)(index - shift * 1024);
  return ((sub + 1) << shift) - 1;
}

void hist_record (histogram *h, uint64_t v) {
  int i = hist_index(v);
  if (i >= HIST_SIZE) i = HIST_SIZE - 1;
  h->counts[i]++;
  h->total++;
  h->sum += (double)v;
  if (v > h->max) h->max = v;
}

uint64_t hist_percentile (const histogram *h, double p) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_SIZE; i++) {
    seen += h->counts[i];
    if (seen >= rank) return hist_value(i) < h->max ? hist_value(i) : h->max;
  }
  return h->max;
}
