/* cli-json.h — how virt-augur writes JSON: one writer for every command,
 * and one shape for a domain.
 *
 * NUMBERS.  json-glib (1.6) writes every double with "%.17g": a quantile
 * of 0.9 came out as 0.90000000000000002 and a count held in a double as
 * 2.0, and 1e21 as "1e+21.0", which is not JSON at all.  This writer
 * keeps six significant digits, more where the integer part needs them
 * (a unix time, a KiB count: every digit of it), and writes integral
 * values without a decimal point: 0.9, 0.3 (for 0.1 + 0.2), 1796612483,
 * 1048576, 1e+21; NaN and infinities are null.  Integers (json-glib's
 * int64 values) are written as they are.  Counts and times are added as
 * integers (json_builder_add_int_value), so they are integers whatever
 * this writer does with doubles.
 *
 * THE DOMAIN SHAPE.  Where an object is about a domain (a decision, a
 * forecast, a policy, a retraining score), the domain is one member,
 * "domain": {"name": ..., "uuid": ...}.  Where an object is a domain (an
 * entry of `list`, a guest of `top`), "name" and "uuid" are its own
 * members.  Before, "domain" was the UUID in `forecast` and the name in
 * `actions` and `policy`.
 *
 * The text is json-glib's layout: pretty is two spaces per level and
 * "key" : value; compact has no spaces.  Strings are escaped as RFC 8259
 * asks (", \\, control characters; \n, \r, \t by name, the others as
 * \u00XX), everything else as it is (UTF-8).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* (transfer full) root as JSON text, without a final newline. */
char *augur_cli_json_text (JsonNode *root, gboolean pretty);

/* Print b's root and a newline to standard output. */
void augur_cli_json_print (JsonBuilder *b, gboolean pretty);

/* Add the member "domain": {"name": name, "uuid": uuid} to the object b
 * is building (NULL strings are null). */
void augur_cli_json_domain (JsonBuilder *b, const char *name, const char *uuid);

/* Add the member key: v to the object b is building, null when v is NaN
 * (through the writer above: six significant digits). */
void augur_cli_json_num (JsonBuilder *b, const char *key, double v);

/* Add the member key: v, null when v is negative (unknown): a count, a
 * version or a time in unix seconds, always as an integer.  Not through
 * augur_cli_json_num: "v < 0 ? NAN : v" is a float expression (NAN is a
 * float), which rounded unix seconds to 128 s. */
void augur_cli_json_count (JsonBuilder *b, const char *key, gint64 v);
