/* test-buckets.c — hashed program / user buckets (common/buckets.c).
 *
 *   /buckets/hash-vectors   FNV-1a 32 against the published test vectors and
 *                           the ones documented in buckets.h, REPORT-SCHEMA.md
 *                           and scripts/gen-scenarios (they must never change:
 *                           stored traces and trained models depend on them)
 *   /buckets/aggregate      programs sum into their bucket (collisions add),
 *                           users' sessions likewise; totals are preserved
 */
#include "buckets.h"

#include <string.h>

static void
test_buckets_hash_vectors (void)
{
        static const struct {
                const char *name;
                guint32 hash;
                guint prog, user;
        } rows[] = {
                /* published FNV-1a 32 vectors (draft-eastlake-fnv) */
                { "", 0x811c9dc5u, 5, 1 },
                { "a", 0xe40c292cu, 4, 0 },
                { "foobar", 0xbf9cf968u, 0, 0 },
                /* documented in buckets.h and used by gen-scenarios */
                { "cc1", 0xb56f5f56u, 6, 2 },
                { "make", 0xe18c56afu, 7, 3 },
                { "root", 0x20fd0e45u, 5, 1 },
                { "vim", 0x75123ef7u, 7, 3 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_test_message ("row %" G_GSIZE_FORMAT ": \"%s\"", i, rows[i].name);
                g_assert_cmphex (augur_bucket_hash (rows[i].name, strlen (rows[i].name)), ==, rows[i].hash);
                g_assert_cmpuint (augur_bucket_of (rows[i].name, AUGUR_PROG_BUCKETS), ==, rows[i].prog);
                g_assert_cmpuint (augur_bucket_of (rows[i].name, AUGUR_USER_BUCKETS), ==, rows[i].user);
        }
        /* len, not the terminator, bounds the hash */
        g_assert_cmphex (augur_bucket_hash ("cc1xyz", 3), ==, 0xb56f5f56u);
}

static void
test_buckets_aggregate (void)
{
        float prog[AUGUR_PROG_BUCKETS] = { 0 };
        float user[AUGUR_USER_BUCKETS] = { 0 };
        float sum = 0;

        augur_buckets_add_program (prog, "cc1", 150.0f);
        augur_buckets_add_program (prog, "make", 2.0f);
        augur_buckets_add_program (prog, "vim", 1.5f);     /* collides with make */
        augur_buckets_add_program (prog, "root", 0.5f);
        g_assert_cmpfloat (prog[6], ==, 150.0f);
        g_assert_cmpfloat (prog[7], ==, 3.5f);
        g_assert_cmpfloat (prog[5], ==, 0.5f);
        for (int b = 0; b < AUGUR_PROG_BUCKETS; b++)
                sum += prog[b];
        g_assert_cmpfloat (sum, ==, 154.0f);

        augur_buckets_add_user (user, "root", 2);
        augur_buckets_add_user (user, "vim", 1);
        augur_buckets_add_user (user, "make", 1);
        g_assert_cmpfloat (user[1], ==, 2.0f);
        g_assert_cmpfloat (user[3], ==, 2.0f);
        g_assert_cmpfloat (user[0] + user[2], ==, 0.0f);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/buckets/hash-vectors", test_buckets_hash_vectors);
        g_test_add_func ("/buckets/aggregate", test_buckets_aggregate);
        return g_test_run ();
}
