/* test-trace.c — trace readers (model/trace.c, trace-rows.c, and
 * common/tar.c for PlanetLab archives): every format including gzip,
 * RFC 4180 quoting, each cleaning rule counted, duplicate and unordered
 * timestamps, missing columns, empty / too-short input, and the augur CSV
 * writer round trip (model/trace-write.c), and the LIMITS of trace.h (a
 * long line, a gzip bomb, a runaway quoted record, too many fields, an
 * oversized PlanetLab day; generated in a temp dir, at N-1 / N / N+1 where
 * the boundary is exact, and peak RSS while a 128 MiB line is refused).
 * Fixtures are tiny files in tests/data/
 * (made by hand; their rows are listed in the table below).  The real
 * traces are used only by /trace/real/bitbrains, which skips when ../shared/traces
 * is absent. */
#include "trace.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* Expected counters; -1 = don't check. */
typedef struct {
        gint64 files, rows_read, rows_kept, rows_garbage, values_nan, values_negative,
               values_absurd, mem_capacity_zero, mem_over_capacity, rows_duplicate_ts,
               rows_unordered, series_too_short, series;
} ExpStats;

typedef struct {
        const char *name;
        const char *file;            /* under tests/data */
        AugurTraceFormat fmt;
        gsize min_rows;
        ExpStats st;
        void (*check) (GPtrArray *series);
} TraceCase;

static AugurSeries *
find (GPtrArray *a, const char *vm)
{
        for (guint i = 0; i < a->len; i++) {
                AugurSeries *s = g_ptr_array_index (a, i);

                if (g_strcmp0 (s->vm, vm) == 0)
                        return s;
        }
        g_test_message ("series '%s' not found", vm);
        g_assert_not_reached ();
        return NULL;
}

static void
check_bitbrains (GPtrArray *a)
{
        AugurSeries *s = find (a, "bb-7");
        AugurSeries *z = find (a, "bb-12");

        g_assert_cmpuint (a->len, ==, 2);
        g_assert_cmpstr (((AugurSeries *) a->pdata[0])->vm, ==, "bb-12");   /* sorted by name */
        g_assert_cmpuint (s->n, ==, 14);
        g_assert_cmpint (s->ts[0], ==, 1372629804);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_PCT][0], 1.5, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_CORES][0], 2, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_DISK_RD_KIBPS][0], 1, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_DISK_WR_KIBPS][0], 2, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_NET_RX_KIBPS][0], 3, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_NET_TX_KIBPS][0], 4, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_MEM_PROV_KIB][0], 8192000, 1e-3);
        g_assert_true (isnan (s->col[AUGUR_COL_CPU_PCT][3]));      /* R2 */
        g_assert_true (isnan (s->col[AUGUR_COL_MEM_PROV_KIB][4])); /* R5 */
        g_assert_true (isnan (s->col[AUGUR_COL_MEM_USED_KIB][4]));
        g_assert_false (isnan (s->col[AUGUR_COL_CPU_PCT][4]));
        g_assert_true (isnan (s->col[AUGUR_COL_MEM_USED_KIB][5])); /* R6 */
        g_assert_false (isnan (s->col[AUGUR_COL_MEM_PROV_KIB][5]));
        g_assert_true (isnan (s->col[AUGUR_COL_CPU_PCT][6]));      /* R3 */
        g_assert_true (isnan (s->col[AUGUR_COL_CPU_PCT][7]));      /* R4 */
        g_assert_cmpuint (z->n, ==, 13);
        g_assert_cmpfloat_with_epsilon (z->col[AUGUR_COL_CPU_PCT][12], 22.0, 1e-6);
}

static void
check_azure (GPtrArray *a)
{
        AugurSeries *s = find (a, "202");

        g_assert_cmpuint (a->len, ==, 3);
        g_assert_cmpuint (s->n, ==, 15);
        g_assert_cmpint (s->ts[0], ==, 0);
        g_assert_cmpint (s->ts[14], ==, 14 * 300);
        g_assert_true (isnan (s->col[AUGUR_COL_CPU_PCT][4]));
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_PCT][5], 12.0, 1e-6);
        g_assert_null (s->col[AUGUR_COL_MEM_USED_KIB]);
}

