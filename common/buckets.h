/* buckets.h — per-program and per-user activity signals folded into a
 * fixed number of hashed buckets, so the model's input size stays fixed
 * however many programs or users a guest has.
 *
 * What it is: the one definition of the hash, the bucket counts and the
 * per-bucket units, shared by the daemon (plugin/activity-parse.c: live
 * reports), the trace importer (model/trace.c: the columns prog_b0..7,
 * user_b0..3) and, through its test vectors, scripts/gen-scenarios (awk) and
 * guest/augur-guest.c (static libc; it folds user names itself so that no
 * name leaves the guest).  What it is not: a feature; model/features.c
 * turns bucket values into features.
 *
 * HASH
 *   FNV-1a, 32 bit (offset basis 2166136261, prime 16777619) over the
 *   bytes of the name as reported (a program's kernel comm, at most 15
 *   bytes; a user's utmp ut_user), no terminator.  bucket = hash mod B.
 *   Stable across hosts, builds and versions: a bucket number in a stored
 *   trace means the same thing tomorrow.  Test vectors (tests/test-buckets.c,
 *   scripts/gen-scenarios self-check, guest/REPORT-SCHEMA.md):
 *     fnv1a("")     = 0x811c9dc5      fnv1a("cc1")  = 0xb56f5f56
 *     fnv1a("make") = 0xe18c56af      fnv1a("root") = 0x20fd0e45
 *
 * BUCKETS AND UNITS
 *   AUGUR_PROG_BUCKETS = 8   column prog_bK = summed cpu_pct (percent of
 *                            ONE CPU, as in the report's "top") of the top
 *                            programs whose comm hashes to K.  0 = none of
 *                            the reported programs landed there.
 *   AUGUR_USER_BUCKETS = 4   column user_bK = logged-in sessions (utmp
 *                            USER_PROCESS entries, the unit of "sessions")
 *                            of the users whose name hashes to K; the four
 *                            sum to sessions.
 *   Why 8 and 4: a report names at most 5 programs and a guest rarely has
 *   more than 2-3 users logged in.  With 8 buckets the expected number of
 *   colliding pairs among 5 programs is C(5,2)/8 = 1.25; 16 would halve that
 *   but add 8 more inputs to a 56-input model for programs the top-5 list
 *   seldom holds.  A collision only merges two programs' CPU, and the same
 *   program lands in the same bucket on every VM, so what the net learns
 *   about "bucket of cc1" carries across VMs.
 *
 * WHAT THEY ARE WORTH (BENCHMARKS-replay.md "Scenario families v2", 11b, 11c)
 *   The user buckets: +31 to +144 announced spikes pre-provisioned on the
 *   scenario families whose spikes depend on who logged in (model paths).
 *   The program buckets: nothing on the family whose spike size depends on
 *   the program, but removing them (tried in stop 27) cost about 40 of
 *   1017 announced spikes with the precursor bound on, in the lag, burst
 *   and jitter families, in every run of two training seeds each way
 *   (validation; about 10 of 1028 on the test seed, scored once).
 *
 * WHAT THE BUCKETS CARRY AND WHAT NOT
 *   They say "a program / user of this hash class is busy / logged in", not
 *   which: a bucket is shared by every name that hashes there.  Only the top
 *   programs by CPU are seen (at most 5), so a program that starts but uses
 *   little CPU is invisible.  No command line, argument, window title or
 *   keystroke is ever involved.
 */
#pragma once

#include <glib.h>

#define AUGUR_PROG_BUCKETS 8
#define AUGUR_USER_BUCKETS 4

/* FNV-1a 32-bit of the first len bytes of name. */
guint32 augur_bucket_hash (const char *name, gsize len);

/* Bucket of a NUL-terminated name among n_buckets (> 0). */
guint augur_bucket_of (const char *name, guint n_buckets);

/* Add cpu_pct of program comm into its program bucket.
 * prog_pct: (AUGUR_PROG_BUCKETS) percent of one CPU. */
void augur_buckets_add_program (float *prog_pct, const char *comm, float cpu_pct);

/* Add sessions of user name into its user bucket.
 * user_sessions: (AUGUR_USER_BUCKETS) counts. */
void augur_buckets_add_user (float *user_sessions, const char *user, float sessions);
