/* bench-nn.c — timing of the augur LSTM/GRU/transformer: ns per single
 * step (float and fixed point, LSTM and GRU), ns per int window forecast
 * (what the predictor runs per VM per tick: reset, T inputs, head; all
 * three architectures) and seconds per training epoch.
 *
 * Usage: bench-nn [step|window|train|all] [--windows N] [--batch B] [--hidden H]
 *                 [--inputs I] [--window T] [--outputs O] [--threads N]
 *                 [--layers L] [--heads N]
 * Build (from the top of a configured tree, after make):
 *   gcc -O2 -iquote model -iquote common $(pkg-config --cflags glib-2.0) \
 *       scripts/bench-nn.c model/libaugur-model.a common/libaugur-common.a \
 *       $(pkg-config --libs glib-2.0) -lopenblas -lz -lm -o bench-nn
 * Defaults are the production shapes: I = 30, H = 32, T = 24, O = 12,
 * 330000 windows per epoch, batch 256.  The epoch cycles over a pool of
 * 16384 distinct synthetic windows (the arithmetic does not depend on the
 * values; this keeps memory at ~50 MB instead of ~1 GB).
 *
 * Not a test: it prints numbers and always exits 0 unless an argument is
 * wrong.  Run it on an idle machine; OPENBLAS_NUM_THREADS is honoured.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "nn.h"
#include "nn-q.h"

static guint opt_windows = 330000, opt_batch = 256, opt_hidden = 32;
static guint opt_inputs = 30, opt_window = 24, opt_outputs = 12, opt_threads = 0;
static guint opt_layers = 2, opt_heads = 2;

static void
fill (float *x, gsize n, guint64 seed)
{
        gsize i;

        for (i = 0; i < n; i++) {
                seed = seed * G_GUINT64_CONSTANT (6364136223846793005) + 1442695040888963407ull;
                x[i] = (float) ((double) (seed >> 11) / 9007199254740992.0 * 4.0 - 2.0);
        }
}

static AugurNN *
make_nn (AugurArch arch)
{
        g_autoptr (GError) error = NULL;
        g_autofree float *tau = g_new (float, opt_outputs);
        AugurNNConfig cfg;
        AugurNN *nn;
        guint k;

        for (k = 0; k < opt_outputs; k++)
                tau[k] = k % 2 ? 0.95f : -1.0f;
        augur_nn_config_init (&cfg, opt_inputs, opt_hidden, opt_outputs, arch);
        cfg.tau = tau;
        cfg.dropout = 0.1f;
        cfg.threads = opt_threads;
        cfg.layers = opt_layers;
        cfg.heads = opt_heads;
        cfg.max_len = opt_window;
        nn = augur_nn_new (&cfg, 1, &error);
        if (!nn)
                g_error ("%s", error->message);
        return nn;
}

/* Best of 20 blocks of 10000 steps each: the minimum filters out the
 * time slices other processes take on a shared machine. */
static void
bench_step (AugurArch arch)
{
        const guint blocks = 20, n = 10000, T = 256;
        g_autoptr (AugurNN) nn = make_nn (arch);
        g_autoptr (AugurNNQ) q = augur_nnq_from_float (nn);
        g_autoptr (AugurNNState) fs = augur_nn_state_new (nn);
        g_autoptr (AugurNNQState) qs = augur_nnq_state_new (q);
        g_autofree float *x = g_new (float, (gsize) T * opt_inputs);
        g_autofree float *out = g_new (float, opt_outputs);
        double best_q = G_MAXDOUBLE, best_f = G_MAXDOUBLE, best_h = G_MAXDOUBLE;
        guint blk, i;

        fill (x, (gsize) T * opt_inputs, 3);
        for (blk = 0; blk < blocks; blk++) {
                gint64 t0, t1, t2, t3;

                t0 = g_get_monotonic_time ();
                for (i = 0; i < n; i++)
                        augur_nnq_step (q, qs, x + (gsize) (i % T) * opt_inputs);
                t1 = g_get_monotonic_time ();
                for (i = 0; i < n; i++)
                        augur_nn_step (nn, fs, x + (gsize) (i % T) * opt_inputs);
                t2 = g_get_monotonic_time ();
                for (i = 0; i < n; i++)
                        augur_nnq_output (q, qs, out);
                t3 = g_get_monotonic_time ();
                best_q = MIN (best_q, (t1 - t0) * 1000.0 / n);
                best_f = MIN (best_f, (t2 - t1) * 1000.0 / n);
                best_h = MIN (best_h, (t3 - t2) * 1000.0 / n);
        }
        g_print ("%-4s I=%u H=%u O=%u: int step %6.0f ns   float step %6.0f ns   int head %4.0f ns  (best of %u x %u)\n",
                 augur_arch_name (arch), opt_inputs, opt_hidden, opt_outputs,
                 best_q, best_f, best_h, blocks, n);
}

/* One int window forecast per VM per tick (augur_nnq_forecast_window, as
 * the predictor and eval run it), and the float window for reference.
 * Best of 20 blocks. */