static void
check_augur (GPtrArray *a)
{
        AugurSeries *w = find (a, "web, \"prod\"");
        AugurSeries *m = find (a, "multi\nline");

        g_assert_cmpuint (a->len, ==, 2);
        g_assert_cmpuint (m->n, ==, 2);
        g_assert_cmpfloat_with_epsilon (m->col[AUGUR_COL_CPU_PCT][1], 6, 1e-6);
        g_assert_true (isnan (m->col[AUGUR_COL_MEM_USED_KIB][0]));   /* empty cell */
        g_assert_cmpuint (w->n, ==, 4);
        g_assert_cmpint (w->ts[0], ==, 1000);
        g_assert_cmpint (w->ts[1], ==, 1300);
        g_assert_cmpint (w->ts[2], ==, 1600);                        /* sorted (R8) */
        g_assert_cmpint (w->ts[3], ==, 1900);
        /* R7: the later row wins value by value; its empty cells keep the
         * earlier values. */
        g_assert_cmpfloat_with_epsilon (w->col[AUGUR_COL_CPU_PCT][1], 12, 1e-6);
        g_assert_cmpfloat_with_epsilon (w->col[AUGUR_COL_MEM_USED_KIB][1], 1025, 1e-6);
        g_assert_cmpfloat_with_epsilon (w->col[AUGUR_COL_SESSIONS][1], 2, 1e-6);
        g_assert_null (w->col[AUGUR_COL_DISK_RD_KIBPS]);           /* absent column */
}

static void
check_planetlab (GPtrArray *a)
{
        AugurSeries *s = find (a, "node_a_slice1");
        AugurSeries *b = find (a, "node b slice2");

        g_assert_cmpuint (a->len, ==, 2);
        g_assert_cmpuint (s->n, ==, 288);
        g_assert_cmpint (s->ts[0], ==, 1299110400);   /* 2011-03-03 00:00 UTC */
        g_assert_cmpint (s->ts[287] - s->ts[0], ==, 287 * 300);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_PCT][123], 23, 1e-6);
        g_assert_true (isnan (b->col[AUGUR_COL_CPU_PCT][287]));
}

static void
check_alibaba (GPtrArray *a)
{
        AugurSeries *s = find (a, "m_1");
        AugurSeries *t = find (a, "m_2");
        float mem_pct = 100.0f * s->col[AUGUR_COL_MEM_USED_KIB][0] / s->col[AUGUR_COL_MEM_PROV_KIB][0];

        g_assert_cmpuint (a->len, ==, 2);
        g_assert_cmpuint (s->n, ==, 15);
        g_assert_cmpint (s->ts[1], ==, 100);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_PCT][2], 42, 1e-6);
        g_assert_cmpfloat_with_epsilon (mem_pct, 90, 1e-4);
        g_assert_true (isnan (t->col[AUGUR_COL_MEM_USED_KIB][0]));   /* 101 %: R6 */
}

static const TraceCase cases[] = {
        { "bitbrains-dir-gz", "trace-bitbrains", AUGUR_TRACE_FORMAT_BITBRAINS, 0,
          { 2, 29, 27, 2, 1, 1, 1, 1, 1, 0, 0, 0, 2 }, check_bitbrains },
        { "bitbrains-auto", "trace-bitbrains", AUGUR_TRACE_FORMAT_AUTO, 0,
          { 2, 29, 27, 2, 1, 1, 1, 1, 1, 0, 0, 0, 2 }, NULL },
        { "azure-gz", "trace-azure.csv.gz", AUGUR_TRACE_FORMAT_AZURE, 0,
          { 1, 17, 15, 2, 1, 0, 0, 0, 0, 0, 0, 0, 3 }, check_azure },
        { "azure-auto", "trace-azure.csv.gz", AUGUR_TRACE_FORMAT_AUTO, 0,
          { 1, 17, 15, 2, 1, 0, 0, 0, 0, 0, 0, 0, 3 }, NULL },
        { "augur-quoting", "trace-augur.csv", AUGUR_TRACE_FORMAT_AUGUR, 1,
          { 1, 10, 7, 3, 0, 0, 0, 0, 0, 1, 1, 0, 2 }, check_augur },
        { "augur-min-rows", "trace-augur.csv", AUGUR_TRACE_FORMAT_AUGUR, 3,
          { 1, 10, 7, 3, 0, 0, 0, 0, 0, 1, 1, 1, 1 }, NULL },
        { "planetlab-tar", "trace-planetlab.tar.gz", AUGUR_TRACE_FORMAT_PLANETLAB, 0,
          { 2, 576, 576, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2 }, check_planetlab },
        { "planetlab-auto", "trace-planetlab.tar.gz", AUGUR_TRACE_FORMAT_AUTO, 0,
          { 2, 576, 576, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2 }, NULL },
        { "alibaba", "trace-alibaba.csv", AUGUR_TRACE_FORMAT_ALIBABA, 0,
          { 1, 30, 29, 1, 0, 0, 0, 0, 1, 0, 0, 0, 2 }, check_alibaba },
};

