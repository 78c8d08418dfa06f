/* test-store.c — the history store (sql/store*.c): schema and migrations,
 * the per-tick transaction, rollups and counter resets, retention, imports,
 * domain lookup, and failure paths (newer schema, corrupt file, full disk),
 * with injected faults: another writer holding the lock, I/O errors at
 * every write of a tick, the -wal file removed under a running writer. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store-decisions.h"
#include "store-test.h"
#include "util.h"
#include "testutil.h"

/* Guests per tick in the fault-injection tests. */
#define FAULT_VMS 16

typedef struct {
        char *dir;
        char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
        f->dir = g_dir_make_tmp ("augur-store-XXXXXX", NULL);
        g_assert_nonnull (f->dir);
        f->path = g_build_filename (f->dir, "augur.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
        augur_test_rm_rf (f->dir);
        g_free (f->dir);
        g_free (f->path);
}

/* A raw live sample of domain "vm<k>". */
static AugurDomainSample
live (int k, gint64 cpu_ns, gint64 unused_kib)
{
        AugurDomainSample s = { 0 };

        augur_test_uuid (k, s.uuid);
        s.name = g_strdup_printf ("vm%d", k);
        s.id = k;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        augur_sample_set (&s, AUGUR_STAT_CPU_TIME_NS, cpu_ns);
        augur_sample_set (&s, AUGUR_STAT_VCPU_CURRENT, 2);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_CURRENT_KIB, 1048576);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, 1000000);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_USABLE_KIB, unused_kib + 100000);
        if (unused_kib >= 0)
                augur_sample_set (&s, AUGUR_STAT_BALLOON_UNUSED_KIB, unused_kib);
        return s;
}

static void
test_create_and_version (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        AugurStore *st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);

        g_assert_no_error (error);
        augur_store_close (st);
        g_assert_cmpint (augur_test_db_int (f->path, "PRAGMA user_version"), ==, augur_store_schema_version ());
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), ==, 1);
        /* Reopening an up-to-date file changes nothing. */
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        augur_store_close (st);
}

static void
test_newer_schema_refused (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *before = NULL, *after = NULL;
        gsize n1, n2;
        AugurStore *st;
        sqlite3 *db;

        g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE precious (x); INSERT INTO precious VALUES (42);"
                                           "PRAGMA user_version = 99;", NULL, NULL, NULL), ==, SQLITE_OK);
        sqlite3_close (db);
        g_assert_true (g_file_get_contents (f->path, &before, &n1, NULL));
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_null (st);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_NEWER);
        g_assert_nonnull (strstr (error->message, "newer"));
        /* Refused means untouched. */
        g_assert_true (g_file_get_contents (f->path, &after, &n2, NULL));
        g_assert_cmpmem (before, n1, after, n2);
}

static void
test_corrupt_refused (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        AugurStore *st;

        g_assert_true (g_file_set_contents (f->path, "this is not a database, just text that is long enough "
                                            "to fill a header of a hundred bytes or so ...........", -1, NULL));
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_null (st);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_CORRUPT);
        g_test_message ("%s", error->message);
}

static void
test_unwritable_refused (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *p = g_build_filename (f->dir, "no", "such", "dir", "augur.db", NULL);
        AugurStore *st = augur_store_open (p, AUGUR_STORE_READ_WRITE, &error);

        g_assert_null (st);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN);
        g_assert_nonnull (strstr (error->message, p));
        g_clear_error (&error);
        st = augur_store_open (p, AUGUR_STORE_READ_ONLY, &error);
        g_assert_null (st);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN);
}

/* --db /dev/null opened the device and created
 * /dev/null-journal with mode 0666.  A database path must be a regular
 * file or a new one; anything else is refused and nothing is created
 * next to it. */
static void
test_not_regular_refused (Fixture *f, gconstpointer data)
{
        g_autofree char *fifo = g_build_filename (f->dir, "fifo.db", NULL);
        g_autofree char *subdir = g_build_filename (f->dir, "dir.db", NULL);
        gboolean had_journal = g_file_test ("/dev/null-journal", G_FILE_TEST_EXISTS);
        const char *paths[] = { "/dev/null", fifo, subdir };
        const AugurStoreMode modes[] = { AUGUR_STORE_READ_WRITE, AUGUR_STORE_READ_ONLY };

        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);
        alarm (10);                   /* SQLite blocks reading a FIFO: fail, don't hang */
        for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
                for (gsize m = 0; m < G_N_ELEMENTS (modes); m++) {
                        g_autoptr(GError) error = NULL;
                        g_autofree char *journal = g_strconcat (paths[i], "-journal", NULL);
                        g_autofree char *wal = g_strconcat (paths[i], "-wal", NULL);
                        AugurStore *st = augur_store_open (paths[i], modes[m], &error);

                        g_test_message ("%s (%s): %s", paths[i], m ? "read-only" : "read-write",
                                        error ? error->message : "opened");
                        g_assert_null (st);
                        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN);
                        g_assert_nonnull (strstr (error->message, paths[i]));
                        g_assert_nonnull (strstr (error->message, "not a regular file"));
                        if (i > 0 || !had_journal)
                                g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
                        g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
                }
        }
        alarm (0);
        /* A new path is created; an existing database opens. */
        for (int round = 0; round < 2; round++) {
                g_autoptr(GError) error = NULL;
                AugurStore *st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);

                g_assert_no_error (error);
                augur_store_close (st);
        }
}

