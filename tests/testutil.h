/* testutil.h — helpers the unit tests share (libtestutil.a, linked by
 * every test through MODEL_LDADD): a deterministic random stream, a temp
 * directory teardown, and the few store fixtures several tests build the
 * same way.  What it is not: a fake (fake-hv.c, fake-qmp.c are) or a
 * harness (each test is a GTest binary of its own). */
#pragma once

#include <glib.h>

#include "store.h"
#include "units.h"

/* ---- a deterministic random stream ----
 *
 * A 64-bit LCG (Knuth's MMIX constants: x' = 6364136223846793005 x +
 * 1442695040888963407 mod 2^64): the same numbers on every platform and
 * GLib version, unlike rand() or GRand, so a test's synthetic data is the
 * same everywhere.  Each test keeps its own state (a guint64 seed). */

/* Advance *state one step; returns the new state. */
guint64 augur_test_lcg (guint64 *state);
/* Uniform in [0, 1) from the top 53 bits of the next state. */
double augur_test_urand (guint64 *state);
/* Standard normal (Box-Muller over two augur_test_urand draws). */
double augur_test_nrand (guint64 *state);

/* ---- files ---- */

/* Delete dir and everything below it (not following symlinks); asserts
 * that it worked.  A dir that does not exist is fine. */
void augur_test_rm_rf (const char *dir);

/* ---- the store ---- */

/* The UUID of test guest k: 00000000-0000-4000-8000-<k, 12 digits>. */
void augur_test_uuid (int k, char ret[AUGUR_UUID_STRLEN]);
/* Write one tick at ts_ms with the n samples (then cleared) and a host
 * sample with load1 0.5; asserts that it worked. */
void augur_test_write_tick (AugurStore *st, gint64 ts_ms, AugurDomainSample *samples, gsize n);
/* The first column of the first row of sql, run on the database at path
 * through a connection of its own (read-only), as an integer; -1 when
 * there is no row. */
gint64 augur_test_db_int (const char *path, const char *sql);