static void
check_stat (const char *case_name, const char *field, gint64 want, guint64 got)
{
        if (want < 0)
                return;
        if ((guint64) want != got)
                g_test_message ("case %s: %s expected %" G_GINT64_FORMAT ", got %" G_GUINT64_FORMAT,
                                case_name, field, want, got);
        g_assert_cmpuint (got, ==, (guint64) want);
}

static void
test_trace_case (gconstpointer data)
{
        const TraceCase *c = data;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", c->file, NULL);
        g_autoptr (GPtrArray) a = NULL;
        g_autoptr (GError) error = NULL;
        AugurTraceOpts opts = { 0 };
        AugurTraceStats st;

        opts.min_rows = c->min_rows ? c->min_rows : 1;
        a = augur_trace_read (path, c->fmt, &opts, &st, &error);
        g_assert_no_error (error);
        g_assert_nonnull (a);
        check_stat (c->name, "files", c->st.files, st.files);
        check_stat (c->name, "rows_read", c->st.rows_read, st.rows_read);
        check_stat (c->name, "rows_kept", c->st.rows_kept, st.rows_kept);
        check_stat (c->name, "rows_garbage", c->st.rows_garbage, st.rows_garbage);
        check_stat (c->name, "values_nan", c->st.values_nan, st.values_nan);
        check_stat (c->name, "values_negative", c->st.values_negative, st.values_negative);
        check_stat (c->name, "values_absurd", c->st.values_absurd, st.values_absurd);
        check_stat (c->name, "mem_capacity_zero", c->st.mem_capacity_zero, st.mem_capacity_zero);
        check_stat (c->name, "mem_over_capacity", c->st.mem_over_capacity, st.mem_over_capacity);
        check_stat (c->name, "rows_duplicate_ts", c->st.rows_duplicate_ts, st.rows_duplicate_ts);
        check_stat (c->name, "rows_unordered", c->st.rows_unordered, st.rows_unordered);
        check_stat (c->name, "series_too_short", c->st.series_too_short, st.series_too_short);
        check_stat (c->name, "series", c->st.series, st.series);
        g_assert_cmpuint (a->len, ==, st.series);
        if (c->check)
                c->check (a);
}

/* Errors: each with its code. */
typedef struct {
        const char *name;
        const char *file;            /* under tests/data, or absolute */
        AugurTraceFormat fmt;
        gsize min_rows;
        AugurTraceError code;
} ErrCase;

static const ErrCase err_cases[] = {
        { "missing-file", "does-not-exist.csv", AUGUR_TRACE_FORMAT_AUGUR, 0, AUGUR_TRACE_ERROR_IO },
        { "augur-no-target-column", "trace-augur-nocols.csv", AUGUR_TRACE_FORMAT_AUGUR, 0, AUGUR_TRACE_ERROR_FORMAT },
        { "bitbrains-wrong-header", "trace-augur.csv", AUGUR_TRACE_FORMAT_BITBRAINS, 0, AUGUR_TRACE_ERROR_FORMAT },
        { "azure-wrong-header", "trace-augur.csv", AUGUR_TRACE_FORMAT_AZURE, 0, AUGUR_TRACE_ERROR_FORMAT },
        { "too-short", "trace-azure.csv.gz", AUGUR_TRACE_FORMAT_AZURE, 16, AUGUR_TRACE_ERROR_TOO_SHORT },
};

static void
test_trace_error (gconstpointer data)
{
        const ErrCase *c = data;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", c->file, NULL);
        g_autoptr (GError) error = NULL;
        AugurTraceOpts opts = { 0 };
        AugurTraceStats st;
        GPtrArray *a;

        opts.min_rows = c->min_rows;
        a = augur_trace_read (path, c->fmt, &opts, &st, &error);
        g_assert_null (a);
        g_assert_error (error, AUGUR_TRACE_ERROR, (gint) c->code);
        g_test_message ("%s: %s", c->name, error->message);
}

