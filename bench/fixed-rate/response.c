#define _GNU_SOURCE
#include "response.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void response_reset (response_parser *r) {
  r->head_len = 0;
  r->in_body = 0;
}

static int header_has (const char *value, const char *end, const char *word) {
  const char *at = strcasestr(value, word);
  return at != NULL && at < end;
}

static void parse_head (response_parser *r) {
  r->status = 0;
  r->close_after = 0;
  r->mode = BODY_UNTIL_CLOSE;
  r->body_left = 0;
  if (r->head_len > 12 && strncmp(r->head, "HTTP/1.", 7) == 0) r->status = atoi(r->head + 9);
  if (strncmp(r->head, "HTTP/1.0", 8) == 0) r->close_after = 1;
  char *line = strstr(r->head, "\r\n");
  while (line != NULL && line[2] != '\r') {
    char *name = line + 2;
    char *end = strstr(name, "\r\n");
    if (end == NULL) break;
    if (strncasecmp(name, "content-length:", 15) == 0) {
      r->mode = BODY_LENGTH;
      r->body_left = strtoull(name + 15, NULL, 10);
    } else if (strncasecmp(name, "transfer-encoding:", 18) == 0 && header_has(name, end, "chunked")) {
      r->mode = BODY_CHUNKED;
      r->chunk = CHUNK_SIZE;
      r->chunk_left = 0;
    } else if (strncasecmp(name, "connection:", 11) == 0) {
      if (header_has(name, end, "close")) r->close_after = 1;
      if (header_has(name, end, "keep-alive")) r->close_after = 0;
    }
    line = end;
  }
  /* 1xx, 204 and 304 carry no body. */
  if ((r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304) { r->mode = BODY_LENGTH; r->body_left = 0; }
}

static int hex_digit (char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  char lower = (char)(ch | 32);
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

static int feed_chunked (response_parser *r, const char *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char ch = data[i];
    switch (r->chunk) {
      case CHUNK_SIZE:
        if (ch == '\r') r->chunk = CHUNK_SIZE_LF;
        else if (ch == ';') r->chunk = CHUNK_EXT;
        else {
          int digit = hex_digit(ch);
          if (digit < 0) return RESPONSE_ERROR;
          r->chunk_left = r->chunk_left * 16 + (uint64_t)digit;
        }
        break;
      case CHUNK_EXT:
        if (ch == '\r') r->chunk = CHUNK_SIZE_LF;
        break;
      case CHUNK_SIZE_LF:
        if (ch != '\n') return RESPONSE_ERROR;
        if (r->chunk_left == 0) { r->chunk = CHUNK_TRAILER; r->trailer_line_len = 0; } else r->chunk = CHUNK_DATA;
        break;
      case CHUNK_DATA: {
        size_t take = len - i < r->chunk_left ? len - i : (size_t)r->chunk_left;
        r->chunk_left -= take;
        i += take - 1;
        if (r->chunk_left == 0) r->chunk = CHUNK_DATA_CR;
        break;
      }
      case CHUNK_DATA_CR:
        if (ch != '\r') return RESPONSE_ERROR;
        r->chunk = CHUNK_DATA_LF;
        break;
      case CHUNK_DATA_LF:
        if (ch != '\n') return RESPONSE_ERROR;
        r->chunk = CHUNK_SIZE;
        break;
      case CHUNK_TRAILER:
        /* Trailer lines end at an empty line. */
        if (ch == '\n') {
          if (r->trailer_line_len == 0) return RESPONSE_DONE;
          r->trailer_line_len = 0;
        } else if (ch != '\r') r->trailer_line_len++;
        break;
    }
  }
  return RESPONSE_MORE;
}

static int feed_body (response_parser *r, const char *data, size_t len) {
  if (r->mode == BODY_LENGTH) {
    r->body_left = len >= r->body_left ? 0 : r->body_left - len;
    return r->body_left == 0 ? RESPONSE_DONE : RESPONSE_MORE;
  }
  if (r->mode == BODY_UNTIL_CLOSE) return RESPONSE_MORE;
  return feed_chunked(r, data, len);
}

int response_feed (response_parser *r, const char *data, size_t len) {
  size_t offset = 0;
  while (offset < len) {
    if (!r->in_body) {
      size_t room = sizeof r->head - 1 - r->head_len;
      size_t take = len - offset < room ? len - offset : room;
      size_t before = r->head_len;
      memcpy(r->head + r->head_len, data + offset, take);
      r->head_len += take;
      r->head[r->head_len] = 0;
      char *end = strstr(r->head + (before > 3 ? before - 3 : 0), "\r\n\r\n");
      if (end == NULL) {
        if (r->head_len >= sizeof r->head - 1) return RESPONSE_ERROR;
        return RESPONSE_MORE;
      }
      offset += (size_t)(end - r->head) + 4 - before;
      parse_head(r);
      r->in_body = 1;
      /* An interim response (100 Continue): the final one follows. */
      if (r->status >= 100 && r->status < 200) { response_reset(r); continue; }
    }
    /* Pipelining is off: whatever follows a complete response belongs to nobody. */
    return feed_body(r, data + offset, len - offset);
  }
  return RESPONSE_MORE;
}

int response_eof (response_parser *r) {
  if (r->in_body && r->mode == BODY_UNTIL_CLOSE) { r->close_after = 1; return RESPONSE_DONE; }
  return RESPONSE_ERROR;
}
