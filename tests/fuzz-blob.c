/* fuzz-blob.c — libFuzzer entry point for the model file loader, and a
 * plain fallback that runs it on files or on a built-in corpus.
 *
 * With libFuzzer (CRC checks skipped so the fuzzer reaches the parser):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -DAUGUR_FUZZ_LIBFUZZER \
 *     -Imodel -Icommon tests/fuzz-blob.c model/blob.c model/nn.c model/nn-q.c common/regfile.c \
 *     $(pkg-config --cflags --libs glib-2.0 openblas zlib) -lm -o fuzz-blob
 *   ./fuzz-blob -max_total_time=60 corpus/
 *
 * Without libFuzzer (the automake build): a GTest program.
 *   fuzz-blob [FILE...]   runs the loader on each FILE (e.g. a crash
 *                         reproducer or a seed corpus), then on a corpus it
 *                         generates itself: valid LSTM/GRU blobs, every
 *                         truncation of one, and a deterministic set of
 *                         random byte mutations.  Passes when nothing
 *                         crashes and every mutated file is either refused
 *                         or loads into a model that can take a step.
 *   fuzz-blob --write-seeds DIR   writes the generated valid blobs to DIR
 *                         (a starting corpus for libFuzzer).
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "blob.h"

/* Load, and when it loads, exercise the result: a quantised step and a
 * float step must not crash whatever the (validated) values are. */
static void
run_one (const guint8 *data, gsize size)
{
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNQ) q = NULL;
        g_autoptr (GHashTable) extra = NULL;
        g_autoptr (GError) error = NULL;

        if (augur_blob_load_from_data (data, size, &nn, &q, &extra, &error)) {
                g_autoptr (AugurNNQState) qs = augur_nnq_state_new (q);
                g_autoptr (AugurNNState) fs = augur_nn_state_new (nn);
                g_autofree float *x = g_new0 (float, nn->cfg.n_in);
                g_autofree float *y = g_new0 (float, nn->cfg.n_out);

                x[0] = 1.0f;
                augur_nnq_step (q, qs, x);
                augur_nnq_output (q, qs, y);
                augur_nn_step (nn, fs, x);
                augur_nn_state_output (nn, fs, y);
        } else {
                g_assert_nonnull (error);
                g_assert_true (error->domain == AUGUR_BLOB_ERROR);
        }
}

#ifdef AUGUR_FUZZ_LIBFUZZER

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
        static gboolean init = FALSE;

        if (!init) {
                augur_nn_blas_threads_init ();
                init = TRUE;
        }
        run_one (data, size);
        return 0;
}

#else /* !AUGUR_FUZZ_LIBFUZZER */

static char **file_args = NULL;

static GBytes *
seed_blob (AugurArch arch, guint I, guint H, guint O)
{
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (GError) error = NULL;
        AugurBlobSection extra = { AUGUR_BLOB_SECTION_USER, "meta", 4 };
        AugurNNConfig cfg;
        GBytes *b;

        augur_nn_config_init (&cfg, I, H, O, arch);
        cfg.heads = 1;                       /* transformer: small and valid */
        cfg.max_len = 4;
        nn = augur_nn_new (&cfg, 1, &error);
        g_assert_no_error (error);
        b = augur_blob_save_to_bytes (nn, NULL, &extra, 1, &error);
        g_assert_no_error (error);
        return b;
}

static void
test_files (void)
{
        char **f;

        for (f = file_args; f && *f; f++) {
                g_autofree char *data = NULL;
                g_autoptr (GError) error = NULL;
                gsize len;

                if (!g_file_get_contents (*f, &data, &len, &error)) {
                        g_test_message ("%s: %s, skipping", *f, error->message);
                        continue;
                }
                g_test_message ("running %s (%" G_GSIZE_FORMAT " bytes)", *f, len);
                run_one ((const guint8 *) data, len);
        }
}

static void
test_self (void)
{
        const AugurArch archs[3] = { AUGUR_ARCH_LSTM, AUGUR_ARCH_GRU, AUGUR_ARCH_TRANSFORMER };
        guint64 rng = 12345;
        guint a, k;
        gsize n, runs = 0;

        for (a = 0; a < G_N_ELEMENTS (archs); a++) {
                g_autoptr (GBytes) b = seed_blob (archs[a], 2, 3, 2);
                gsize len;
                const guint8 *d = g_bytes_get_data (b, &len);
                g_autofree guint8 *cp = g_malloc (len);

                run_one (d, len);
                for (n = 0; n < len; n += 3) {
                        g_autofree guint8 *t = g_memdup2 (d, n);

                        run_one (t, n);
                        runs++;
                }
                for (k = 0; k < 3000; k++) {
                        guint m, nm;

                        memcpy (cp, d, len);
                        rng = rng * G_GUINT64_CONSTANT (6364136223846793005) + 1442695040888963407ull;
                        nm = 1 + (guint) ((rng >> 33) % 4);
                        for (m = 0; m < nm; m++) {
                                rng = rng * G_GUINT64_CONSTANT (6364136223846793005) + 1442695040888963407ull;
                                cp[(rng >> 20) % len] ^= (guint8) (1 + ((rng >> 8) & 0xfe));
                        }
                        run_one (cp, len);
                        runs++;
                }
        }
        g_test_message ("%" G_GSIZE_FORMAT " generated inputs ran", runs);
}

static int
write_seeds (const char *dir)
{
        const AugurArch archs[3] = { AUGUR_ARCH_LSTM, AUGUR_ARCH_GRU, AUGUR_ARCH_TRANSFORMER };
        guint a;

        g_mkdir_with_parents (dir, 0755);
        for (a = 0; a < G_N_ELEMENTS (archs); a++) {
                g_autoptr (GBytes) b = seed_blob (archs[a], 2, 3, 2);
                g_autofree char *path = g_strdup_printf ("%s/seed-%s.augur", dir,
                                                         augur_arch_name (archs[a]));
                gsize len;
                const char *d = g_bytes_get_data (b, &len);

                if (!g_file_set_contents (path, d, (gssize) len, NULL))
                        return 1;
        }
        return 0;
}

int
main (int argc, char **argv)
{
        if (argc == 3 && g_str_equal (argv[1], "--write-seeds"))
                return write_seeds (argv[2]);

        g_test_init (&argc, &argv, NULL);
        augur_nn_blas_threads_init ();
        file_args = argv + 1;     /* g_test_init removed its own options */
        g_test_add_func ("/blob/fuzz/files", test_files);
        g_test_add_func ("/blob/fuzz/self", test_self);
        return g_test_run ();
}

#endif /* AUGUR_FUZZ_LIBFUZZER */
