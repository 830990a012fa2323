/*
 * fixed-rate: an open-model HTTP/1.1 load generator for the benchmarks (the role wrk2 plays).
 *
 * Request i of a stream is due at start + i/rate whether or not earlier ones have answered, and
 * its latency counts from that intended time, so a stalled server shows up as latency and never
 * as a politely lower rate (no coordinated omission). Several streams run in one event loop, so
 * a control stream straight to a backend sees the same machine at the same moment as the stream
 * through a proxy. Written in C because the latencies it must resolve are tens of microseconds:
 * a generator with a garbage collector and a millisecond timer wheel adds more than that itself.
 *
 *   fixed-rate [--duration S] [--warmup S] [--timeout S] --stream URL RATE CONNECTIONS [--stream ...]
 *
 * Prints one JSON object: per stream the counts and latency/send-lag percentiles in microseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "histogram.h"
#include "response.h"

#define MAX_STREAMS 8
#define PENDING_CAP (1 << 20)
#define READ_BUF 65536

enum conn_state { CONNECTING, IDLE, BUSY, CLOSED };

struct stream;

typedef struct conn {
  int fd;
  enum conn_state state;
  struct stream *stream;
  uint64_t intended_ns;
  uint64_t sent_ns;
  size_t write_offset;
  response_parser response;
} conn;

typedef struct stream {
  char url[512];
  struct sockaddr_in addr;
  char *request;
  size_t request_len;
  double rate;
  int connections;
  conn *conns;
  conn **idle;
  int idle_count;
  uint64_t *pending;
  size_t pending_head, pending_len;
  uint64_t next_seq;
  uint64_t next_due_ns;
  uint64_t sent, completed, ok, non2xx, errors, timeouts, overflow;
  histogram latency, send_lag;
} stream;

static stream streams[MAX_STREAMS];
static int stream_count;
static int epoll_fd;
static uint64_t start_ns, record_from_ns, send_until_ns, timeout_ns;

static uint64_t now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Only requests due inside the measured window are recorded; the warm-up is not. */
static void record_latency (stream *s, uint64_t intended, uint64_t now) {
  if (intended >= record_from_ns) hist_record(&s->latency, (now - intended) / 1000 + 1);
}

static uint64_t pending_pop (stream *s) {
  uint64_t intended = s->pending[s->pending_head];
  s->pending_head = (s->pending_head + 1) % PENDING_CAP;
  s->pending_len--;
  return intended;
}

static void die (const char *message) {
  fprintf(stderr, "fixed-rate: %s\n", message);
  exit(2);
}

static void parse_url (stream *s, const char *url) {
  if (strncmp(url, "http://", 7) != 0) die("a stream URL must start with http:// (IPv4 address and port)");
  snprintf(s->url, sizeof s->url, "%s", url);
  const char *host = url + 7;
  const char *slash = strchr(host, '/');
  const char *path = slash == NULL ? "/" : slash;
  char hostport[256];
  size_t hp_len = slash == NULL ? strlen(host) : (size_t)(slash - host);
  if (hp_len >= sizeof hostport) die("host too long");
  memcpy(hostport, host, hp_len);
  hostport[hp_len] = 0;
  char *colon = strrchr(hostport, ':');
  int port = 80;
  if (colon != NULL) { *colon = 0; port = atoi(colon + 1); }
  memset(&s->addr, 0, sizeof s->addr);
  s->addr.sin_family = AF_INET;
  s->addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, hostport, &s->addr.sin_addr) != 1) die("a stream URL needs an IPv4 address, e.g. http://127.0.0.1:8080/");
  if (colon != NULL) *colon = ':';
  char request[2048];
  int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: outgrow-fixed-rate\r\n\r\n",
    path, (int)hp_len, host);
  if (n <= 0 || (size_t)n >= sizeof request) die("path too long");
  s->request = strdup(request);
  s->request_len = (size_t)n;
}

static void epoll_set (conn *c, int op, uint32_t events) {
  struct epoll_event ev = { .events = events, .data.ptr = c };
  if (epoll_ctl(epoll_fd, op, c->fd, &ev) != 0 && op != EPOLL_CTL_DEL) die("epoll_ctl failed");
}

