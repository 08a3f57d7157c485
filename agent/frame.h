/* frame: the controller channel's framing (4-byte big-endian length + one Envelope); pure, no I/O. */
#ifndef CA_FRAME_H
#define CA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cassandra_agent/v1/agent.pb-c.h"

#define FRAME_MAX    (4u * 1024u * 1024u) /* largest Envelope accepted or sent, bytes (SPEC section 7) */
#define FRAME_HEADER 4u

/*
 * Packs `env` behind its 4-byte big-endian length into a new buffer (*out, caller frees;
 * *len = 4 + packed size). Returns 0, -EMSGSIZE when the Envelope is over FRAME_MAX, or
 * -ENOMEM.
 */
int frame_encode(const CassandraAgent__V1__Envelope *env, uint8_t **out, size_t *len);

/* Reassembles frames from a byte stream. Zero-initialise, feed bytes, take Envelopes. */
struct frame_decoder {
	uint8_t *buf; /* bytes received and not yet consumed (owned) */
	size_t len, cap;
	size_t off; /* start of the unconsumed bytes in buf */
};

/* Appends `len` bytes. Returns 0 or -ENOMEM. Memory held is bounded by FRAME_MAX plus one read. */
int frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len);

/*
 * Takes the next complete Envelope. Returns 1 and sets *env (free with
 * cassandra_agent__v1__envelope__free_unpacked(*env, NULL)); 0 when more bytes are needed;
 * -EMSGSIZE when the length prefix is over FRAME_MAX; -EBADMSG when the bytes are not an
 * Envelope. After a negative return the stream is unusable (the caller closes it); `err`
 * says why.
 */
int frame_decoder_next(struct frame_decoder *d, CassandraAgent__V1__Envelope **env, char *err, size_t errlen);

/* Bytes buffered and not yet consumed. */
size_t frame_decoder_pending(const struct frame_decoder *d);

void frame_decoder_free(struct frame_decoder *d);

#endif
