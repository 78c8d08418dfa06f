/* fuzz-driver.c — the plain driver of the fuzz targets.  See fuzz-driver.h. */
#include "config.h"

#include <string.h>

#include "fuzz-driver.h"

static char **file_args;

static void
run_file (const AugurFuzzTarget *t, const char *path, guint mutations)
{
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GRand) rand = g_rand_new_with_seed (g_str_hash (path));
        gsize len;

        if (!g_file_get_contents (path, &contents, &len, &error))
                g_error ("%s: %s", path, error->message);
        t->run_one ((const guint8 *) contents, len);
        for (guint i = 0; i < mutations; i++) {
                g_autofree guint8 *m = g_malloc (len + 8);
                gsize mlen = len;

                memcpy (m, contents, len);
                for (int k = g_rand_int_range (rand, 1, 5); k > 0 && mlen > t->keep; k--) {
                        gsize at = t->keep + (gsize) g_rand_int_range (rand, 0, (gint32) (mlen - t->keep));

                        switch (g_rand_int_range (rand, 0, 4)) {
                        case 0: m[at] = (guint8) g_rand_int_range (rand, 0, 256); break;
                        case 1: m[at] = (guint8) t->replace[g_rand_int_range (rand, 0, (gint32) t->n_replace)]; break;
                        case 2: mlen = at; break;
                        default:
                                memmove (m + at + 1, m + at, mlen - at);
                                m[at] = (guint8) t->insert[g_rand_int_range (rand, 0, (gint32) t->n_insert)];
                                mlen++;
                                break;
                        }
                        if (mlen >= len + 8)
                                break;
                }
                t->run_one (m, mlen);
        }
}

static void
test_files (gconstpointer data)
{
        for (char **f = file_args; f && *f; f++)
                run_file (data, *f, 0);
}

static void
test_seeds (gconstpointer data)
{
        const AugurFuzzTarget *t = data;
        g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", t->corpus, NULL);
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        const char *n;
        guint files = 0;

        g_assert_nonnull (d);
        while ((n = g_dir_read_name (d))) {
                g_autofree char *path = g_build_filename (dir, n, NULL);

                run_file (t, path, t->mutations);
                files++;
        }
        g_test_message ("%u seeds, %u mutations each", files, t->mutations);
        g_assert_cmpuint (files, >, 0);
}

int
augur_fuzz_main (const AugurFuzzTarget *t, int argc, char **argv)
{
        g_autofree char *files = g_strdup_printf ("/%s/files", t->name);
        g_autofree char *seeds = g_strdup_printf ("/%s/seeds", t->name);

        g_test_init (&argc, &argv, NULL);
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        if (t->writer)
                g_log_set_writer_func (t->writer, NULL, NULL);
        if (argc > 1) {
                file_args = argv + 1;
                g_test_add_data_func (files, t, test_files);
        } else {
                g_test_add_data_func (seeds, t, test_seeds);
        }
        return g_test_run ();
}