static void
test_trace_empty (void)
{
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "empty.csv", NULL);
        g_autofree char *hdr = g_build_filename (dir, "header.csv", NULL);
        g_autoptr (GError) error = NULL;
        GPtrArray *a;

        g_assert_true (g_file_set_contents (path, "", 0, NULL));
        g_assert_true (g_file_set_contents (hdr, "vm,ts,cpu_pct\n", -1, NULL));
        a = augur_trace_read (path, AUGUR_TRACE_FORMAT_AUGUR, NULL, NULL, &error);
        g_assert_null (a);
        g_assert_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_EMPTY);
        g_clear_error (&error);
        a = augur_trace_read (hdr, AUGUR_TRACE_FORMAT_AUGUR, NULL, NULL, &error);
        g_assert_null (a);
        g_assert_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_EMPTY);
        g_unlink (path);
        g_unlink (hdr);
        g_rmdir (dir);
}

/* Optional bucket columns (prog_b0..7, user_b0..3) are matched by name in
 * any order; empty cells are missing; an unknown prog_b9 is ignored; a
 * bucket the file lacks stays absent.  They survive the writer. */
static void
check_buckets (GPtrArray *a)
{
        AugurSeries *s = find (a, "dev");

        g_assert_cmpuint (s->n, ==, 3);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_PROG_B0 + 6][0], 150.5, 1e-4);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_PROG_B0 + 7][0], 2.5, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_USER_B0 + 3][0], 1, 1e-6);
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_USER_B0 + 1][1], 1, 1e-6);
        g_assert_true (isnan (s->col[AUGUR_COL_PROG_B0 + 6][1]));    /* empty cell */
        g_assert_true (isnan (s->col[AUGUR_COL_USER_B0 + 3][1]));
        g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_PROG_B0][1], 0.2, 1e-6);
        g_assert_null (s->col[AUGUR_COL_PROG_B0 + 1]);                /* not in the file */
        g_assert_null (s->col[AUGUR_COL_USER_B0]);
}

static void
test_trace_buckets (void)
{
        g_autofree char *src = g_test_build_filename (G_TEST_DIST, "data", "trace-augur-buckets.csv", NULL);
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        g_autofree char *out = g_build_filename (dir, "rt.csv", NULL);
        g_autoptr (GPtrArray) a = NULL;
        g_autoptr (GPtrArray) b = NULL;
        g_autoptr (GError) error = NULL;
        AugurTraceOpts opts = { 0 };

        opts.min_rows = 1;
        a = augur_trace_read (src, AUGUR_TRACE_FORMAT_AUGUR, &opts, NULL, &error);
        g_assert_no_error (error);
        check_buckets (a);
        g_assert_true (augur_trace_write_augur_csv (a, out, &error));
        g_assert_no_error (error);
        b = augur_trace_read (out, AUGUR_TRACE_FORMAT_AUGUR, &opts, NULL, &error);
        g_assert_no_error (error);
        check_buckets (b);
        g_unlink (out);
        g_rmdir (dir);
}

static void
test_trace_format_names (void)
{
        static const struct {
                const char *name;
                gboolean ok;
                AugurTraceFormat fmt;
        } rows[] = {
                { "bitbrains", TRUE, AUGUR_TRACE_FORMAT_BITBRAINS },
                { "Azure", TRUE, AUGUR_TRACE_FORMAT_AZURE },
                { "augur", TRUE, AUGUR_TRACE_FORMAT_AUGUR },
                { "planetlab", TRUE, AUGUR_TRACE_FORMAT_PLANETLAB },
                { "alibaba", TRUE, AUGUR_TRACE_FORMAT_ALIBABA },
                { "auto", TRUE, AUGUR_TRACE_FORMAT_AUTO },
                { "google", FALSE, AUGUR_TRACE_FORMAT_AUTO },
        };

        for (guint i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr (GError) error = NULL;
                AugurTraceFormat f = AUGUR_TRACE_FORMAT_AUTO;
                gboolean ok = augur_trace_format_from_name (rows[i].name, &f, &error);

                g_test_message ("row %u: %s", i, rows[i].name);
                g_assert_cmpint (ok, ==, rows[i].ok);
                if (ok)
                        g_assert_cmpint (f, ==, rows[i].fmt);
                else
                        g_assert_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_INVAL);
        }
}

/* Numbers in traces are decimal: "0x10" is not 16 and "inf" is not a
 * value; each counts as unreadable (values_nan), a timestamp in hex makes
 * its row garbage, and exponents and signs still read. */
