/*
 * Just enough of an HTTP/1.1 response parser for a load generator: the status, where the body
 * ends (Content-Length, chunked, or the connection's close) and whether the connection stays
 * open. Headers are gathered whole; the body is only counted, never kept.
 */
#ifndef FIXED_RATE_RESPONSE_H
#define FIXED_RATE_RESPONSE_H
#include <stddef.h>
#include <stdint.h>

enum body_mode { BODY_LENGTH, BODY_CHUNKED, BODY_UNTIL_CLOSE };
enum chunk_state { CHUNK_SIZE, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF, CHUNK_TRAILER };

typedef struct {
  char head[8192];
  size_t head_len;
  int in_body;
  int status;
  /* The server will close after this response (HTTP/1.0, or Connection: close). */
  int close_after;
  enum body_mode mode;
  uint64_t body_left;
  enum chunk_state chunk;
  uint64_t chunk_left;
  int trailer_line_len;
} response_parser;

enum { RESPONSE_ERROR = -1, RESPONSE_MORE = 0, RESPONSE_DONE = 1 };

void response_reset (response_parser *r);
/* Feeds bytes read from the connection: RESPONSE_DONE once a final (non-1xx) response is whole. */
int response_feed (response_parser *r, const char *data, size_t len);
/* The connection closed: RESPONSE_DONE if that is how this response's body ends. */
int response_eof (response_parser *r);

#endif
