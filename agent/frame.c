/* frame: length-prefixed protobuf Envelopes (see frame.h). */
#include "frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int frame_encode(const CassandraAgent__V1__Envelope *env, uint8_t **out, size_t *len)
{
	size_t n = cassandra_agent__v1__envelope__get_packed_size(env);
	uint8_t *buf;

	if (n > FRAME_MAX)
		return -EMSGSIZE;
	buf = malloc(FRAME_HEADER + n);
	if (!buf)
		return -ENOMEM;
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	cassandra_agent__v1__envelope__pack(env, buf + FRAME_HEADER);
	*out = buf;
	*len = FRAME_HEADER + n;
	return 0;
}

size_t frame_decoder_pending(const struct frame_decoder *d)
{
	return d->len - d->off;
}

int frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len)
{
	size_t pending = d->len - d->off;

	/* Move the unconsumed bytes to the front before growing. */
	if (d->off) {
		memmove(d->buf, d->buf + d->off, pending);
		d->len = pending;
		d->off = 0;
	}
	if (len > d->cap - d->len) {
		size_t cap = d->cap ? d->cap : 16384;
		uint8_t *p;

		while (cap - d->len < len)
			cap *= 2;
		p = realloc(d->buf, cap);
		if (!p)
			return -ENOMEM;
		d->buf = p;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
	return 0;
}

/* True when `m` or a message inside it kept an unknown field numbered 0: no valid protobuf
 * has one (libprotobuf-c 1.4 accepts a two-byte tag of field 0 as unknown), so such bytes
 * are not an Envelope. */
static bool has_field_zero(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > 32)
		return true;
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);

			for (size_t k = 0; k < n; k++)
				if (v[k] && has_field_zero(v[k], depth + 1))
					return true;
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);

		if (sub && has_field_zero(sub, depth + 1))
			return true;
	}
	return false;
}

int frame_decoder_next(struct frame_decoder *d, CassandraAgent__V1__Envelope **env, char *err, size_t errlen)
{
	const uint8_t *p = d->buf + d->off;
	size_t avail = d->len - d->off;
	uint32_t n;

	if (avail < FRAME_HEADER)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n > FRAME_MAX) {
		snprintf(err, errlen, "frame of %u bytes is over the %u-byte limit", n, FRAME_MAX);
		return -EMSGSIZE;
	}
	if (avail - FRAME_HEADER < n)
		return 0;
	*env = cassandra_agent__v1__envelope__unpack(NULL, n, p + FRAME_HEADER);
	if (*env && has_field_zero(&(*env)->base, 0)) {
		cassandra_agent__v1__envelope__free_unpacked(*env, NULL);
		*env = NULL;
	}
	if (!*env) {
		snprintf(err, errlen, "frame of %u bytes is not a valid Envelope", n);
		return -EBADMSG;
	}
	d->off += FRAME_HEADER + n;
	if (d->off == d->len)
		d->off = d->len = 0;
	return 1;
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	memset(d, 0, sizeof *d);
}