static void
test_trace_decimal_only (void)
{
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "hex.csv", NULL);
        AugurTraceOpts opts = { .min_rows = 1 };
        g_autoptr (GPtrArray) a = NULL;
        g_autoptr (GError) error = NULL;
        AugurSeries *s;
        AugurTraceStats st;

        g_assert_true (g_file_set_contents (path,
                "vm,ts,cpu_pct,mem_prov_kib,mem_used_kib\n"
                "v,1000,0x10,2048,1024\n"
                "v,1300,inf,2048,1.025e3\n"
                "v,0x640,10,2048,1024\n"
                "v,1900, 12 ,2048,+1030\n", -1, NULL));
        a = augur_trace_read (path, AUGUR_TRACE_FORMAT_AUGUR, &opts, &st, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (a->len, ==, 1);
        s = a->pdata[0];
        g_assert_cmpuint (s->n, ==, 3);
        g_assert_cmpint (st.rows_garbage, ==, 1);               /* ts 0x640 */
        g_assert_cmpint (st.values_nan, ==, 2);                 /* 0x10, inf */
        g_assert_true (isnan (s->col[AUGUR_COL_CPU_PCT][0]));
        g_assert_cmpfloat (s->col[AUGUR_COL_MEM_USED_KIB][1], ==, 1025);
        g_assert_cmpfloat (s->col[AUGUR_COL_CPU_PCT][2], ==, 12);
        g_assert_cmpfloat (s->col[AUGUR_COL_MEM_USED_KIB][2], ==, 1030);
        g_unlink (path);
        g_rmdir (dir);
}

/* Writer round trip: read the augur fixture, write it (plain and .gz),
 * read it back: same series, same values (missing stays missing). */
static void
test_trace_write_roundtrip (void)
{
        g_autofree char *src = g_test_build_filename (G_TEST_DIST, "data", "trace-augur.csv", NULL);
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        const char *names[] = { "out.csv", "out.csv.gz" };
        AugurTraceOpts opts = { 0 };
        g_autoptr (GPtrArray) a = NULL;
        g_autoptr (GError) error = NULL;

        opts.min_rows = 1;
        a = augur_trace_read (src, AUGUR_TRACE_FORMAT_AUGUR, &opts, NULL, &error);
        g_assert_no_error (error);
        for (guint f = 0; f < G_N_ELEMENTS (names); f++) {
                g_autofree char *out = g_build_filename (dir, names[f], NULL);
                g_autoptr (GPtrArray) b = NULL;
                AugurTraceStats st;

                g_assert_true (augur_trace_write_augur_csv (a, out, &error));
                g_assert_no_error (error);
                b = augur_trace_read (out, AUGUR_TRACE_FORMAT_AUTO, &opts, &st, &error);
                g_assert_no_error (error);
                g_assert_cmpuint (st.rows_garbage, ==, 0);
                g_assert_cmpuint (b->len, ==, a->len);
                for (guint i = 0; i < a->len; i++) {
                        AugurSeries *x = a->pdata[i], *y = b->pdata[i];

                        g_assert_cmpstr (x->vm, ==, y->vm);
                        g_assert_cmpuint (x->n, ==, y->n);
                        for (gsize r = 0; r < x->n; r++) {
                                g_assert_cmpint (x->ts[r], ==, y->ts[r]);
                                for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                                        float u = x->col[c] ? x->col[c][r] : NAN;
                                        float v = y->col[c] ? y->col[c][r] : NAN;

                                        if (isnan (u))
                                                g_assert_true (isnan (v));
                                        else
                                                g_assert_cmpfloat (u, ==, v);
                                }
                        }
                }
                g_unlink (out);
        }
        g_rmdir (dir);
}

/* Real traces beside the checkout (../shared/traces, or
 * $AUGUR_SHARED_TRACES): the counts each reader must find in them. */
static char *
shared_traces (void)
{
        const char *env = g_getenv ("AUGUR_SHARED_TRACES");
        g_autofree char *guess = g_test_build_filename (G_TEST_DIST, "..", "..", "shared", "traces", NULL);

        if (env && *env)
                return g_strdup (env);
        if (g_file_test (guess, G_FILE_TEST_IS_DIR))
                return g_steal_pointer (&guess);
        return NULL;
}

/* ---- LIMITS (trace.h) ---- */

#define MAX_LINE AUGUR_TRACE_MAX_LINE_BYTES
#define MAX_RECORD AUGUR_TRACE_MAX_RECORD_BYTES

/* Files are written through zlib: "wT" is plain, "wb1" gzip. */
static void
out_str (gzFile out, const char *s)
{
        g_assert_cmpint (gzwrite (out, s, (unsigned) strlen (s)), ==, (int) strlen (s));
}

