/* util.h — small pure helpers shared by daemon and CLI: durations, times,
 * name-derived UUIDs, the hash of a name, a seeded 64-bit generator, a
 * search in a sorted array.  No I/O.  Each exists once here; the guest
 * agent (guest/augur-guest.c, static and libc-only) keeps its own FNV-1a. */
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

/* FNV-1a, 32 bit (offset basis 2166136261, prime 16777619), of the first
 * len bytes of data: the program / user buckets (buckets.h, which has the
 * test vectors), a VM's split for `--split vm` (model/dataset.c) and the
 * stagger of its slow steps (model/predictor.c). */
guint32 augur_fnv1a32 (const void *data, gsize len);

/* One step of splitmix64 (Steele, Lea & Flood): advances *state and returns
 * the next value.  The same stream on every platform, unlike rand() or
 * GRand across GLib versions: it seeds the NN's xoshiro256** (model/nn.c)
 * and shuffles the training windows (model/train.c). */
guint64 augur_splitmix64 (guint64 *state);

/* Index of the first element >= x in a[0..n), sorted ascending (n when
 * there is none).  O(log n). */
guint augur_lower_bound_f (const float *a, guint n, float x);
/* The same over timestamps (or any gint64). */
gsize augur_lower_bound_i64 (const gint64 *a, gsize n, gint64 x);
