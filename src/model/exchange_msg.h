/* SPDX-License-Identifier: MIT */
/* HTTP message -> JSON, with redaction (internal to model/exchange.c). */
#ifndef AT_MODEL_EXCHANGE_MSG_H
#define AT_MODEL_EXCHANGE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/exchange.h"

/* A monotonic capture time as wall-clock ns (0 stays 0). */
int64_t xmsg_wall(const struct exchange_sink *sk, uint64_t mono_ns);
/* The first value of header `name` (lower-case), or NULL. */
const char *xmsg_header(const struct http1_message *m, const char *name);
/*
 * The record half for message m; NULL when out of memory. With body_out,
 * *body_out receives the redacted body (malloc'd, NUL-terminated) and
 * *body_len_out its length.
 */
json_t *xmsg_json(const struct exchange_sink *sk, const struct http1_message *m,
		  uint8_t **body_out, size_t *body_len_out);

#endif