static void
bench_window (AugurArch arch)
{
        const guint blocks = 20, pool = 64;
        const guint n = arch == AUGUR_ARCH_TRANSFORMER ? 500 : 5000;
        g_autoptr (AugurNN) nn = make_nn (arch);
        g_autoptr (AugurNNQ) q = augur_nnq_from_float (nn);
        g_autoptr (AugurNNQState) qs = augur_nnq_state_new (q);
        g_autoptr (AugurNNState) fs = augur_nn_state_new (nn);
        g_autofree float *x = g_new (float, (gsize) pool * opt_window * opt_inputs);
        g_autofree float *out = g_new (float, opt_outputs);
        double best_q = G_MAXDOUBLE, best_f = G_MAXDOUBLE;
        char attn[48] = "";
        guint blk, i, t;

        if (arch == AUGUR_ARCH_TRANSFORMER)
                g_snprintf (attn, sizeof attn, " L=%u heads=%u", opt_layers, opt_heads);
        fill (x, (gsize) pool * opt_window * opt_inputs, 4);
        for (blk = 0; blk < blocks; blk++) {
                gint64 t0, t1, t2;

                t0 = g_get_monotonic_time ();
                for (i = 0; i < n; i++)
                        augur_nnq_forecast_window (q, qs, x + (gsize) (i % pool) * opt_window * opt_inputs,
                                                   opt_window, out);
                t1 = g_get_monotonic_time ();
                for (i = 0; i < n / 5; i++) {
                        const float *xw = x + (gsize) (i % pool) * opt_window * opt_inputs;

                        augur_nn_state_reset (fs);
                        for (t = 0; t < opt_window; t++)
                                augur_nn_step (nn, fs, xw + (gsize) t * opt_inputs);
                        augur_nn_state_output (nn, fs, out);
                }
                t2 = g_get_monotonic_time ();
                best_q = MIN (best_q, (t1 - t0) * 1000.0 / n);
                best_f = MIN (best_f, (t2 - t1) * 1000.0 / (n / 5));
        }
        g_print ("%-11s I=%u H=%u T=%u O=%u%s: int window forecast %8.0f ns   float %8.0f ns  (best of %u x %u)\n",
                 augur_arch_name (arch), opt_inputs, opt_hidden, opt_window, opt_outputs,
                 attn,
                 best_q, best_f, blocks, n);
}

static void
bench_train (AugurArch arch)
{
        const guint pool = MIN (16384u, opt_windows);
        const gsize xn = (gsize) pool * opt_window * opt_inputs;
        g_autoptr (AugurNN) nn = make_nn (arch);
        g_autofree float *x = g_new (float, xn);
        g_autofree float *y = g_new (float, (gsize) pool * opt_outputs);
        guint done = 0, b0 = 0;
        gint64 t0, t1;
        float loss = 0;

        fill (x, xn, 5);
        fill (y, (gsize) pool * opt_outputs, 6);
        t0 = g_get_monotonic_time ();
        while (done < opt_windows) {
                guint B = MIN (opt_batch, opt_windows - done);

                if (b0 + B > pool)
                        b0 = 0;
                loss = augur_nn_train_batch (nn, x + (gsize) b0 * opt_window * opt_inputs,
                                             y + (gsize) b0 * opt_outputs, NULL, B, opt_window);
                b0 += B;
                done += B;
        }
        t1 = g_get_monotonic_time ();
        g_print ("%-4s epoch of %u windows (I=%u H=%u T=%u O=%u B=%u, %u threads): %.2f s  (last loss %.3f)\n",
                 augur_arch_name (arch), opt_windows, opt_inputs, opt_hidden, opt_window,
                 opt_outputs, opt_batch, nn->threads, (t1 - t0) / 1e6, loss);
}

int
main (int argc, char **argv)
{
        g_autoptr (GOptionContext) ctx = g_option_context_new ("[step|train|all]");
        g_autoptr (GError) error = NULL;
        GOptionEntry entries[] = {
                { "windows", 0, 0, G_OPTION_ARG_INT, &opt_windows, "windows per epoch", "N" },
                { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "minibatch size", "B" },
                { "hidden", 0, 0, G_OPTION_ARG_INT, &opt_hidden, "hidden size", "H" },
                { "inputs", 0, 0, G_OPTION_ARG_INT, &opt_inputs, "inputs per step", "I" },
                { "window", 0, 0, G_OPTION_ARG_INT, &opt_window, "window length", "T" },
                { "outputs", 0, 0, G_OPTION_ARG_INT, &opt_outputs, "outputs", "O" },
                { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads, "training threads (0 auto)", "N" },
                { "layers", 0, 0, G_OPTION_ARG_INT, &opt_layers, "transformer layers", "L" },
                { "heads", 0, 0, G_OPTION_ARG_INT, &opt_heads, "transformer heads", "N" },
                { NULL },
        };
        const char *mode;

        g_option_context_add_main_entries (ctx, entries, NULL);
        if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
                g_printerr ("bench-nn: %s\n", error->message);
                return 2;
        }
        mode = argc > 1 ? argv[1] : "all";
        augur_nn_blas_threads_init ();
        if (g_str_equal (mode, "step") || g_str_equal (mode, "all")) {
                bench_step (AUGUR_ARCH_LSTM);
                bench_step (AUGUR_ARCH_GRU);
        }
        if (g_str_equal (mode, "window") || g_str_equal (mode, "all")) {
                bench_window (AUGUR_ARCH_LSTM);
                bench_window (AUGUR_ARCH_GRU);
                bench_window (AUGUR_ARCH_TRANSFORMER);
        }
        if (g_str_equal (mode, "train") || g_str_equal (mode, "all")) {
                bench_train (AUGUR_ARCH_LSTM);
                bench_train (AUGUR_ARCH_GRU);
                bench_train (AUGUR_ARCH_TRANSFORMER);
        }
        return 0;
}