static void
test_tick_and_history (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) raw = NULL, m1 = NULL;
        AugurDomainSample s[2];
        const gint64 t0 = 1800000000000;   /* aligned to a minute */

        /* Three ticks 10 s apart; vm2 lacks balloon.unused in the second
         * one; vm1's cpu.time resets (domain restart) in the third. */
        s[0] = live (1, 10000000000, 500000);
        s[1] = live (2, 0, 600000);
        augur_test_write_tick (st, t0, s, 2);
        s[0] = live (1, 15000000000, 400000);
        s[1] = live (2, 20000000000, -1);
        augur_test_write_tick (st, t0 + 10000, s, 2);
        s[0] = live (1, 1000000000, 300000);
        s[1] = live (2, 30000000000, 600000);
        augur_test_write_tick (st, t0 + 20000, s, 2);

        d = augur_store_find_domain (st, "vm1", &error);
        g_assert_no_error (error);
        raw = augur_store_history (st, d->id, G_MININT64, G_MAXINT64, AUGUR_RES_RAW, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (raw->len, ==, 3);
        g_assert_cmpint (g_array_index (raw, AugurHistRow, 0).ts_s, ==, t0 / 1000);
        g_assert_cmpfloat (g_array_index (raw, AugurHistRow, 1).v[AUGUR_HIST_CPU_TIME_NS], ==, 15e9);
        /* 5 s of CPU in 10 s = 0.5 cores; the first row has no rate. */
        g_assert_true (isnan (g_array_index (raw, AugurHistRow, 0).v[AUGUR_HIST_CPU_CORES_USED]));
        g_assert_cmpfloat_with_epsilon (g_array_index (raw, AugurHistRow, 1).v[AUGUR_HIST_CPU_CORES_USED], 0.5, 1e-9);
        /* Reset: no rate rather than a negative one. */
        g_assert_true (isnan (g_array_index (raw, AugurHistRow, 2).v[AUGUR_HIST_CPU_CORES_USED]));
        g_assert_cmpfloat (g_array_index (raw, AugurHistRow, 2).v[AUGUR_HIST_MEM_UNUSED_KIB], ==, 300000);

        /* Missing stays missing (NULL), never 0. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples s JOIN domains d ON d.id = s.domain_id "
                                         "WHERE d.name = 'vm2' AND s.mem_unused_kib IS NULL"), ==, 1);

        /* 1-min rollup: one bucket; mean/min of unused over 3 samples; the
         * cpu delta sums only the good interval (reset excluded). */
        m1 = augur_store_history (st, d->id, G_MININT64, G_MAXINT64, AUGUR_RES_1M, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (m1->len, ==, 1);
        g_assert_cmpfloat_with_epsilon (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_MEM_UNUSED_KIB], 400000, 1e-6);
        g_assert_cmpfloat_with_epsilon (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_CPU_TIME_NS], 5e9, 1);
        /* That bucket is still open (read from the samples); closing the
         * store writes it, with the same values. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM rollups"), ==, 0);
        g_clear_pointer (&st, augur_store_close);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_time_ns_delta FROM rollups WHERE res_s = 60 AND domain_id = 1"), ==, 5000000000);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT mem_unused_kib_min FROM rollups WHERE res_s = 60 AND domain_id = 1"), ==, 300000);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT mem_unused_kib_n FROM rollups r JOIN domains d ON d.id = r.domain_id "
                                         "WHERE res_s = 300 AND d.name = 'vm2'"), ==, 2);
        /* Read back from the table: the same values as from the open
         * bucket, and a column with no sample (n = 0) is unknown, not 0. */
        st = augur_store_open (f->path, AUGUR_STORE_READ_ONLY, &error);
        g_assert_no_error (error);
        g_clear_pointer (&m1, g_array_unref);
        m1 = augur_store_history (st, d->id, G_MININT64, G_MAXINT64, AUGUR_RES_1M, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (m1->len, ==, 1);
        g_assert_cmpfloat_with_epsilon (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_MEM_UNUSED_KIB], 400000, 1e-6);
        g_assert_cmpfloat_with_epsilon (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_CPU_TIME_NS], 5e9, 1);
        g_assert_true (isnan (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_INPUT_EVENTS_PER_MIN]));
        g_clear_pointer (&st, augur_store_close);

        /* Every tick whole: n_domains samples per tick. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM ticks t WHERE t.n_domains != "
                                         "(SELECT count(*) FROM samples s WHERE s.tick_id = t.id)"), ==, 0);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM host_samples"), ==, 3);
}

static void
test_rates_survive_reopen (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        AugurDomainSample s[1];
        AugurStore *st;

        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        s[0] = live (1, 10000000000, 500000);
        augur_test_write_tick (st, 1800000000000, s, 1);
        augur_store_close (st);
        /* A restarted daemon derives the first rate from the stored sample. */
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        s[0] = live (1, 12000000000, 500000);
        augur_test_write_tick (st, 1800000004000, s, 1);
        augur_store_close (st);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT CAST(cpu_cores_used * 1000 AS INTEGER) FROM samples "
                                         "WHERE ts_ms = 1800000004000"), ==, 500);
}

static void
test_rename_keeps_history (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(AugurDomainInfo) by_uuid = NULL, by_id = NULL;
        AugurDomainSample s[1];

        s[0] = live (7, 1, 1);
        augur_test_write_tick (st, 1800000000000, s, 1);
        s[0] = live (7, 2, 1);
        g_free (s[0].name);
        s[0].name = g_strdup ("renamed");
        augur_test_write_tick (st, 1800000005000, s, 1);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM domain_names WHERE domain_id = 1"), ==, 2);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples WHERE domain_id = 1"), ==, 2);
        by_uuid = augur_store_find_domain (st, "00000000-0000-4000-8000-000000000007", &error);
        g_assert_no_error (error);
        g_assert_cmpstr (by_uuid->name, ==, "renamed");
        by_id = augur_store_find_domain (st, "7", &error);
        g_assert_no_error (error);
        g_assert_cmpint (by_id->id, ==, by_uuid->id);
        g_assert_null (augur_store_find_domain (st, "vm7", &error));
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_NOT_FOUND);
}

static AugurSeries *
trace_series (const char *vm, gint64 t0, gsize n, gint64 step_s, float base)
{
        AugurSeries *s = augur_series_new (vm);

        augur_series_ensure_col (s, AUGUR_COL_CPU_PCT);
        augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
        for (gsize i = 0; i < n; i++) {
                gsize r = augur_series_append (s, t0 + (gint64) i * step_s);

                s->col[AUGUR_COL_CPU_PCT][r] = base + (float) (i % 10);
                s->col[AUGUR_COL_MEM_USED_KIB][r] = (i % 7 == 3) ? NAN : 1000.0f * (float) i;
        }
        return s;
}