static void open_conn (conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket failed (file descriptor limit?)");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = CONNECTING;
  response_reset(&c->response);
  if (connect(c->fd, (struct sockaddr *)&c->stream->addr, sizeof c->stream->addr) != 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    c->state = CLOSED;
    return;
  }
  epoll_set(c, EPOLL_CTL_ADD, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
}

static void send_on (conn *c, uint64_t intended) {
  stream *s = c->stream;
  uint64_t now = now_ns();
  c->state = BUSY;
  c->intended_ns = intended;
  c->sent_ns = now;
  c->write_offset = 0;
  response_reset(&c->response);
  s->sent++;
  /* A failed write shows up as an error event on the connection. */
  ssize_t n = write(c->fd, s->request, s->request_len);
  c->write_offset = n > 0 ? (size_t)n : 0;
  if (c->write_offset < s->request_len) epoll_set(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
}

/* A free connection takes the oldest waiting request, else goes back to the idle stack. */
static void release (conn *c) {
  stream *s = c->stream;
  if (s->pending_len > 0) {
    send_on(c, pending_pop(s));
    return;
  }
  c->state = IDLE;
  s->idle[s->idle_count++] = c;
}

static void close_conn (conn *c) {
  if (c->fd >= 0) {
    epoll_set(c, EPOLL_CTL_DEL, 0);
    close(c->fd);
  }
  c->fd = -1;
  c->state = CLOSED;
}

/* Closes a connection (failing its request if asked) and opens a new one while sending goes on. */
static void drop_conn (conn *c, int failed_request) {
  stream *s = c->stream;
  if (c->state == BUSY && failed_request) {
    s->completed++;
    s->errors++;
    record_latency(s, c->intended_ns, now_ns());
  }
  if (c->state == IDLE) {
    for (int i = 0; i < s->idle_count; i++) {
      if (s->idle[i] == c) { s->idle[i] = s->idle[--s->idle_count]; break; }
    }
  }
  close_conn(c);
  if (now_ns() < send_until_ns) open_conn(c);
}

static void complete (conn *c) {
  stream *s = c->stream;
  s->completed++;
  if (c->response.status >= 200 && c->response.status < 400) s->ok++; else s->non2xx++;
  record_latency(s, c->intended_ns, now_ns());
  if (c->response.close_after) drop_conn(c, 0);
  else release(c);
}

static void on_readable (conn *c) {
  char buf[READ_BUF];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0) {
      if (c->state == BUSY && response_eof(&c->response) == RESPONSE_DONE) complete(c);
      else drop_conn(c, 1);
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN) drop_conn(c, 1);
      return;
    }
    if (c->state != BUSY) { drop_conn(c, 0); return; } /* bytes nobody asked for */
    int result = response_feed(&c->response, buf, (size_t)n);
    if (result == RESPONSE_ERROR) { drop_conn(c, 1); return; }
    /* complete() may close the connection or send the next request on it: read again only then. */
    if (result == RESPONSE_DONE) { complete(c); if (c->state != BUSY) return; }
  }
}

