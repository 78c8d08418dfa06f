/* buckets.h — per-user activity signals folded into a fixed number of
 * hashed buckets, so the model's input size stays fixed however many users
 * a guest has.
 *
 * What it is: the one definition of the hash, the bucket count and the
 * per-bucket unit, shared by the daemon (plugin/activity-parse.c: live
 * reports), the trace importer (model/trace.c: the columns user_b0..3) and,
 * through its test vectors, scripts/gen-scenarios (awk) and
 * guest/augur-guest.c (static libc; it folds user names itself so that no
 * name leaves the guest).  What it is not: a feature; model/features.c
 * turns bucket values into features.
 *
 * HASH
 *   FNV-1a, 32 bit (offset basis 2166136261, prime 16777619) over the
 *   bytes of the name as reported (a user's utmp ut_user), no terminator.
 *   bucket = hash mod B.  Stable across hosts, builds and versions: a
 *   bucket number in a stored trace means the same thing tomorrow.  Test
 *   vectors (tests/test-buckets.c, scripts/gen-scenarios self-check,
 *   guest/REPORT-SCHEMA.md):
 *     fnv1a("")     = 0x811c9dc5      fnv1a("cc1")  = 0xb56f5f56
 *     fnv1a("make") = 0xe18c56af      fnv1a("root") = 0x20fd0e45
 *
 * BUCKETS AND UNITS
 *   AUGUR_USER_BUCKETS = 4   column user_bK = logged-in sessions (utmp
 *                            USER_PROCESS entries, the unit of "sessions")
 *                            of the users whose name hashes to K; the four
 *                            sum to sessions.
 *   Why 4: a guest rarely has more than 2-3 users logged in.  A collision
 *   only merges two users' sessions.
 *
 * PROGRAM BUCKETS: REMOVED
 *   Eight more buckets, prog_b0..7 (the CPU of the guest's top programs
 *   by the hash of their comm), were collected until stop 27.  On the
 *   scenario traces whose spike size depends on the program started they
 *   gained nothing, measured twice (BENCHMARKS-replay.md "Scenario
 *   families v2": 225 vs 223 program-family jobs caught with and without
 *   buckets; section 11b, the columns zeroed in training and replay: 823
 *   vs 810 announced spikes pre-provisioned, the program family 215 vs
 *   212 of 230), so they were removed: the model issue's item 6 says a
 *   signal that does not pay goes.  The guest still reports its top programs;
 *   augurd stores them as sent (activity.top_programs) and nothing
 *   forecasts from them.  The user buckets stay: +31 to +144 announced spikes on
 *   the families whose spikes depend on the user.
 *
 * WHAT THE BUCKETS CARRY AND WHAT NOT
 *   They say "a user of this hash class is logged in", not which: a bucket
 *   is shared by every name that hashes there.  No name, command line,
 *   window title or keystroke is ever involved.
 */
#pragma once

#include <glib.h>

#define AUGUR_USER_BUCKETS 4

/* FNV-1a 32-bit of the first len bytes of name. */
guint32 augur_bucket_hash (const char *name, gsize len);

/* Bucket of a NUL-terminated name among n_buckets (> 0). */
guint augur_bucket_of (const char *name, guint n_buckets);

/* Add sessions of user name into its user bucket.
 * user_sessions: (AUGUR_USER_BUCKETS) counts. */
void augur_buckets_add_user (float *user_sessions, const char *user, float sessions);