static void
test_import_upsert_and_retention (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        /* 2013: 4 days at 5 min = 1152 rows, far older than "now". */
        g_autoptr(AugurSeries) old = trace_series ("bb-1", 1372629804, 1152, 300, 1);
        g_autoptr(AugurSeries) again = trace_series ("bb-1", 1372629804, 10, 300, 50);
        g_autoptr(AugurSeries) back = NULL;
        AugurRetention r = { 48 * 3600, 90 * 86400 };
        gsize rows = 0;
        char uuid[37];

        g_assert_true (augur_store_import_series (st, old, "import:augur", &rows, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (rows, ==, 1152);
        augur_uuid_v5_from_name ("bb-1", uuid);
        {
                g_autofree char *q = g_strdup_printf ("SELECT count(*) FROM domains WHERE uuid = '%s' AND name = 'bb-1'", uuid);

                g_assert_cmpint (augur_test_db_int (f->path, q), ==, 1);
        }
        /* The same (vm, ts) again updates, not duplicates. */
        g_assert_true (augur_store_import_series (st, again, "import:augur", &rows, &error));
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, 1152);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_pct FROM samples WHERE ts_ms = 1372629804000"), ==, 50);
        /* Missing cells stay NULL. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples WHERE mem_used_kib IS NULL"), ==, 1152 / 7 + 1);
        /* 5-min rollups exist for every step after recompute. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM rollups WHERE res_s = 300"), ==, 1152);

        /* Retention counts back from the domain's newest sample: 48 h of
         * 5-min rows (577 rows, both ends inclusive) survive although
         * every row is 13 years old. */
        augur_store_set_retention (st, &r);
        g_assert_cmpint (augur_store_apply_retention (st, &error), >, 0);
        g_assert_no_error (error);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, 48 * 12 + 1);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM rollups WHERE res_s = 300"), ==, 1152);

        back = augur_store_load_series (st, "bb-1", G_MININT64, G_MAXINT64, AUGUR_RES_RAW, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (back->n, ==, 577);
        g_assert_nonnull (back->col[AUGUR_COL_CPU_PCT]);
        g_assert_null (back->col[AUGUR_COL_NET_RX_KIBPS]);
        g_assert_true (isnan (back->col[AUGUR_COL_MEM_USED_KIB][back->n - 1]));   /* 1151 % 7 == 3 */
        g_assert_cmpfloat (back->col[AUGUR_COL_MEM_USED_KIB][back->n - 2], ==, 1000.0f * 1150);
}

static void
test_disk_full_keeps_data (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        AugurDomainSample s[64];
        gint64 pages;
        int committed = 0;
        gboolean failed = FALSE;

        for (int t = 0; t < 3; t++, committed++) {
                for (int k = 0; k < 64; k++)
                        s[k] = live (k, t * 1000000000LL, 500000);
                augur_test_write_tick (st, 1800000000000 + t * 1000, s, 64);
        }
        /* Cap the file at its current size, as a full disk would: the
         * next tick that needs a new page fails with SQLITE_FULL. */
        pages = augur_test_db_int (f->path, "PRAGMA page_count");
        augur_store_test_set_max_pages (st, pages);
        for (int t = 3; t < 40 && !failed; t++) {
                AugurHostSample h = { 0 };

                for (int k = 0; k < 64; k++)
                        s[k] = live (k, t * 1000000000LL, 500000);
                if (augur_store_write_tick (st, 1800000000000 + t * 1000, s, 64, &h, 0, NULL, &error))
                        committed++;
                else
                        failed = TRUE;
                for (int k = 0; k < 64; k++)
                        augur_domain_sample_clear (&s[k]);
        }
        g_assert_true (failed);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FULL);
        g_test_message ("%s", error->message);
        g_clear_error (&error);
        /* Nothing committed before is lost, and no partial tick exists. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM ticks"), ==, committed);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, committed * 64);
        /* Space comes back: the next tick works, with rates intact. */
        augur_store_test_set_max_pages (st, 1 << 30);
        for (int k = 0; k < 64; k++)
                s[k] = live (k, 100 * 1000000000LL, 500000);
        augur_test_write_tick (st, 1800000100000, s, 64);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM ticks"), ==, committed + 1);
}

static void
test_migrate_v1 (Fixture *f, gconstpointer data)
{
        g_autofree char *schema_path = g_test_build_filename (G_TEST_DIST, "..", "sql", "schema.sql", NULL);
        g_autofree char *schema = NULL;
        g_autoptr(GError) error = NULL;
        AugurStore *st;
        sqlite3 *db;

        /* A version-1 file with history in it, as an older augur left it. */
        g_assert_true (g_file_get_contents (schema_path, &schema, NULL, NULL));
        g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, schema, NULL, NULL, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 1;"
                                           "INSERT INTO domains (uuid, name, source, first_ms) VALUES ('u', 'old', 'libvirt', 1);"
                                           "INSERT INTO samples (domain_id, ts_ms, cpu_pct) VALUES (1, 1000, 42);",
                                       NULL, NULL, NULL), ==, SQLITE_OK);
        sqlite3_close (db);
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        augur_store_close (st);
        g_assert_cmpint (augur_test_db_int (f->path, "PRAGMA user_version"), ==, augur_store_schema_version ());
        g_assert_cmpint (augur_store_schema_version (), >=, 2);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_pct FROM samples WHERE ts_ms = 1000"), ==, 42);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM decisions"), ==, 0);
        /* 008: the activity table gained the nullable oom_kill column */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM pragma_table_info('activity')"
                                         " WHERE name = 'oom_kill' AND type = 'INTEGER' AND \"notnull\" = 0"), ==, 1);
        /* Read-only openers never migrate: a v1 file is refused by them. */
        g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 1", NULL, NULL, NULL), ==, SQLITE_OK);
        sqlite3_close (db);
        st = augur_store_open (f->path, AUGUR_STORE_READ_ONLY, &error);
        g_assert_null (st);
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_OPEN);
}