static void
out_fill (gzFile out, char ch, gsize n)
{
        char buf[65536];

        memset (buf, ch, sizeof buf);
        while (n > 0) {
                unsigned k = (unsigned) MIN (n, sizeof buf);

                g_assert_cmpint (gzwrite (out, buf, k), ==, (int) k);
                n -= k;
        }
}

/* first ("vm,ts,cpu_pct" or "vm1,1,5") and ",x" up to n fields. */
static void
out_fields (gzFile out, const char *first, guint n)
{
        out_str (out, first);
        for (guint i = 3; i < n; i++)
                out_str (out, ",x");
        out_str (out, "\n");
}

/* augur CSV: one data row; the line (or record) length is in the name. */
static void
make_augur_line_8m (gzFile out)
{
        out_str (out, "vm,ts,cpu_pct\nvm1,1,");
        out_fill (out, '5', 8 * 1024 * 1024);
        out_str (out, "\n");
}

/* 64 MiB of one record, no line end ever: ~64 KiB of gzip. */
static void
make_augur_bomb (gzFile out)
{
        out_str (out, "vm,ts,cpu_pct\nvm1,1,");
        out_fill (out, '5', 64 * 1024 * 1024);
}

/* "vm1,1,5," + pad = a line of exactly len bytes, then eol. */
static void
augur_line_of (gzFile out, gsize len, const char *eol)
{
        out_str (out, "vm,ts,cpu_pct,pad\nvm1,1,5,");
        out_fill (out, 'x', len - strlen ("vm1,1,5,"));
        out_str (out, eol);
}

static void make_augur_line_n_minus_1 (gzFile out) { augur_line_of (out, MAX_LINE - 1, "\n"); }
static void make_augur_line_n (gzFile out) { augur_line_of (out, MAX_LINE, "\n"); }
static void make_augur_line_n_crlf (gzFile out) { augur_line_of (out, MAX_LINE, "\r\n"); }
static void make_augur_line_n_plus_1 (gzFile out) { augur_line_of (out, MAX_LINE + 1, "\n"); }

/* A quoted field over two lines: the record (both lines and the line
 * break between them) is len bytes. */
static void
augur_record_of (gzFile out, gsize len)
{
        const char *head = "vm1,1,5,\"";
        gsize first = MAX_RECORD / 2;

        out_str (out, "vm,ts,cpu_pct,pad\n");
        out_str (out, head);
        out_fill (out, 'x', first - strlen (head));
        out_str (out, "\n");
        out_fill (out, 'y', len - first - 1 - 1);
        out_str (out, "\"\n");
}

static void make_augur_record_n (gzFile out) { augur_record_of (out, MAX_RECORD); }
static void make_augur_record_n_plus_1 (gzFile out) { augur_record_of (out, MAX_RECORD + 1); }

/* An opening quote never closed: every later line joins the record. */
static void
make_augur_unclosed_quote (gzFile out)
{
        out_str (out, "vm,ts,cpu_pct\nvm1,1,\"5\n");
        for (guint i = 0; i < 2048; i++) {
                out_fill (out, 'z', 1023);
                out_str (out, "\n");
        }
}

/* Unknown columns "x" are ignored: a header and a row of N fields read. */
static void
make_augur_fields_n (gzFile out)
{
        out_fields (out, "vm,ts,cpu_pct", AUGUR_TRACE_MAX_FIELDS);
        out_fields (out, "vm1,1,5", AUGUR_TRACE_MAX_FIELDS);
}

static void
make_augur_fields_n_plus_1 (gzFile out)
{
        out_fields (out, "vm,ts,cpu_pct", AUGUR_TRACE_MAX_FIELDS);
        out_fields (out, "vm1,1,5", AUGUR_TRACE_MAX_FIELDS + 1);
}

static void
make_augur_header_fields (gzFile out)
{
        out_str (out, "vm,ts");
        for (guint i = 0; i < 2 * AUGUR_TRACE_MAX_FIELDS; i++)
                out_str (out, ",cpu_pct");
        out_str (out, "\n");
}

static void
make_bitbrains_header (gzFile out)
{
        out_str (out, "Timestamp [ms];\t");
        out_fill (out, ';', 2 * 1024 * 1024);
        out_str (out, "\n");
}

static void
make_azure_row (gzFile out)
{
        out_str (out, "step,a,b\n1,5,");
        out_fill (out, '5', 3 * 1024 * 1024);
        out_str (out, "\n");
}

static void
make_alibaba_row (gzFile out)
{
        out_str (out, "m_1,0,5,50,1,1,1,1,1\nm_1,10,5,50,1,1,1,1,1\nm_1,20,");
        out_fill (out, '5', 3 * 1024 * 1024);
}

