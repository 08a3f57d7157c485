/* pb_json: descriptor-driven conversion of protobuf-c messages to jansson JSON values. */
#include "pb_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *pb_json_message(const ProtobufCMessage *msg);

/* Returns the member `offset` bytes into the structure at `base` (a message or map entry). */
static const void *pb_json_at(const void *base, unsigned offset)
{
	return (const char *)base + offset;
}

/* Returns the size of one stored value of `type`, as laid out in a repeated field's array. */
static size_t pb_json_value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM: return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	default: return 0;
	}
}

/*
 * Measures the UTF-8 sequence at `p` (`left` >= 1 bytes remain). Sets `*valid` and returns
 * the length of the well-formed sequence, or of the maximal ill-formed subpart (at least 1),
 * rejecting overlong forms, surrogates and code points above U+10FFFF.
 */
static size_t pb_json_utf8_len(const unsigned char *p, size_t left, bool *valid)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;

	*valid = false;
	if (p[0] < 0x80) {
		*valid = true;
		return 1;
	} else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 1;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 2;
		lo = p[0] == 0xE0 ? 0xA0 : 0x80;
		hi = p[0] == 0xED ? 0x9F : 0xBF;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 3;
		lo = p[0] == 0xF0 ? 0x90 : 0x80;
		hi = p[0] == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= left || p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xBF;
	}
	*valid = true;
	return need + 1;
}

/* Returns a JSON string for `s` (`len` bytes), each ill-formed UTF-8 subpart replaced by U+FFFD. */
static json_t *pb_json_string(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, n;
	bool valid = true;
	char *buf;
	json_t *j;

	while (i < len && valid)
		i += pb_json_utf8_len(p + i, len - i, &valid);
	if (valid)
		return json_stringn_nocheck(s, len);
	/* Each replaced subpart is at least one byte and becomes three. */
	if (len > SIZE_MAX / 3 || !(buf = malloc(len * 3)))
		return NULL;
	for (i = 0; i < len; i += n) {
		n = pb_json_utf8_len(p + i, len - i, &valid);
		if (valid) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			// NOLINTNEXTLINE(bugprone-not-null-terminated-result): U+FFFD into the middle of buf
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
		}
	}
	j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}

/* Returns a JSON string holding `len` bytes of `data` in standard, padded base64. */
static json_t *pb_json_base64(const uint8_t *data, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t out_len, i, o = 0;
	char *out;
	json_t *j;

	if (len == 0)
		return json_string_nocheck("");
	if (len > SIZE_MAX / 4 * 3 || !(out = malloc((out_len = (len + 2) / 3 * 4))))
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		// NOLINTNEXTLINE(bugprone-narrowing-conversions): a char either way, '=' is an int in C
		out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	j = json_stringn_nocheck(out, out_len);
	free(out);
	return j;
}

/* Returns `v` as a JSON integer, or as a decimal string when it exceeds INT64_MAX. */
static json_t *pb_json_uint64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string_nocheck(buf);
}