static void
test_decisions_roundtrip (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(GArray) back = NULL;
        AugurDecisionRow r[3] = { 0 };
        gint64 act;

        for (int i = 0; i < 3; i++) {
                r[i].ts_ms = 1000 * (i + 1);
                augur_test_uuid (i % 2, r[i].uuid);
                g_snprintf (r[i].name, sizeof r[i].name, "vm%d", i % 2);
                r[i].mode = "act";
                r[i].policy = "augur";
                r[i].model = i == 2 ? NULL : "lstm_int";
                r[i].mem_used_kib = 1000 + i;
                r[i].mem_alloc_kib = NAN;
                r[i].vcpus_online = i == 1 ? -1 : 2;
                r[i].mem_target_kib = 4096;
                r[i].vcpus_target = 2;
                r[i].mem_action = "grow";
                r[i].mem_reason = "forecast-grow";
                r[i].cpu_veto = "no-agent";
        }
        g_assert_true (augur_store_write_decisions (st, r, 3, &error));
        g_assert_no_error (error);
        back = augur_store_decisions (st, -1, G_MININT64, G_MAXINT64, 2, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (back->len, ==, 2);      /* the newest two, oldest first */
        g_assert_cmpint (g_array_index (back, AugurDecisionRow, 0).ts_ms, ==, 2000);
        g_assert_cmpint (g_array_index (back, AugurDecisionRow, 0).vcpus_online, ==, -1);
        g_assert_true (isnan (g_array_index (back, AugurDecisionRow, 0).mem_alloc_kib));
        g_assert_null (g_array_index (back, AugurDecisionRow, 1).model);
        g_assert_cmpstr (g_array_index (back, AugurDecisionRow, 1).mem_reason, ==, "forecast-grow");
        g_assert_cmpstr (g_array_index (back, AugurDecisionRow, 1).cpu_action, ==, "none");
        g_assert_cmpstr (g_array_index (back, AugurDecisionRow, 1).name, ==, "vm0");
        /* A tick in a later minute moves them to decisions_main; more
         * decisions after it get new ids, and per-domain reads see both
         * tables, in order. */
        {
                AugurDomainSample smp = live (0, 1, 1000);

                augur_test_write_tick (st, 120000, &smp, 1);
        }
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM decisions_main"), ==, 3);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM decisions_recent"), ==, 0);
        for (int i = 0; i < 3; i++)
                r[i].ts_ms += 130000;
        g_assert_true (augur_store_write_decisions (st, r, 3, &error));
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(DISTINCT id) FROM decisions"), ==, 6);
        g_clear_pointer (&back, g_array_unref);
        back = augur_store_decisions (st, 1, G_MININT64, G_MAXINT64, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (back->len, ==, 4);      /* vm0: two moved, two recent */
        g_assert_cmpint (g_array_index (back, AugurDecisionRow, 1).ts_ms, ==, 3000);
        g_assert_cmpint (g_array_index (back, AugurDecisionRow, 2).ts_ms, ==, 131000);
        act = augur_store_write_actuation (st, 5000, r[0].uuid, "vm0", "balloon", 1000, 2000, &error);
        g_assert_cmpint (act, >, 0);
        g_assert_true (augur_store_set_actuation_latency (st, act, 1500, &error));
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT latency_ms FROM actuations"), ==, 1500);
}

/* The rows of rollups as one comparable string. */
static char *
dump_rollups (const char *path)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *v = NULL;

        g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_prepare_v2 (db,
                "SELECT group_concat(domain_id || ',' || res_s || ',' || bucket_s || ',' || n || ','"
                " || ifnull(cpu_time_ns_delta, '-') || ',' || ifnull(mem_unused_kib_sum, '-') || ','"
                " || ifnull(mem_unused_kib_min, '-') || ',' || ifnull(cpu_cores_used_max, '-'), ';')"
                " FROM (SELECT * FROM rollups ORDER BY domain_id, res_s, bucket_s)", -1, &st, NULL), ==, SQLITE_OK);
        if (sqlite3_step (st) == SQLITE_ROW)
                v = g_strdup ((const char *) sqlite3_column_text (st, 0));
        sqlite3_finalize (st);
        sqlite3_close (db);
        return v;
}

/* What a kill -9 leaves: the database and its WAL, copied while open. */
static char *
crash_copy (Fixture *f, const char *name)
{
        char *copy = g_build_filename (f->dir, name, NULL);

        for (int k = 0; k < 2; k++) {
                g_autofree char *from = g_strconcat (f->path, k ? "-wal" : "", NULL);
                g_autofree char *to = g_strconcat (copy, k ? "-wal" : "", NULL);
                g_autofree char *data = NULL;
                gsize len;

                g_assert_true (g_file_get_contents (from, &data, &len, NULL));
                g_assert_true (g_file_set_contents (to, data, len, NULL));
        }
        return copy;
}

static void
test_rollups_once_and_recovery (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        g_autofree char *crash1 = NULL, *crash2 = NULL;
        g_autofree char *clean = NULL, *recovered = NULL;
        const gint64 t0 = 1800000000000;   /* a 5-min boundary */
        AugurDomainSample s[2];

        /* vm1 every 10 s for 2 min, cpu +1 s each; vm2 for 30 s, then gone */
        for (int k = 0; k <= 12; k++) {
                s[0] = live (1, 1000000000LL * k, 100000 + 1000 * k);
                if (k <= 3)
                        s[1] = live (2, 2000000000LL * k, 200000);
                augur_test_write_tick (st, t0 + 10000 * k, s, k <= 3 ? 2 : 1);
        }
        /* Written so far, once each: the 1-min buckets that ended. */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM rollups WHERE res_s = 60"), ==, 3);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM rollups WHERE res_s = 300"), ==, 0);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT n FROM rollups WHERE domain_id = 1 AND bucket_s = 1800000000"), ==, 6);
        /* the first sample has no delta, the next five 1 s each */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_time_ns_delta FROM rollups WHERE domain_id = 1 AND bucket_s = 1800000000"), ==, 5000000000);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_time_ns_delta FROM rollups WHERE domain_id = 1 AND bucket_s = 1800000060"), ==, 6000000000);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_time_ns_delta FROM rollups WHERE domain_id = 2"), ==, 6000000000);

        /* kill -9 now: the next open rebuilds the open buckets from the
         * samples, to the same rows a clean close writes. */
        crash1 = crash_copy (f, "crash1.db");
        augur_store_close (augur_store_open (crash1, AUGUR_STORE_READ_WRITE, NULL));
        g_clear_pointer (&st, augur_store_close);
        clean = dump_rollups (f->path);
        recovered = dump_rollups (crash1);
        g_assert_cmpstr (recovered, ==, clean);
        g_assert_cmpint (augur_test_db_int (crash1, "SELECT n FROM rollups WHERE domain_id = 1 AND res_s = 300"), ==, 13);
        g_assert_cmpint (augur_test_db_int (crash1, "SELECT cpu_time_ns_delta FROM rollups WHERE domain_id = 1 AND res_s = 300"), ==, 12000000000);

        /* A partial row (written at that clean close), one more sample in
         * its bucket, then kill -9: the recovery sees n disagree. */
        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
        s[0] = live (1, 13000000000LL, 120000);
        augur_test_write_tick (st, t0 + 125000, s, 1);
        crash2 = crash_copy (f, "crash2.db");
        augur_store_close (augur_store_open (crash2, AUGUR_STORE_READ_WRITE, NULL));
        g_clear_pointer (&st, augur_store_close);
        g_free (clean);
        g_free (recovered);
        clean = dump_rollups (f->path);
        recovered = dump_rollups (crash2);
        g_assert_cmpstr (recovered, ==, clean);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT n FROM rollups WHERE domain_id = 1 AND res_s = 60 AND bucket_s = 1800000120"), ==, 2);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT cpu_time_ns_delta FROM rollups WHERE domain_id = 1 AND res_s = 300"), ==, 13000000000);
}