/* 600 000 values where a day has 288: 1.8 MB of short lines. */
static void
make_planetlab_plain (gzFile out)
{
        for (guint i = 0; i < 600000; i++)
                out_str (out, "50\n");
}

/* A ustar header announcing a 2 MiB member (the reader refuses it before
 * reading the data, so none follows). */
static void
make_planetlab_tar (gzFile out)
{
        char hdr[512] = { 0 };

        g_strlcpy (hdr, "20110303/vm1", 100);
        g_snprintf (hdr + 124, 12, "%011o", 2 * 1024 * 1024);
        hdr[156] = '0';
        memcpy (hdr + 257, "ustar", 5);
        g_assert_cmpint (gzwrite (out, hdr, sizeof hdr), ==, (int) sizeof hdr);
}

typedef struct {
        const char *name;
        const char *file;                 /* created in a temp dir          */
        AugurTraceFormat fmt;
        void (*make) (gzFile out);
        const char *where;                /* in the error after the path,
                                           * NULL: the file reads fine      */
} LimitCase;

static const LimitCase limit_cases[] = {
        { "augur-line-8m", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_line_8m, ":2: line longer than" },
        { "augur-gzip-bomb", "t.csv.gz", AUGUR_TRACE_FORMAT_AUGUR, make_augur_bomb, ":2: line longer than" },
        { "augur-line-n-1", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_line_n_minus_1, NULL },
        { "augur-line-n", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_line_n, NULL },
        { "augur-line-n-crlf", "t.csv.gz", AUGUR_TRACE_FORMAT_AUGUR, make_augur_line_n_crlf, NULL },
        { "augur-line-n+1", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_line_n_plus_1, ":2: line longer than" },
        { "augur-record-n", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_record_n, NULL },
        { "augur-record-n+1", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_record_n_plus_1,
          ":2-3: record longer than" },
        { "augur-unclosed-quote", "t.csv.gz", AUGUR_TRACE_FORMAT_AUGUR, make_augur_unclosed_quote,
          ":2-1026: record longer than" },
        { "augur-fields-n", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_fields_n, NULL },
        { "augur-fields-n+1", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_fields_n_plus_1,
          ":2: record with more than" },
        { "augur-header-fields", "t.csv", AUGUR_TRACE_FORMAT_AUGUR, make_augur_header_fields,
          ":1: record with more than" },
        { "auto-guess", "t.csv", AUGUR_TRACE_FORMAT_AUTO, make_bitbrains_header, ":1: line longer than" },
        { "bitbrains-header", "7.csv", AUGUR_TRACE_FORMAT_BITBRAINS, make_bitbrains_header, ":1: line longer than" },
        { "azure-row", "t.csv", AUGUR_TRACE_FORMAT_AZURE, make_azure_row, ":2: line longer than" },
        { "alibaba-row", "t.csv.gz", AUGUR_TRACE_FORMAT_ALIBABA, make_alibaba_row, ":3: line longer than" },
        { "planetlab-day", "vm1-20110303", AUGUR_TRACE_FORMAT_PLANETLAB, make_planetlab_plain,
          ":349526: more than 1048576 bytes" },   /* 3 bytes a line */
        { "planetlab-tar-member", "20110303.tar", AUGUR_TRACE_FORMAT_PLANETLAB, make_planetlab_tar,
          ": tar member '20110303/vm1' of 2097152 bytes is too big" },
};

static void
test_trace_limit (gconstpointer data)
{
        const LimitCase *c = data;
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, c->file, NULL);
        g_autoptr (GError) error = NULL;
        g_autoptr (GPtrArray) a = NULL;
        AugurTraceOpts opts = { 0 };
        gzFile out = gzopen (path, g_str_has_suffix (path, ".gz") ? "wb1" : "wT");

        g_assert_nonnull (out);
        c->make (out);
        g_assert_cmpint (gzclose (out), ==, Z_OK);
        opts.min_rows = 1;
        a = augur_trace_read (path, c->fmt, &opts, NULL, &error);
        if (c->where) {
                g_autofree char *want = g_strconcat (path, c->where, NULL);

                g_assert_null (a);
                g_assert_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG);
                g_test_message ("%s", error->message);
                if (!g_str_has_prefix (error->message, want))
                        g_error ("message '%s' does not start with '%s'", error->message, want);
        } else {
                AugurSeries *s;

                g_assert_no_error (error);
                s = find (a, "vm1");
                g_assert_cmpuint (s->n, ==, 1);
                g_assert_cmpfloat_with_epsilon (s->col[AUGUR_COL_CPU_PCT][0], 5, 1e-6);
        }
        g_unlink (path);
        g_rmdir (dir);
}