/* Returns `d` as a JSON real, or null when it is NaN or infinite (JSON has no such numbers). */
static json_t *pb_json_real(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

/* Converts one value of `field` stored at `p` (the field's slot or one array element). */
static json_t *pb_json_value(const ProtobufCFieldDescriptor *field, const void *p)
{
	switch (field->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return pb_json_uint64(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT: return pb_json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE: return pb_json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t v = *(const int32_t *)p;
		const ProtobufCEnumValue *ev =
			field->descriptor ? protobuf_c_enum_descriptor_get_value(field->descriptor, v) : NULL;
		return ev ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		/* A NULL string is proto3's empty default, as protobuf-c's packer treats it. */
		const char *s = *(const char *const *)p;
		return s ? pb_json_string(s, strlen(s)) : json_string_nocheck("");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		return pb_json_base64(b->data, b->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
		return m ? pb_json_message(m) : json_null();
	}
	default: return NULL;
	}
}

/*
 * Tells whether `field` of messages of type `parent` is a map. protoc represents a field
 * `map<K, V> name` as a repeated nested message <Parent>.<CamelName>Entry with fields
 * key = 1 and value = 2, and rejects user-defined types with that name.
 */
static bool pb_json_is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *field)
{
	const ProtobufCMessageDescriptor *entry = field->descriptor;
	size_t plen = strlen(parent->name);
	const char *s;
	bool cap = true;

	if (field->label != PROTOBUF_C_LABEL_REPEATED || field->type != PROTOBUF_C_TYPE_MESSAGE || entry == NULL ||
	    entry->n_fields != 2 || entry->fields[0].id != 1 || entry->fields[1].id != 2 ||
	    strcmp(entry->fields[0].name, "key") != 0 || strcmp(entry->fields[1].name, "value") != 0 ||
	    strncmp(entry->name, parent->name, plen) != 0 || entry->name[plen] != '.' ||
	    strcmp(entry->name + plen + 1, entry->short_name) != 0)
		return false;
	/* protoc's MapEntryName(): drop underscores, capitalise the first letter and each one after '_'. */
	s = entry->short_name;
	for (const char *f = field->name; *f != '\0'; f++) {
		char want = *f;

		if (want == '_') {
			cap = true;
			continue;
		}
		if (cap && want >= 'a' && want <= 'z')
			want = (char)(want - 'a' + 'A');
		cap = false;
		if (*s++ != want)
			return false;
	}
	return strcmp(s, "Entry") == 0;
}

/* Adds the map entry message at `elem` (entry type `entry_desc`) to `obj`; returns 0, or -1 on failure. */
static int pb_json_map_add(json_t *obj, const ProtobufCMessageDescriptor *entry_desc, const void *elem)
{
	const ProtobufCMessage *entry = *(const ProtobufCMessage *const *)elem;
	const ProtobufCFieldDescriptor *kf = &entry_desc->fields[0], *vf = &entry_desc->fields[1];
	json_t *key, *val;
	const char *k = NULL;
	char buf[32];
	int rc = -1;

	if (entry == NULL)
		return 0;
	key = pb_json_value(kf, pb_json_at(entry, kf->offset));
	val = pb_json_value(vf, pb_json_at(entry, vf->offset));
	/* JSON keys are strings: integer keys in decimal, bool keys as "true"/"false". */
	if (json_is_string(key)) {
		k = json_string_value(key);
	} else if (json_is_integer(key)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
		k = buf;
	} else if (json_is_boolean(key)) {
		k = json_is_true(key) ? "true" : "false";
	}
	if (k != NULL && val != NULL)
		rc = json_object_set_new(obj, k, val);
	else
		json_decref(val);
	json_decref(key);
	return rc;
}

/* Adds `field` of `msg` to `obj` unless it is an unset oneof member; returns 0, or -1 on failure. */
static int pb_json_field(json_t *obj, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
	json_t *v;

	/* A oneof member's quantifier_offset locates the oneof's case (the set member's id). */
	if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	    *(const uint32_t *)pb_json_at(msg, field->quantifier_offset) != field->id)
		return 0;
	if (field->label == PROTOBUF_C_LABEL_REPEATED) {
		/* A repeated field's quantifier_offset locates its n_<name> count. */
		size_t n = *(const size_t *)pb_json_at(msg, field->quantifier_offset);
		size_t size = pb_json_value_size(field->type);
		const char *arr = *(const char *const *)pb_json_at(msg, field->offset);
		bool map = pb_json_is_map(msg->descriptor, field);

		v = map ? json_object() : json_array();
		for (size_t i = 0; v != NULL && arr != NULL && i < n; i++) {
			const void *elem = arr + i * size;

			if (map ? pb_json_map_add(v, field->descriptor, elem) != 0
				: json_array_append_new(v, pb_json_value(field, elem)) != 0) {
				json_decref(v);
				v = NULL;
			}
		}
	} else {
		v = pb_json_value(field, pb_json_at(msg, field->offset));
	}
	if (v == NULL)
		return -1;
	return json_object_set_new_nocheck(obj, field->name, v);
}

/* Converts `msg` after checking its descriptor; returns NULL on failure. */
static json_t *pb_json_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	json_t *obj;

	if (desc == NULL || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
		return NULL;
	obj = json_object();
	for (unsigned i = 0; obj != NULL && i < desc->n_fields; i++) {
		if (pb_json_field(obj, msg, &desc->fields[i]) != 0) {
			json_decref(obj);
			obj = NULL;
		}
	}
	return obj;
}

json_t *pb_json_from_message(const ProtobufCMessage *msg)
{
	return msg != NULL ? pb_json_message(msg) : NULL;
}