/* A writer failing inside the open tick undoes its own rows only, and
 * the tick's samples commit; but on a full disk SQLite rolls back the whole
 * transaction itself: then the tick is lost whole (samples, forecast,
 * audit rows), its commit says so, and the next tick derives its rates
 * from the tick before, as if this one never happened. */
static void
test_tick_writer_fails (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autofree AugurDecisionRow *r = g_new0 (AugurDecisionRow, 2000);
        AugurDomainSample smp = live (0, 1000000000, 1000);
        const float band[2] = { 1000, 2000 };
        g_autofree char *model = NULL, *json = NULL;
        gint64 ts_ms;
        double step_s;

        augur_test_write_tick (st, 60000, &smp, 1);
        for (int i = 0; i < 2000; i++) {
                r[i].ts_ms = 65000;
                g_strlcpy (r[i].uuid, "00000000-0000-4000-8000-000000000000", sizeof r[i].uuid);
                g_strlcpy (r[i].name, "vm0", sizeof r[i].name);
                r[i].mode = "act";
                r[i].policy = "augur";
                g_strlcpy (r[i].note, "a long note, so that 2000 rows need many pages", sizeof r[i].note);
                r[i].mem_used_kib = r[i].mem_alloc_kib = r[i].mem_target_kib = NAN;
                r[i].mem_p50_kib = r[i].mem_upper_kib = r[i].cpu_p50_cores = r[i].cpu_upper_cores = NAN;
                r[i].cpu_cores_used = r[i].horizon_s = NAN;
        }

        /* an ordinary failure: a row the schema refuses (mode NOT NULL) */
        smp = live (0, 2000000000, 1000);
        g_assert_true (augur_store_tick_begin (st, 65000, &smp, 1, NULL, 10, NULL, &error));
        augur_domain_sample_clear (&smp);
        g_assert_true (augur_store_write_forecast (st, 65000, "00000000-0000-4000-8000-000000000000", "vm0",
                                                   "lstm_int", 5, 2, band, band, band, band, &error));
        r[1].mode = NULL;
        g_assert_false (augur_store_write_decisions (st, r, 2, &error));
        g_clear_error (&error);
        r[1].mode = "act";
        g_assert_true (augur_store_tick_commit (st, &error));
        g_assert_no_error (error);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, 2);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM decisions"), ==, 0);
        g_assert_true (augur_store_read_forecast (st, 1, &ts_ms, &model, &step_s, &json, &error));
        g_assert_cmpint (ts_ms, ==, 65000);
        g_assert_cmpstr (json, ==, "[{\"h\":1,\"s\":5.0,\"mem_p50_kib\":1000.000,\"mem_upper_kib\":1000.000,"
                                   "\"cpu_p50_cores\":1000.000,\"cpu_upper_cores\":1000.000},"
                                   "{\"h\":2,\"s\":10.0,\"mem_p50_kib\":2000.000,\"mem_upper_kib\":2000.000,"
                                   "\"cpu_p50_cores\":2000.000,\"cpu_upper_cores\":2000.000}]");

        /* a full disk: the whole tick goes */
        smp = live (0, 10000000000, 1000);
        g_assert_true (augur_store_tick_begin (st, 70000, &smp, 1, NULL, 10, NULL, &error));
        augur_domain_sample_clear (&smp);
        g_assert_true (augur_store_write_forecast (st, 70000, "00000000-0000-4000-8000-000000000000", "vm0",
                                                   "lstm_int", 5, 2, band, band, band, band, &error));
        augur_store_test_set_max_pages (st, augur_test_db_int (f->path, "PRAGMA page_count") + 4);
        g_assert_false (augur_store_write_decisions (st, r, 2000, &error));
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FULL);
        g_clear_error (&error);
        g_assert_false (augur_store_write_decisions (st, r, 1, &error));     /* no new transaction */
        g_clear_error (&error);
        g_assert_false (augur_store_tick_commit (st, &error));
        g_clear_error (&error);
        augur_store_test_set_max_pages (st, 1 << 30);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, 2);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM decisions"), ==, 0);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT ts_ms FROM forecasts"), ==, 65000);
        smp = live (0, 12000000000, 1000);
        augur_test_write_tick (st, 75000, &smp, 1);
        /* derived from the tick at 65 s: 10 s of CPU over 10 s, 1 core
         * (from the lost one it would be 2 s over 5 s) */
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples WHERE ts_ms = 75000 "
                                         "AND abs(cpu_cores_used - 1.0) < 1e-9"), ==, 1);
}

/* checkpointer.c: with a low threshold the thread checkpoints while ticks
 * go on, the WAL stays bounded (the writer's fallback past twice the
 * threshold), and every tick is there after the close. */