static gint64
status_kib (const char *field)
{
        g_autofree char *status = NULL;
        const char *p;

        g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
        p = strstr (status, field);
        g_assert_nonnull (p);
        return g_ascii_strtoll (p + strlen (field), NULL, 10);
}

/* VmHWM := VmRSS (g_file_set_contents would write a temp file and rename
 * it, which /proc refuses). */
static gboolean
reset_peak_rss (void)
{
        FILE *f = fopen ("/proc/self/clear_refs", "w");
        gboolean ok;

        if (!f)
                return FALSE;
        ok = fputs ("5", f) >= 0;
        return fclose (f) == 0 && ok;
}

/* A 128 MiB record in ~128 KiB of gzip must not cost 128 MiB: the reader
 * stops one 64 KiB piece past the 1 MiB limit.  Peak RSS (VmHWM, reset
 * through /proc/self/clear_refs) may rise by a few MiB, not by the line. */
static void
test_trace_limit_memory (void)
{
        g_autofree char *dir = g_dir_make_tmp ("augur-trace-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "bomb.csv.gz", NULL);
        g_autoptr (GError) error = NULL;
        gzFile out = gzopen (path, "wb1");
        gint64 before, peak;
        GPtrArray *a;

        g_assert_nonnull (out);
        out_str (out, "vm,ts,cpu_pct\nvm1,1,");
        out_fill (out, '5', 128 * 1024 * 1024);
        g_assert_cmpint (gzclose (out), ==, Z_OK);
        if (!reset_peak_rss ()) {
                g_test_skip ("cannot reset the peak RSS (/proc/self/clear_refs, Linux >= 4.0)");
                g_unlink (path);
                g_rmdir (dir);
                return;
        }
        before = status_kib ("VmHWM:");
        a = augur_trace_read (path, AUGUR_TRACE_FORMAT_AUGUR, NULL, NULL, &error);
        peak = status_kib ("VmHWM:");
        g_test_message ("peak RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB", before, peak);
        g_assert_cmpint (peak - before, <, 16 * 1024);
        g_assert_null (a);
        g_assert_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG);
        g_unlink (path);
        g_rmdir (dir);
}

static void
test_trace_real_bitbrains (void)
{
        g_autofree char *root = shared_traces ();
        g_autofree char *dir = NULL;
        g_autoptr (GPtrArray) a = NULL;
        g_autoptr (GError) error = NULL;
        AugurTraceStats st;

        if (!root) {
                g_test_skip ("../shared/traces not present");
                return;
        }
        dir = g_build_filename (root, "bitbrains_rnd", "2013-7", NULL);
        a = augur_trace_read (dir, AUGUR_TRACE_FORMAT_BITBRAINS, NULL, &st, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (a->len, ==, 50);
        g_assert_cmpuint (st.rows_kept, ==, 413580);
        g_assert_cmpuint (st.mem_capacity_zero, ==, 2534);
        g_assert_cmpuint (st.mem_over_capacity, ==, 18);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
                g_autofree char *p = g_strdup_printf ("/trace/read/%s", cases[i].name);

                g_test_add_data_func (p, &cases[i], test_trace_case);
        }
        for (guint i = 0; i < G_N_ELEMENTS (err_cases); i++) {
                g_autofree char *p = g_strdup_printf ("/trace/error/%s", err_cases[i].name);

                g_test_add_data_func (p, &err_cases[i], test_trace_error);
        }
        g_test_add_func ("/trace/error/empty", test_trace_empty);
        g_test_add_func ("/trace/format-names", test_trace_format_names);
        g_test_add_func ("/trace/augur/buckets", test_trace_buckets);
        g_test_add_func ("/trace/write/roundtrip", test_trace_write_roundtrip);
        g_test_add_func ("/trace/decimal-only", test_trace_decimal_only);
        g_test_add_func ("/trace/real/bitbrains", test_trace_real_bitbrains);
        for (guint i = 0; i < G_N_ELEMENTS (limit_cases); i++) {
                g_autofree char *p = g_strdup_printf ("/trace/limit/%s", limit_cases[i].name);

                g_test_add_data_func (p, &limit_cases[i], test_trace_limit);
        }
        g_test_add_func ("/trace/limit/memory", test_trace_limit_memory);
        return g_test_run ();
}
