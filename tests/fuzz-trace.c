/* fuzz-trace.c — libFuzzer target for the trace readers (model/trace.c
 * and trace-rows.c, and common/tar.c for PlanetLab archives), and a plain
 * fallback that runs it over files.
 *
 * An input is two selector bytes and a file:
 *   byte 0 % 6  the format: auto, augur, bitbrains, azure, planetlab, alibaba
 *               (the AugurTraceFormat order; '0'..'5' in the seeds)
 *   byte 1 % 3  how the rest is stored: 0 plain ("<YYYYMMDD>.csv"), 1 gzipped
 *               by us first (so the reader decompresses it), 2 plain under a
 *               ".tar" name (PlanetLab's archive reader)
 *   the rest    the file's bytes (raw gzip streams, corrupt ones included,
 *               reach the reader through 0: zlib detects the magic)
 * It is written to a private temp dir (the readers take paths) and read
 * with augur_trace_read (min_rows 1).  Checked on every input:
 *   - no crash, no sanitizer report, no error outside AUGUR_TRACE_ERROR;
 *   - on success: series sorted by name with distinct non-empty names,
 *     timestamps strictly increasing, every value missing (NaN) or finite,
 *     >= 0 and within the largest physical bound (cleaning rules R2-R4),
 *     and rows_kept <= rows_read.
 * Limits (1 MiB lines) are beyond the fuzzer's input size; test-trace
 * covers them.
 *
 * With libFuzzer (tests/run-fuzz.sh trace does exactly this, bounded):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DAUGUR_FUZZ_LIBFUZZER \
 *     -I. -Imodel -Icommon tests/fuzz-trace.c model/trace.c model/trace-rows.c \
 *     common/tar.c common/libaugur-common.a \
 *     $(pkg-config --cflags --libs glib-2.0 zlib) \
 *     -lm -o fuzz-trace
 *   ./fuzz-trace -max_total_time=60 corpus/ tests/data/trace-corpus/
 *
 * Without libFuzzer (the automake build): a GTest program, with the driver
 * all targets share (fuzz-driver.h).
 *   fuzz-trace [FILE...]   runs each FILE (e.g. a crash reproducer); with no
 *                          FILE, every seed of tests/data/trace-corpus and a
 *                          deterministic set of mutations of each.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz-driver.h"
#include "trace.h"

static const AugurTraceFormat formats[] = {
        AUGUR_TRACE_FORMAT_AUTO, AUGUR_TRACE_FORMAT_AUGUR, AUGUR_TRACE_FORMAT_BITBRAINS,
        AUGUR_TRACE_FORMAT_AZURE, AUGUR_TRACE_FORMAT_PLANETLAB, AUGUR_TRACE_FORMAT_ALIBABA,
};

static char *work_dir;          /* private temp dir, removed at exit */

static void
remove_work_dir (void)
{
        g_autoptr(GDir) d = NULL;
        const char *n;

        if (!work_dir)
                return;
        d = g_dir_open (work_dir, 0, NULL);
        while (d && (n = g_dir_read_name (d))) {
                g_autofree char *p = g_build_filename (work_dir, n, NULL);

                g_unlink (p);
        }
        g_rmdir (work_dir);
        g_clear_pointer (&work_dir, g_free);
}

static void
die (const char *what)
{
        g_printerr ("fuzz-trace: %s\n", what);
        abort ();
}

static void
write_input (const char *path, const guint8 *data, gsize size, gboolean gzip)
{
        gzFile out = gzopen (path, gzip ? "wb1" : "wT");

        if (!out)
                die ("cannot create the input file");
        if (size > 0 && gzwrite (out, data, (unsigned) size) != (int) size)
                die ("cannot write the input file");
        if (gzclose (out) != Z_OK)
                die ("cannot close the input file");
}

static void
check_series (const GPtrArray *a, const AugurTraceStats *st)
{
        if (st->rows_kept > st->rows_read)
                die ("rows_kept > rows_read");
        for (guint i = 0; i < a->len; i++) {
                const AugurSeries *s = g_ptr_array_index (a, i);

                if (!s->vm || !s->vm[0])
                        die ("a series without a name");
                if (i > 0 && strcmp (((const AugurSeries *) g_ptr_array_index (a, i - 1))->vm, s->vm) >= 0)
                        die ("series not sorted by distinct names");
                for (gsize k = 1; k < s->n; k++)
                        if (s->ts[k] <= s->ts[k - 1])
                                die ("timestamps not strictly increasing");
                for (int c = 0; c < AUGUR_COL_N; c++) {
                        if (!s->col[c])
                                continue;
                        for (gsize k = 0; k < s->n; k++) {
                                float v = s->col[c][k];

                                if (isnan (v))
                                        continue;
                                if (isinf (v) || v < 0 || v > AUGUR_TRACE_MAX_MEM_KIB)
                                        die ("a value the cleaning rules should have dropped");
                        }
                }
        }
}

static void
run_one (const guint8 *data, gsize size)
{
        static const char *const names[] = { "20110303.csv", "20110303.csv.gz", "20110303.tar" };
        g_autofree char *path = NULL;
        g_autoptr(GPtrArray) a = NULL;
        g_autoptr(GError) error = NULL;
        AugurTraceOpts opts = { 0 };
        AugurTraceStats st = { 0 };
        AugurTraceFormat fmt;
        guint how;

        if (size < 2)
                return;
        if (!work_dir) {
                work_dir = g_dir_make_tmp ("augur-fuzz-trace-XXXXXX", NULL);
                if (!work_dir)
                        die ("cannot create a temp dir");
                atexit (remove_work_dir);
        }
        fmt = formats[data[0] % G_N_ELEMENTS (formats)];
        how = data[1] % 3;
        path = g_build_filename (work_dir, names[how], NULL);
        write_input (path, data + 2, size - 2, how == 1);
        opts.min_rows = 1;
        a = augur_trace_read (path, fmt, &opts, &st, &error);
        g_unlink (path);
        if (a) {
                if (error)
                        die ("success with an error set");
                check_series (a, &st);
        } else if (!error || error->domain != AUGUR_TRACE_ERROR) {
                die ("failure without an AUGUR_TRACE_ERROR");
        }
}

#ifdef AUGUR_FUZZ_LIBFUZZER

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
        g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
        run_one (data, size);
        return 0;
}

#else /* !AUGUR_FUZZ_LIBFUZZER */

/* CSV punctuation and number characters; the replacement set ends with its
 * NUL, so an edit may also write a 0 byte.  The two selector bytes stay. */
static const char replace[] = ",;\"\n\r-0e.9 ";
static const char insert[] = "0123456789,\"\n";

int
main (int argc, char **argv)
{
        static const AugurFuzzTarget t = {
                .name = "fuzz-trace", .corpus = "trace-corpus", .mutations = 300, .keep = 2,
                .replace = replace, .n_replace = sizeof replace,
                .insert = insert, .n_insert = sizeof insert - 1,
                .run_one = run_one,
        };
        int rc = augur_fuzz_main (&t, argc, argv);

        remove_work_dir ();
        return rc;
}

#endif