static void
test_checkpointer (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
        const gint64 t0 = 1800000000000;
        const int n_vm = 40, n_ticks = 400;
        int thread_runs = 0, inline_runs = 0;
        gint64 wal_max = 0;
        GStatBuf sb;

        g_assert_no_error (error);
        augur_store_test_checkpoints (st, 16, &thread_runs, &inline_runs);
        g_assert_cmpint (thread_runs + inline_runs, ==, 0);
        for (int t = 0; t < n_ticks; t++) {
                AugurDomainSample s[40];

                for (int k = 0; k < n_vm; k++)
                        s[k] = live (k + 1, (gint64) t * 1000000000, 300000 + k);
                augur_test_write_tick (st, t0 + (gint64) t * 5000, s, n_vm);
                if (t % 20 == 19)
                        g_usleep (20000);     /* ticks are seconds apart in augurd */
                if (g_stat (wal, &sb) == 0)
                        wal_max = MAX (wal_max, (gint64) sb.st_size);
        }
        augur_store_test_checkpoints (st, 0, &thread_runs, &inline_runs);
        g_test_message ("checkpoints: %d by the thread, %d by the writer; largest WAL %" G_GINT64_FORMAT " bytes",
                        thread_runs, inline_runs, wal_max);
        g_assert_cmpint (thread_runs, >, 0);
        /* Unchecked, these ticks grow the WAL to ~30 MiB (SQLite's own
         * autocheckpoint at 1000 pages: ~4 MiB); here it restarts after each
         * full checkpoint: 1.6–2.2 MiB in runs on this machine. */
        g_assert_cmpint (wal_max, <, 8 * 1024 * 1024);
        g_clear_pointer (&st, augur_store_close);
        g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM samples"), ==, (gint64) n_vm * n_ticks);
        g_assert_cmpint (augur_test_db_int (f->path, "SELECT count(*) FROM ticks"), ==, n_ticks);
}

/* On a small host the 8192-page threshold takes hours or days,
 * and every row lived only in the WAL until then.  The checkpoint thread
 * is also woken once the WAL's content is old enough (a minute in augurd;
 * 200 ms here): after it, the database file alone has the ticks. */
static void
test_checkpoint_age (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        gint64 opened_us = g_get_monotonic_time ();
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autofree char *copy = g_build_filename (f->dir, "copy-without-wal.db", NULL);
        g_autofree char *cmd = g_strdup_printf ("cp '%s' '%s'", f->path, copy);
        const gint64 t0 = 1800000000000;
        int thread_runs = 0, inline_runs = 0;

        g_assert_no_error (error);
        augur_store_test_checkpoint_age (st, 200);
        for (int t = 0; t < 2; t++) {
                AugurDomainSample s[2] = { live (1, t * 1000000000LL, 300000), live (2, t * 1000000000LL, 300000) };

                augur_test_write_tick (st, t0 + t * 5000, s, 2);
        }
        augur_store_test_checkpoints (st, 0, &thread_runs, &inline_runs);
        /* Young, and far below 8192 pages (unless this machine took the
         * whole 200 ms for two ticks, as under valgrind). */
        if (g_get_monotonic_time () - opened_us < 150 * 1000)
                g_assert_cmpint (thread_runs + inline_runs, ==, 0);
        g_usleep (300 * 1000);
        {
                AugurDomainSample s[2] = { live (1, 2000000000LL, 300000), live (2, 2000000000LL, 300000) };

                augur_test_write_tick (st, t0 + 10000, s, 2);
        }
        for (int i = 0; i < 200 && thread_runs == 0; i++) {
                g_usleep (10000);
                augur_store_test_checkpoints (st, 0, &thread_runs, &inline_runs);
        }
        g_test_message ("checkpoints: %d by the thread, %d by the writer", thread_runs, inline_runs);
        g_assert_cmpint (thread_runs, >=, 1);
        /* The database file alone, without its -wal, has all three ticks. */
        g_assert_cmpint (system (cmd), ==, 0);
        g_assert_cmpint (augur_test_db_int (copy, "SELECT count(*) FROM ticks"), ==, 3);
        g_unlink (copy);
}


/* ---- fault injection (beyond the kill -9 loop of resilience.sh) ----
 * The rule in each case: nothing committed before is lost, and a tick is
 * stored whole or not at all. */

/* Every tick committed so far is in the file, whole, and the file is sane. */
static void
assert_whole (const char *path, int ticks, int per_tick)
{
        g_assert_cmpint (augur_test_db_int (path, "SELECT count(*) FROM ticks"), ==, ticks);
        g_assert_cmpint (augur_test_db_int (path, "SELECT count(*) FROM samples"), ==, (gint64) ticks * per_tick);
        g_assert_cmpint (augur_test_db_int (path, "SELECT count(*) FROM (SELECT tick_id FROM samples GROUP BY tick_id "
                                      "HAVING count(*) != " G_STRINGIFY (FAULT_VMS) ")"), ==, 0);
        g_assert_cmpint (augur_test_db_int (path, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"),
                         ==, 0);
}

/* Try one tick of FAULT_VMS guests; TRUE when it committed. */
static gboolean
try_tick (AugurStore *st, int t, GError **error)
{
        AugurDomainSample s[FAULT_VMS];
        AugurHostSample h = { 0 };
        gboolean ok;

        for (int k = 0; k < FAULT_VMS; k++)
                s[k] = live (k, t * 1000000000LL, 500000);
        ok = augur_store_write_tick (st, 1800000000000 + t * 1000, s, FAULT_VMS, &h, 0, NULL, error);
        for (int k = 0; k < FAULT_VMS; k++)
                augur_domain_sample_clear (&s[k]);
        return ok;
}

/* Another writer holds the write lock past the busy timeout (a sqlite3
 * shell left in a transaction, a backup tool): the tick fails as BUSY,
 * stores nothing, and the next one after the lock goes works. */
static void
test_busy_writer (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        sqlite3 *other = NULL;

        g_assert_no_error (error);
        for (int t = 0; t < 3; t++)
                g_assert_true (try_tick (st, t, NULL));
        g_assert_cmpint (sqlite3_open (f->path, &other), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
        g_assert_false (try_tick (st, 3, &error));
        g_assert_error (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_BUSY);
        g_test_message ("%s", error->message);
        g_clear_error (&error);
        g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
        sqlite3_close (other);
        g_assert_true (try_tick (st, 4, &error));
        g_assert_no_error (error);
        assert_whole (f->path, 4, FAULT_VMS);
}

/* A VFS in front of the default one that fails writes and syncs on
 * demand, as a failing disk or a vanished NFS server would. */
typedef struct {
        sqlite3_file base;
        sqlite3_file *real;
} FaultFile;

static sqlite3_vfs *fault_real_vfs;
/* Let this many writes/syncs through, then fail this many; atomics: the
 * store's checkpoint thread writes through the same VFS. */
static gint fault_skip, fault_fail, fault_failed;

#define REAL(f) (((FaultFile *) (f))->real)
static int ff_close (sqlite3_file *f) { return REAL (f)->pMethods->xClose (REAL (f)); }
static int ff_read (sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL (f)->pMethods->xRead (REAL (f), b, n, o); }
static gboolean
fault_now (void)
{
        if (g_atomic_int_get (&fault_fail) <= 0)
                return FALSE;
        if (g_atomic_int_add (&fault_skip, -1) > 0)
                return FALSE;
        if (g_atomic_int_add (&fault_fail, -1) <= 0)
                return FALSE;
        g_atomic_int_inc (&fault_failed);
        return TRUE;
}
static int ff_write (sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{ return fault_now () ? SQLITE_IOERR_WRITE : REAL (f)->pMethods->xWrite (REAL (f), b, n, o); }
static int ff_truncate (sqlite3_file *f, sqlite3_int64 sz) { return REAL (f)->pMethods->xTruncate (REAL (f), sz); }
static int ff_sync (sqlite3_file *f, int fl)
{ return fault_now () ? SQLITE_IOERR_FSYNC : REAL (f)->pMethods->xSync (REAL (f), fl); }
static int ff_size (sqlite3_file *f, sqlite3_int64 *sz) { return REAL (f)->pMethods->xFileSize (REAL (f), sz); }
static int ff_lock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xLock (REAL (f), l); }
static int ff_unlock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xUnlock (REAL (f), l); }
static int ff_reserved (sqlite3_file *f, int *r) { return REAL (f)->pMethods->xCheckReservedLock (REAL (f), r); }
static int ff_fcntl (sqlite3_file *f, int op, void *a) { return REAL (f)->pMethods->xFileControl (REAL (f), op, a); }
static int ff_sector (sqlite3_file *f) { return REAL (f)->pMethods->xSectorSize (REAL (f)); }
static int ff_dev (sqlite3_file *f) { return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f)); }
static int ff_shm_map (sqlite3_file *f, int i, int sz, int ext, void volatile **p)
{ return REAL (f)->pMethods->xShmMap (REAL (f), i, sz, ext, p); }
static int ff_shm_lock (sqlite3_file *f, int o, int n, int fl) { return REAL (f)->pMethods->xShmLock (REAL (f), o, n, fl); }
static void ff_shm_barrier (sqlite3_file *f) { REAL (f)->pMethods->xShmBarrier (REAL (f)); }
static int ff_shm_unmap (sqlite3_file *f, int del) { return REAL (f)->pMethods->xShmUnmap (REAL (f), del); }
#undef REAL

