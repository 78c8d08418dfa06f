/* util.h — small pure helpers shared by daemon and CLI: durations, times,
 * name-derived UUIDs.  No I/O. */
#pragma once

#include <glib.h>

/* Parse a decimal number at the start of text: an optional sign, digits
 * with an optional fraction, an optional exponent ("5", "-0.5", "1e3",
 * ".5").  What g_ascii_strtod takes beyond that (hexadecimal "0x10",
 * "inf", "nan", leading spaces) is refused: "--tick 0x10" must not mean
 * 16 s.  With ret_end NULL the whole text must be the number; otherwise
 * *ret_end points after it.  Returns FALSE (nothing set) if text does not
 * start with a decimal number or it overflows. */
gboolean augur_parse_decimal (const char *text, double *ret, const char **ret_end);

/* Parse "90s", "15m", "1h", "2d", "1.5h" or a bare number of seconds into
 * seconds (decimal only, see augur_parse_decimal).  Returns FALSE and sets
 * error on anything else or on overflow. */
gboolean augur_parse_duration_s (const char *text, double *ret_s, GError **error);

/* Parse unix seconds ("1372629804") or ISO 8601 ("2013-07-01T00:00:00Z";
 * no zone means UTC) into unix seconds. */
gboolean augur_parse_time_s (const char *text, gint64 *ret_s, GError **error);

/* UUID v5 (SHA-1, RFC 4122) of name in augur's own namespace, written as a
 * 36-char string into out (37 bytes).  Imported VMs get their UUID this way,
 * so re-importing the same name lands on the same domain. */
void augur_uuid_v5_from_name (const char *name, char out[37]);

/* TRUE if text looks like a canonical 36-char UUID. */
gboolean augur_is_uuid (const char *text);

/* Wall clock in milliseconds since the epoch. */
gint64 augur_now_ms (void);
