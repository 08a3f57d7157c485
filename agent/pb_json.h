/* pb_json: converts any protobuf-c message to JSON (jansson), driven only by its descriptor. */
#ifndef CA_PB_JSON_H
#define CA_PB_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Converts `msg` to a new JSON object; the caller owns the returned reference and
 * releases it with json_decref(). `msg` is only read.
 *
 * Field names are the .proto names, in field-number order. Every field is emitted,
 * including zero and empty defaults; repeated fields become arrays; nested messages
 * become objects, an unset submessage null; of a oneof only the set member is emitted.
 * Enums become their value name ("PEER_STATUS_UP"), or the number when the value is
 * unknown. Bools become true/false. 32- and 64-bit integers of every encoding become
 * JSON integers, except uint64/fixed64 values above INT64_MAX, which become decimal
 * strings. float/double become reals, NaN and infinities null. Strings become strings,
 * with invalid UTF-8 sequences replaced by U+FFFD. bytes become standard, padded
 * base64 strings. Map fields (repeated key/value entry messages) become JSON objects
 * keyed by the key rendered as a string; for a repeated key the last entry wins.
 *
 * Returns NULL on allocation failure, or when `msg` is NULL or lacks a valid
 * message descriptor.
 */
json_t *pb_json_from_message(const ProtobufCMessage *msg);

#endif