static const sqlite3_io_methods fault_io = {
        .iVersion = 2, .xClose = ff_close, .xRead = ff_read, .xWrite = ff_write,
        .xTruncate = ff_truncate, .xSync = ff_sync, .xFileSize = ff_size, .xLock = ff_lock,
        .xUnlock = ff_unlock, .xCheckReservedLock = ff_reserved, .xFileControl = ff_fcntl,
        .xSectorSize = ff_sector, .xDeviceCharacteristics = ff_dev, .xShmMap = ff_shm_map,
        .xShmLock = ff_shm_lock, .xShmBarrier = ff_shm_barrier, .xShmUnmap = ff_shm_unmap,
};

static int
ff_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
        FaultFile *p = (FaultFile *) f;
        int rc;

        p->real = (sqlite3_file *) &p[1];
        rc = fault_real_vfs->xOpen (fault_real_vfs, name, p->real, flags, out);
        p->base.pMethods = rc == SQLITE_OK && p->real->pMethods ? &fault_io : NULL;
        return rc;
}

static int ff_delete (sqlite3_vfs *v, const char *n, int d) { return fault_real_vfs->xDelete (fault_real_vfs, n, d); }
static int ff_access (sqlite3_vfs *v, const char *n, int fl, int *r) { return fault_real_vfs->xAccess (fault_real_vfs, n, fl, r); }
static int ff_full (sqlite3_vfs *v, const char *n, int sz, char *out) { return fault_real_vfs->xFullPathname (fault_real_vfs, n, sz, out); }
static int ff_random (sqlite3_vfs *v, int n, char *out) { return fault_real_vfs->xRandomness (fault_real_vfs, n, out); }
static int ff_sleep (sqlite3_vfs *v, int us) { return fault_real_vfs->xSleep (fault_real_vfs, us); }
static int ff_time (sqlite3_vfs *v, double *t) { return fault_real_vfs->xCurrentTime (fault_real_vfs, t); }
static int ff_last_error (sqlite3_vfs *v, int n, char *b) { return fault_real_vfs->xGetLastError (fault_real_vfs, n, b); }

static sqlite3_vfs fault_vfs = {
        .iVersion = 1, .zName = "augur-test-fault", .xOpen = ff_open, .xDelete = ff_delete,
        .xAccess = ff_access, .xFullPathname = ff_full, .xRandomness = ff_random,
        .xSleep = ff_sleep, .xCurrentTime = ff_time, .xGetLastError = ff_last_error,
};

/* I/O errors in the middle of ticks, at every write position of one
 * tick in turn: each failing tick is refused whole, nothing before it is
 * lost, and the store carries on when the disk does. */
static void
test_io_errors (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        AugurStore *st;
        int t = 0, committed = 0, failures = 0;

        fault_real_vfs = sqlite3_vfs_find (NULL);
        fault_vfs.szOsFile = (int) sizeof (FaultFile) + fault_real_vfs->szOsFile;
        fault_vfs.mxPathname = fault_real_vfs->mxPathname;
        g_assert_cmpint (sqlite3_vfs_register (&fault_vfs, 1), ==, SQLITE_OK);

        st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        for (; t < 3; t++, committed++)
                g_assert_true (try_tick (st, t, NULL));
        /* Fail the k-th write or sync of a tick, k = 0, 1, 2, ... until a
         * tick goes through without reaching it: every position of a
         * tick's I/O is hit once.  Then the disk is back. */
        for (int k = 0; k < 10000; k++) {
                g_atomic_int_set (&fault_failed, 0);
                g_atomic_int_set (&fault_skip, k);
                g_atomic_int_set (&fault_fail, 1);
                if (try_tick (st, t++, &error)) {
                        committed++;
                } else {
                        g_assert_nonnull (error);
                        if (failures++ == 0)
                                g_test_message ("%s", error->message);
                        g_clear_error (&error);
                }
                g_atomic_int_set (&fault_fail, 0);
                if (g_atomic_int_get (&fault_failed) == 0)
                        break;
                g_assert_true (try_tick (st, t++, &error));
                g_assert_no_error (error);
                committed++;
                assert_whole (f->path, committed, FAULT_VMS);
        }
        g_test_message ("%d ticks failed by an I/O error, %d committed", failures, committed);
        g_assert_cmpint (failures, >, 0);
        augur_store_close (st);
        g_assert_cmpint (sqlite3_vfs_unregister (&fault_vfs), ==, SQLITE_OK);
        assert_whole (f->path, committed, FAULT_VMS);
}


