/* testutil.c — the helpers of testutil.h. */
#define _XOPEN_SOURCE 700              /* nftw () */
#include "config.h"

#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>

guint64
augur_test_lcg (guint64 *state)
{
        *state = *state * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
        return *state;
}

double
augur_test_urand (guint64 *state)
{
        return (double) (augur_test_lcg (state) >> 11) / 9007199254740992.0;   /* 2^53 */
}

double
augur_test_nrand (guint64 *state)
{
        double u1 = augur_test_urand (state) + 1e-12;   /* log (0) */
        double u2 = augur_test_urand (state);

        return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

static int
remove_one (const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
        if (remove (path) != 0) {
                g_printerr ("removing %s: %s\n", path, g_strerror (errno));
                return -1;
        }
        return 0;
}

void
augur_test_rm_rf (const char *dir)
{
        int rc;

        g_assert_nonnull (dir);
        /* Depth first (children before their directory), not following
         * symlinks; 16 directory descriptors at most. */
        rc = nftw (dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        g_assert_true (rc == 0 || errno == ENOENT);
}

void
augur_test_uuid (int k, char ret[AUGUR_UUID_STRLEN])
{
        g_snprintf (ret, AUGUR_UUID_STRLEN, "00000000-0000-4000-8000-%012d", k);
}

void
augur_test_write_tick (AugurStore *st, gint64 ts_ms, AugurDomainSample *samples, gsize n)
{
        g_autoptr(GError) error = NULL;
        AugurHostSample h = { 0 };

        augur_host_set (&h, AUGUR_HOST_LOAD1, 0.5);
        g_assert_true (augur_store_write_tick (st, ts_ms, samples, n, &h, 10, NULL, &error));
        g_assert_no_error (error);
        for (gsize i = 0; i < n; i++)
                augur_domain_sample_clear (&samples[i]);
}

gint64
augur_test_db_int (const char *path, const char *sql)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        gint64 v = -1;

        g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
        if (sqlite3_step (st) == SQLITE_ROW)
                v = sqlite3_column_int64 (st, 0);
        sqlite3_finalize (st);
        sqlite3_close (db);
        return v;
}
