/* Log-linear histogram of microseconds, about 0.1% precision (as HdrHistogram with 3 digits). */
#ifndef FIXED_RATE_HISTOGRAM_H
#define FIXED_RATE_HISTOGRAM_H
#include <stdint.h>

#define HIST_SIZE (32 * 1024 + 2048)

typedef struct { uint64_t counts[HIST_SIZE]; uint64_t total; uint64_t max; double sum; } histogram;

void hist_record (histogram *h, uint64_t v);
uint64_t hist_percentile (const histogram *h, double p);

#endif