/* The -wal file removed while augurd runs (a cleanup script, an admin
 * "freeing space"): SQLite keeps writing to the open, now nameless file,
 * where a crash would lose every tick since the last checkpoint.  The
 * store notices after the next commit, checkpoints and starts a new WAL
 * under the name.  Checked the hard way: a child writes, the WAL goes,
 * the child writes on and then dies without closing; every tick it
 * reported committed is in the file. */
static void
test_wal_removed (Fixture *f, gconstpointer data)
{
        g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
        int status = 0;
        pid_t pid;

        pid = fork ();
        g_assert_cmpint (pid, >=, 0);
        if (pid == 0) {
                AugurStore *st;
                int t = 0;

                g_log_set_always_fatal (G_LOG_FATAL_MASK);
                g_log_set_fatal_mask ("augur-store", G_LOG_FATAL_MASK);
                st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, NULL);
                if (!st)
                        _exit (2);
                for (; t < 3; t++)
                        if (!try_tick (st, t, NULL))
                                _exit (3);
                if (g_unlink (wal) != 0)
                        _exit (4);
                for (; t < 6; t++)
                        if (!try_tick (st, t, NULL))
                                _exit (5);
                _exit (0);              /* a crash: no close, no checkpoint */
        }
        g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), ==, 0);
        assert_whole (f->path, 6, FAULT_VMS);
}

/* vcpus_online (store.h augur_store_history): the online count of each
 * tick's decision, vcpus_current (plugged) where the tick has none; in
 * rollups the mean over the bucket's decisions.  Three minutes of 5 s
 * ticks with 2 vCPUs plugged; decisions in minute 1 only, the guest
 * agent's count going 2 -> 1 half way; minute 2 stays the open bucket. */
static void
test_history_vcpus_online (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_WRITE, &error);
        g_autoptr(GArray) raw = NULL, m1 = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        const gint64 t0 = 1800000000000;          /* a minute boundary */

        g_assert_no_error (error);
        for (int i = 0; i < 36; i++) {
                AugurDomainSample smp = live (0, 1000000000LL * i, 1000);
                gint64 ts = t0 + 5000 * i;

                augur_test_write_tick (st, ts, &smp, 1);
                if (i >= 12 && i < 24) {
                        AugurDecisionRow r = { .ts_ms = ts, .mode = "act", .policy = "augur",
                                               .vcpus_online = i < 18 ? 2 : 1, .vcpus_target = 1,
                                               .mem_used_kib = NAN, .mem_alloc_kib = NAN };

                        augur_test_uuid (0, r.uuid);
                        g_snprintf (r.name, sizeof r.name, "vm0");
                        g_assert_true (augur_store_write_decisions (st, &r, 1, &error));
                        g_assert_no_error (error);
                }
        }
        d = augur_store_find_domain (st, "vm0", &error);
        g_assert_no_error (error);
        raw = augur_store_history (st, d->id, G_MININT64, G_MAXINT64, AUGUR_RES_RAW, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (raw->len, ==, 36);
        for (guint i = 0; i < raw->len; i++) {
                const AugurHistRow *r = &g_array_index (raw, AugurHistRow, i);

                g_test_message ("raw %u", i);
                g_assert_cmpfloat (r->v[AUGUR_HIST_VCPUS_CURRENT], ==, 2);
                g_assert_cmpfloat (r->v[AUGUR_HIST_VCPUS_ONLINE], ==, i >= 18 && i < 24 ? 1 : 2);
        }
        m1 = augur_store_history (st, d->id, G_MININT64, G_MAXINT64, AUGUR_RES_1M, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (m1->len, ==, 3);
        g_assert_cmpfloat (g_array_index (m1, AugurHistRow, 0).v[AUGUR_HIST_VCPUS_ONLINE], ==, 2);
        g_assert_cmpfloat (g_array_index (m1, AugurHistRow, 1).v[AUGUR_HIST_VCPUS_ONLINE], ==, 1.5);
        g_assert_cmpfloat (g_array_index (m1, AugurHistRow, 2).v[AUGUR_HIST_VCPUS_ONLINE], ==, 2);
        /* a window that starts inside the decisions */
        g_clear_pointer (&raw, g_array_unref);
        raw = augur_store_history (st, d->id, t0 + 5000 * 20, t0 + 5000 * 20, AUGUR_RES_RAW, &error);
        g_assert_cmpuint (raw->len, ==, 1);
        g_assert_cmpfloat (g_array_index (raw, AugurHistRow, 0).v[AUGUR_HIST_VCPUS_ONLINE], ==, 1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
        ADD ("/store/create-and-version", test_create_and_version);
        ADD ("/store/newer-schema-refused", test_newer_schema_refused);
        ADD ("/store/corrupt-refused", test_corrupt_refused);
        ADD ("/store/unwritable-refused", test_unwritable_refused);
        ADD ("/store/not-regular-refused", test_not_regular_refused);
        ADD ("/store/tick-and-history", test_tick_and_history);
        ADD ("/store/rates-survive-reopen", test_rates_survive_reopen);
        ADD ("/store/rollups-once-and-recovery", test_rollups_once_and_recovery);
        ADD ("/store/rename-keeps-history", test_rename_keeps_history);
        ADD ("/store/import-upsert-and-retention", test_import_upsert_and_retention);
        ADD ("/store/disk-full-keeps-data", test_disk_full_keeps_data);
        ADD ("/store/migrate-v1", test_migrate_v1);
        ADD ("/store/decisions-roundtrip", test_decisions_roundtrip);
        ADD ("/store/history/vcpus-online", test_history_vcpus_online);
        ADD ("/store/tick-writer-fails", test_tick_writer_fails);
        ADD ("/store/checkpointer", test_checkpointer);
        ADD ("/store/checkpoint-age", test_checkpoint_age);
        ADD ("/store/fault/busy-writer", test_busy_writer);
        ADD ("/store/fault/io-errors", test_io_errors);
        ADD ("/store/fault/wal-removed", test_wal_removed);
        return g_test_run ();
}