static void on_event (conn *c, uint32_t events) {
  if (c->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      close_conn(c); /* reopened by the next expire(), not at once: a refusing port would spin */
      return;
    }
    epoll_set(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
    release(c);
    return;
  }
  if ((events & EPOLLOUT) && c->state == BUSY && c->write_offset < c->stream->request_len) {
    ssize_t n = write(c->fd, c->stream->request + c->write_offset, c->stream->request_len - c->write_offset);
    if (n > 0) c->write_offset += (size_t)n;
    if (c->write_offset >= c->stream->request_len) epoll_set(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
}

static void dispatch_due (stream *s, uint64_t now) {
  while (s->next_due_ns <= now && s->next_due_ns < send_until_ns) {
    uint64_t intended = s->next_due_ns;
    /* How late the generator itself woke for this request; waiting for a free connection is not
       counted here (that wait is the server's, and is in the latency). */
    if (intended >= record_from_ns) hist_record(&s->send_lag, (now - intended) / 1000 + 1);
    s->next_seq++;
    s->next_due_ns = start_ns + (uint64_t)((double)s->next_seq * 1e9 / s->rate);
    if (s->idle_count > 0) {
      send_on(s->idle[--s->idle_count], intended);
    } else if (s->pending_len < PENDING_CAP) {
      s->pending[(s->pending_head + s->pending_len) % PENDING_CAP] = intended;
      s->pending_len++;
    } else {
      s->overflow++;
    }
  }
}

/* Requests past the time-out fail, and their connections are replaced; closed ones reopen. */
static void expire (stream *s, uint64_t now) {
  /* A request still waiting for a connection past the time-out fails too (a server that refuses
     connections shows up as errors, not as silence). */
  while (s->pending_len > 0 && now > s->pending[s->pending_head] && now - s->pending[s->pending_head] > timeout_ns) {
    s->errors++;
    s->timeouts++;
    record_latency(s, pending_pop(s), now);
  }
  for (int i = 0; i < s->connections; i++) {
    conn *c = &s->conns[i];
    if (c->state == BUSY && now > c->sent_ns && now - c->sent_ns > timeout_ns) { s->timeouts++; drop_conn(c, 1); }
    else if (c->state == CLOSED && now < send_until_ns) open_conn(c);
  }
}

static void print_summary (const char *name, const histogram *h) {
  printf("\"%s\":{\"count\":%llu,\"mean\":%.1f,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu}", name,
    (unsigned long long)h->total, h->total ? h->sum / (double)h->total : 0.0,
    (unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_percentile(h, 90),
    (unsigned long long)hist_percentile(h, 99), (unsigned long long)hist_percentile(h, 99.9), (unsigned long long)h->max);
}

int main (int argc, char **argv) {
  double duration = 10, warmup = 2, timeout = 10;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) duration = atof(argv[++i]);
    else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) warmup = atof(argv[++i]);
    else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout = atof(argv[++i]);
    else if (strcmp(argv[i], "--stream") == 0 && i + 3 < argc) {
      if (stream_count == MAX_STREAMS) die("too many streams");
      stream *s = &streams[stream_count++];
      parse_url(s, argv[++i]);
      s->rate = atof(argv[++i]);
      s->connections = atoi(argv[++i]);
      if (s->rate <= 0) die("RATE must be a positive number of requests per second");
      if (s->connections <= 0 || s->connections > 10000) die("CONNECTIONS must be between 1 and 10000");
    } else {
      fprintf(stderr, "usage: fixed-rate [--duration S] [--warmup S] [--timeout S] --stream URL RATE CONNECTIONS [--stream ...]\n");
      return 2;
    }
  }
  if (stream_count == 0) die("at least one --stream URL RATE CONNECTIONS is needed");
  if (duration <= 0 || warmup < 0 || timeout <= 0) die("--duration and --timeout must be positive, --warmup not negative");
  /* Wake-ups as close to due as the kernel allows: the default timer slack is 50 µs. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event timer_event = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event);

  start_ns = now_ns() + 200000000ull; /* connections open first */
  record_from_ns = start_ns + (uint64_t)(warmup * 1e9);
  send_until_ns = record_from_ns + (uint64_t)(duration * 1e9);
  timeout_ns = (uint64_t)(timeout * 1e9);
  for (int k = 0; k < stream_count; k++) {
    stream *s = &streams[k];
    s->conns = calloc((size_t)s->connections, sizeof(conn));
    s->idle = calloc((size_t)s->connections, sizeof(conn *));
    s->pending = malloc(sizeof(uint64_t) * PENDING_CAP);
    if (s->conns == NULL || s->idle == NULL || s->pending == NULL) die("out of memory");
    s->next_due_ns = start_ns;
    for (int i = 0; i < s->connections; i++) { s->conns[i].stream = s; s->conns[i].fd = -1; open_conn(&s->conns[i]); }
  }

  struct epoll_event events[256];
  uint64_t last_expire = 0;
  for (;;) {
    uint64_t now = now_ns();
    int expire_now = now - last_expire > 100000000ull;
    if (expire_now) last_expire = now;
    int busy = 0;
    for (int k = 0; k < stream_count; k++) {
      dispatch_due(&streams[k], now);
      if (expire_now) expire(&streams[k], now);
      if (now < send_until_ns) continue;
      for (int i = 0; i < streams[k].connections; i++) busy += streams[k].conns[i].state == BUSY;
      busy += (int)streams[k].pending_len;
    }
    if (now >= send_until_ns && busy == 0) break;
    if (now >= send_until_ns + timeout_ns + 1000000000ull) break;
    uint64_t wake = now + 100000000ull;
    for (int k = 0; k < stream_count; k++) {
      if (streams[k].next_due_ns < send_until_ns && streams[k].next_due_ns < wake) wake = streams[k].next_due_ns;
    }
    struct itimerspec spec = { .it_value = { .tv_sec = (time_t)(wake / 1000000000ull), .tv_nsec = (long)(wake % 1000000000ull) } };
    timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, NULL);
    int n = epoll_wait(epoll_fd, events, 256, -1);
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) { uint64_t expirations; ssize_t r = read(timer_fd, &expirations, sizeof expirations); (void)r; continue; }
      on_event((conn *)events[i].data.ptr, events[i].events);
    }
  }

  printf("{\"durationSeconds\":%.3f,\"streams\":[", duration);
  for (int k = 0; k < stream_count; k++) {
    stream *s = &streams[k];
    for (int i = 0; i < s->connections; i++) if (s->conns[i].state == BUSY) { s->errors++; s->timeouts++; }
    s->errors += s->pending_len;
    s->timeouts += s->pending_len;
    printf("%s{\"url\":\"%s\",\"rate\":%.1f,\"connections\":%d,\"sent\":%llu,\"completed\":%llu,\"ok\":%llu,\"non2xx\":%llu,\"errors\":%llu,\"timeouts\":%llu,\"overflow\":%llu,",
      k ? "," : "", s->url, s->rate, s->connections, (unsigned long long)s->sent, (unsigned long long)s->completed,
      (unsigned long long)s->ok, (unsigned long long)s->non2xx, (unsigned long long)s->errors,
      (unsigned long long)s->timeouts, (unsigned long long)s->overflow);
    print_summary("latencyUs", &s->latency);
    printf(",");
    print_summary("sendLagUs", &s->send_lag);
    printf("}");
  }
  printf("]}\n");
  return 0;
}
