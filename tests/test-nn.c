/* test-nn.c — tests of the float LSTM/GRU (model/nn.c) and of its
 * fixed-point copy (model/nn-q.c).
 *
 *   /nn/grad/{lstm,gru}/{mse,mixed,reg}  finite-difference gradient check of
 *        every parameter of every tensor.  Central differences on the float
 *        loss, eps = 1e-3, accumulated in double.  An element passes when
 *        |analytic - numeric| <= 2e-2 * max(|a|, |n|) + 2e-4: the absolute
 *        floor covers float rounding of the loss (~1e-7 * L / 2 eps ~ 5e-5),
 *        the relative part the O(eps^2) truncation.  Targets of pinball
 *        heads are put 0.5 away from the outputs so no perturbation crosses
 *        the kink.  The worst relative error over elements with
 *        max(|a|, |n|) > 1e-3 and > 1e-2 is printed with g_test_message.
 *   /nn/grad/transformer/{mse,mixed,reg}  the same for the attention
 *        encoder, every body tensor by name (augur_nn_tensor_info).  An
 *        element whose central difference straddles a ReLU kink (the two
 *        one-sided differences disagree) must match the one-sided
 *        difference on its own side instead; at most 5 % may.
 *   /nn/train/{lstm,gru,transformer}  loss on a noisy sine falls by >= 60 %.
 *   /nn/determinism             two runs with one seed give identical bits
 *                               (dropout on, two threads).
 *   /nn/step/{lstm,gru,transformer}  augur_nn_step x T == augur_nn_predict.
 *   /nn/int/{lstm,gru,transformer}  int-vs-float bound (see test_int) on a
 *                               trained model at the real shapes (the
 *                               transformer: every prefix of the window).
 *   /nn/int/odd-shapes          the same bound for shapes that are not
 *                               multiples of the SIMD widths.
 *   /nn/int/window[/transformer]  augur_nnq_forecast_window == reset + steps.
 *
 * Benchmarks live in scripts/bench-nn.c.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "nn.h"
#include "nn-q.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */

static guint64 test_rng_state = 1;

/* ------------------------------------------------------------------------
 * Gradient check
 * ------------------------------------------------------------------------ */

typedef struct {
        const char *name;
        AugurArch arch;
        gboolean pinball;    /* mix pinball heads in                          */
        gboolean reg;        /* l1 and l2 on                                  */
} GradCase;

static double
total_loss (AugurNN *nn, const float *x, const float *y, const guint8 *mask,
            guint B, guint T)
{
        return (double) augur_nn_forward (nn, x, y, mask, B, T, FALSE) +
               augur_nn_reg_loss (nn);
}

static void
test_grad (gconstpointer data)
{
        const GradCase *gc = data;
        const guint I = 3, H = 5, O = 4, B = 3, T = 4;
        const float tau_mixed[4] = { -1.0f, 0.9f, -1.0f, 0.3f };
        const double eps = 1e-3;
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree float *x = g_new (float, B * T * I);
        g_autofree float *y = g_new (float, B * O);
        g_autofree float *grads = NULL;
        guint8 mask[3 * 4];
        AugurNNConfig cfg;
        double worst = 0.0, worst_big = 0.0;
        gsize i, nbad = 0, worst_i = 0, checked = 0, nkink = 0;
        guint k;

        augur_nn_config_init (&cfg, I, H, O, gc->arch);
        if (gc->arch == AUGUR_ARCH_TRANSFORMER) {
                /* every piece at least twice: 2 layers, 2 heads (dh = 2 or 3),
                 * T < max_len so the position alignment is exercised */
                cfg.hidden = gc->reg ? 6 : 4;
                cfg.layers = 2;
                cfg.heads = 2;
                cfg.max_len = T + 2;
        }
        cfg.tau = gc->pinball ? tau_mixed : NULL;
        cfg.l1 = gc->reg ? 1e-2f : 0.0f;
        cfg.l2 = gc->reg ? 5e-2f : 0.0f;
        nn = augur_nn_new (&cfg, 42, &error);
        g_assert_no_error (error);

        if (gc->arch == AUGUR_ARCH_TRANSFORMER && gc->reg) {
                /* its zero biases and small position rows sit on the L1
                 * kink; move every weight at least 10 eps away from 0 */
                for (i = 0; i < nn->n_params; i++) {
                        float w = nn->params_memory[i];

                        if (fabsf (w) < 1e-2f)
                                nn->params_memory[i] = w < 0.0f ? -1e-2f : 1e-2f;
                }
        }
        /* Inputs independent of the order the tests run in.  The seed
         * matters for the transformer only: its FFN ReLU is not
         * differentiable at 0, and on 5 of input seeds 1..16 some
         * pre-activation sat within the perturbation of the kink so the
         * differences disagreed (with the ReLU replaced by the identity
         * all 16 seeds passed, so the backward pass itself is exact).
         * Seed 2 has no element at a kink; the one-sided fallback below
         * stays for changes that move one there. */
        test_rng_state = 2;
        for (i = 0; i < B * T * I; i++)
                x[i] = (float) augur_test_nrand (&test_rng_state);
        for (i = 0; i < B * O; i++)
                mask[i] = (i % 5) != 3;      /* a few missing targets */
        /* targets 0.5 away from the current outputs (away from the kink) */
        augur_nn_forward (nn, x, NULL, NULL, B, T, FALSE);
        for (i = 0; i < B * O; i++)
                y[i] = augur_nn_output (nn)[i] + ((i % 2) ? 0.5f : -0.5f);

        augur_nn_forward (nn, x, y, mask, B, T, FALSE);
        augur_nn_backward (nn);
        grads = g_new (float, nn->n_params);
        memcpy (grads, nn->grads_memory, nn->n_params * sizeof (float));

        for (k = 0; k < augur_nn_n_tensors (nn); k++) {
                char name[32];
                gsize e, off, len;

                augur_nn_tensor_info (nn, k, name, sizeof name, &off, &len);
                checked += len;
                for (e = 0, i = off; e < len; e++, i++) {
                        float save = nn->params_memory[i];
                        double lp, lm, num, ana = grads[i], diff, mag, rel;

                        nn->params_memory[i] = (float) (save + eps);
                        lp = total_loss (nn, x, y, mask, B, T);
                        nn->params_memory[i] = (float) (save - eps);
                        lm = total_loss (nn, x, y, mask, B, T);
                        nn->params_memory[i] = save;
                        /* divide by the step actually taken in float */
                        num = (lp - lm) / ((double) (float) (save + eps) -
                                           (double) (float) (save - eps));
                        diff = fabs (ana - num);
                        mag = MAX (fabs (ana), fabs (num));
                        rel = mag > 1e-3 ? diff / mag : 0.0;
                        if (rel > worst) {
                                worst = rel;
                                worst_i = i;
                        }
                        if (mag > 1e-2)
                                worst_big = MAX (worst_big, rel);
                        if (diff > 2e-2 * mag + 2e-4 && gc->arch == AUGUR_ARCH_TRANSFORMER) {
                                /* The FFN's ReLU: a pre-activation within eps
                                 * of 0 makes the central difference straddle
                                 * the kink.  Then the two one-sided
                                 * differences disagree and the analytic
                                 * gradient must match the one that stays on
                                 * its side.  Counted, and bounded below. */
                                double l0 = total_loss (nn, x, y, mask, B, T);
                                double fwd = (lp - l0) / ((double) (float) (save + eps) - save);
                                double bwd = (l0 - lm) / (save - (double) (float) (save - eps));
                                double tol = 5e-2 * mag + 5e-4;

                                if (fabs (fwd - bwd) > tol &&
                                    (fabs (ana - fwd) <= tol || fabs (ana - bwd) <= tol)) {
                                        g_test_message ("%s: %s[%" G_GSIZE_FORMAT "] at a ReLU kink: analytic %.6g, "
                                                        "one-sided %.6g / %.6g", gc->name, name, e, ana, fwd, bwd);
                                        nkink++;
                                        continue;
                                }
                        }
                        if (diff > 2e-2 * mag + 2e-4) {
                                g_test_message ("%s: %s[%" G_GSIZE_FORMAT "] analytic %.6g numeric %.6g",
                                                gc->name, name, e, ana, num);
                                nbad++;
                        }
                }
        }
        g_test_message ("%s: %" G_GSIZE_FORMAT " parameters, max rel error %.3g (param %" G_GSIZE_FORMAT
                        "), %.3g over gradients > 1e-2",
                        gc->name, nn->n_params, worst, worst_i, worst_big);
        g_assert_cmpuint (checked, ==, nn->n_params);   /* every tensor, every element */
        g_assert_cmpuint (nbad, ==, 0);
        g_assert_cmpuint (nkink, <=, nn->n_params / 20);
}

/* ------------------------------------------------------------------------
 * Training on a learnable sequence
 * ------------------------------------------------------------------------ */

/* Windows over a noisy sine with a daily (24-step) period; inputs are the
 * value and a phase pair; targets the next 3 values, twice: a mean head
 * and a 0.9 quantile head. */
#define SINE_I 3
#define SINE_O 6
#define SINE_T 16

static void
make_sine (guint n, float *x, float *y, guint64 seed)
{
        const float tau[SINE_O] = { -1, -1, -1, 0.9f, 0.9f, 0.9f };
        guint b, t, k;

        (void) tau;
        test_rng_state = seed;
        for (b = 0; b < n; b++) {
                guint start = (guint) (augur_test_urand (&test_rng_state) * 1000.0);

                for (t = 0; t < SINE_T + 3; t++) {
                        double ph = 2.0 * G_PI * (start + t) / 24.0;
                        float v = (float) (sin (ph) + 0.1 * augur_test_nrand (&test_rng_state));

                        if (t < SINE_T) {
                                float *xr = x + ((gsize) b * SINE_T + t) * SINE_I;

                                xr[0] = v;
                                xr[1] = (float) sin (ph);
                                xr[2] = (float) cos (ph);
                        } else {
                                k = t - SINE_T;
                                y[b * SINE_O + k] = v;
                                y[b * SINE_O + 3 + k] = v;
                        }
                }
        }
}

static AugurNN *
train_sine (AugurArch arch, guint64 seed, float dropout, guint threads,
            guint steps, float *ret_first, float *ret_last)
{
        const float tau[SINE_O] = { -1, -1, -1, 0.9f, 0.9f, 0.9f };
        const guint N = 2048, B = 128;
        g_autofree float *x = g_new (float, (gsize) N * SINE_T * SINE_I);
        g_autofree float *y = g_new (float, (gsize) N * SINE_O);
        g_autoptr (GError) error = NULL;
        AugurNNConfig cfg;
        AugurNN *nn;
        guint s;
        float first = 0, last = 0;

        make_sine (N, x, y, 7);
        augur_nn_config_init (&cfg, SINE_I, 16, SINE_O, arch);
        cfg.tau = tau;
        cfg.dropout = dropout;
        cfg.lr = 1e-2f;
        cfg.threads = threads;
        nn = augur_nn_new (&cfg, seed, &error);
        g_assert_no_error (error);
        first = augur_nn_loss (nn, x, y, NULL, N, SINE_T, NULL);
        for (s = 0; s < steps; s++) {
                guint b0 = (s * B) % N;

                augur_nn_train_batch (nn, x + (gsize) b0 * SINE_T * SINE_I,
                                      y + (gsize) b0 * SINE_O, NULL, B, SINE_T);
        }
        last = augur_nn_loss (nn, x, y, NULL, N, SINE_T, NULL);
        if (ret_first)
                *ret_first = first;
        if (ret_last)
                *ret_last = last;
        return nn;
}

static void
test_train (gconstpointer data)
{
        AugurArch arch = GPOINTER_TO_INT (data);
        g_autoptr (AugurNN) nn = NULL;
        float first, last;

        nn = train_sine (arch, 3, 0.1f, 0, 300, &first, &last);
        g_test_message ("%s: loss %.4f -> %.4f", augur_arch_name (arch), first, last);
        g_assert_true (isfinite (last));
        g_assert_cmpfloat (last, <, 0.4f * first);
}

static void
test_determinism (void)
{
        g_autoptr (AugurNN) a = NULL;
        g_autoptr (AugurNN) b = NULL;
        g_autoptr (AugurNN) c = NULL;

        a = train_sine (AUGUR_ARCH_LSTM, 11, 0.2f, 2, 40, NULL, NULL);
        b = train_sine (AUGUR_ARCH_LSTM, 11, 0.2f, 2, 40, NULL, NULL);
        c = train_sine (AUGUR_ARCH_LSTM, 12, 0.2f, 2, 40, NULL, NULL);
        g_assert_cmpuint (a->n_params, ==, b->n_params);
        g_assert_cmpmem (a->params_memory, a->n_params * sizeof (float),
                         b->params_memory, b->n_params * sizeof (float));
        g_assert_true (memcmp (a->params_memory, c->params_memory,
                               a->n_params * sizeof (float)) != 0);
}

/* ------------------------------------------------------------------------
 * Stateful step == batch forward
 * ------------------------------------------------------------------------ */

static void
test_step (gconstpointer data)
{
        AugurArch arch = GPOINTER_TO_INT (data);
        const guint I = 7, H = 11, O = 3, B = 5, T = 9;
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNState) st = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree float *x = g_new (float, B * T * I);
        float out[5 * 3], o1[3];
        AugurNNConfig cfg;
        guint b, t, k;
        gsize i;

        augur_nn_config_init (&cfg, I, H, O, arch);
        cfg.heads = 1;                       /* transformer: 11 is prime */
        nn = augur_nn_new (&cfg, 5, &error);
        g_assert_no_error (error);
        for (i = 0; i < B * T * I; i++)
                x[i] = (float) augur_test_nrand (&test_rng_state);
        augur_nn_predict (nn, x, B, T, out);
        st = augur_nn_state_new (nn);
        for (b = 0; b < B; b++) {
                augur_nn_state_reset (st);
                for (t = 0; t < T; t++)
                        augur_nn_step (nn, st, x + ((gsize) b * T + t) * I);
                augur_nn_state_output (nn, st, o1);
                for (k = 0; k < O; k++)
                        g_assert_cmpfloat_with_epsilon (o1[k], out[b * O + k], 1e-5);
        }
}

/* ------------------------------------------------------------------------
 * Fixed point against float
 * ------------------------------------------------------------------------ */

/* Realistic inputs: I z-scored features, AR(1) with a daily cycle, some
 * heavy-tailed spikes (up to ~12 sigma), like normalised CPU/disk rates. */
static void
make_features (float *x, guint B, guint T, guint I, guint64 seed)
{
        guint b, t, i;

        test_rng_state = seed;
        for (b = 0; b < B; b++) {
                for (i = 0; i < I; i++) {
                        double v = augur_test_nrand (&test_rng_state), phase = augur_test_urand (&test_rng_state) * 24.0;

                        for (t = 0; t < T; t++) {
                                double spike = augur_test_urand (&test_rng_state) < 0.01 ? 6.0 * fabs (augur_test_nrand (&test_rng_state)) : 0.0;

                                v = 0.9 * v + 0.3 * augur_test_nrand (&test_rng_state);
                                x[((gsize) b * T + t) * I + i] =
                                        (float) (v + 0.8 * sin (2.0 * G_PI * (t + phase) / 24.0) + spike);
                        }
                }
        }
}

/* A model with trained (not just initialised) weights at the real shapes:
 * I = 30, H = 32, O = 12 (2 targets x 3 horizons x 2 heads), T = 24. */
static AugurNN *
make_trained (AugurArch arch, guint I, guint H, guint O, guint T)
{
        const guint N = 512, B = 64;
        g_autofree float *x = g_new (float, (gsize) N * T * I);
        g_autofree float *y = g_new (float, (gsize) N * O);
        g_autofree float *tau = g_new (float, O);
        g_autoptr (GError) error = NULL;
        AugurNNConfig cfg;
        AugurNN *nn;
        guint b, k, s;

        make_features (x, N, T, I, 99);
        for (k = 0; k < O; k++)
                tau[k] = k < O / 2 ? -1.0f : 0.95f;
        /* targets: a smooth function of the last inputs */
        for (b = 0; b < N; b++) {
                const float *last = x + ((gsize) b * T + T - 1) * I;

                for (k = 0; k < O; k++)
                        y[b * O + k] = 0.5f * last[k % I] - 0.3f * last[(k + 1) % I] +
                                       0.2f * last[(k + 7) % I] * last[(k + 3) % I];
        }
        augur_nn_config_init (&cfg, I, H, O, arch);
        cfg.tau = tau;
        cfg.lr = 3e-3f;
        nn = augur_nn_new (&cfg, 21, &error);
        g_assert_no_error (error);
        for (s = 0; s < 200; s++) {
                guint b0 = (s * B) % N;

                augur_nn_train_batch (nn, x + (gsize) b0 * T * I, y + (gsize) b0 * O,
                                      NULL, B, T);
        }
        return nn;
}

/* Documented bound (also in the report): over every step of 256 windows,
 *   max |y_int - y_float| <= 0.02  and  RMSE(y_int - y_float) <= 0.005 * std(y_float).
 * The measured values are printed; they are typically an order of
 * magnitude below the bound. */
#define INT_MAX_ABS_BOUND 0.02
#define INT_REL_RMSE_BOUND 0.005

static void
test_int (gconstpointer data)
{
        AugurArch arch = GPOINTER_TO_INT (data);
        const guint I = 30, H = 32, O = 12, T = 24, B = 256;
        g_autoptr (AugurNN) nn = make_trained (arch, I, H, O, T);
        g_autoptr (AugurNNQ) q = augur_nnq_from_float (nn);
        g_autoptr (GError) error = NULL;
        g_autofree float *x = g_new (float, (gsize) B * T * I);
        AugurNNQDiff d;

        g_assert_true (augur_nnq_validate (q, &error));
        g_assert_no_error (error);
        make_features (x, B, T, I, 1234);
        augur_nnq_compare (nn, q, x, B, T, &d);
        g_test_message ("%s int vs float: n %" G_GSIZE_FORMAT " max|diff| %.3g rmse %.3g "
                        "out std %.3g rel rmse %.3g; last step max %.3g rel rmse %.3g",
                        augur_arch_name (arch), d.n, d.max_abs_diff, d.rmse_diff,
                        d.out_std, d.rel_rmse, d.last_max_abs_diff, d.last_rel_rmse);
        g_assert_cmpfloat (d.max_abs_diff, <=, INT_MAX_ABS_BOUND);
        g_assert_cmpfloat (d.rel_rmse, <=, INT_REL_RMSE_BOUND);
}

/* The same check must hold for an untrained model with large inputs
 * (saturating x at +-32) and for a GRU/LSTM with a hidden size that is not
 * a multiple of the SIMD width. */
static void
test_int_odd (void)
{
        const guint I = 5, H = 13, O = 3, T = 30, B = 64;
        g_autofree float *x = g_new (float, (gsize) B * T * I);
        guint a;
        gsize i;

        make_features (x, B, T, I, 5);
        for (i = 0; i < (gsize) B * T * I; i += 97)
                x[i] *= 10.0f;       /* some inputs beyond the Q10 range */
        for (a = 0; a < AUGUR_ARCH_N; a++) {
                g_autoptr (AugurNN) nn = NULL;
                g_autoptr (AugurNNQ) q = NULL;
                g_autoptr (GError) error = NULL;
                AugurNNConfig cfg;
                AugurNNQDiff d;

                augur_nn_config_init (&cfg, I, H, O, (AugurArch) a);
                cfg.heads = 1;               /* transformer: 13 is prime */
                cfg.max_len = T;
                nn = augur_nn_new (&cfg, 77, &error);
                g_assert_no_error (error);
                q = augur_nnq_from_float (nn);
                /* compare on the unsaturated part only: clamp x like the kernel */
                for (i = 0; i < (gsize) B * T * I; i++)
                        x[i] = CLAMP (x[i], -31.9f, 31.9f);
                augur_nnq_compare (nn, q, x, B, T, &d);
                g_test_message ("%s odd shapes: max|diff| %.3g rel rmse %.3g",
                                augur_arch_name ((AugurArch) a), d.max_abs_diff, d.rel_rmse);
                g_assert_cmpfloat (d.max_abs_diff, <=, INT_MAX_ABS_BOUND);
                g_assert_cmpfloat (d.rel_rmse, <=, INT_REL_RMSE_BOUND);
        }
}

/* Public helper for the lead: reset + T steps in int equals the window
 * forecast of augur_nnq_compare's last step. */
static void
test_int_window (gconstpointer data)
{
        AugurArch arch = GPOINTER_TO_INT (data);
        const guint I = 6, H = 8, O = 2, T = 10;
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNQ) q = NULL;
        g_autoptr (AugurNNQState) st = NULL;
        g_autoptr (GError) error = NULL;
        float x[10 * 6], a[2], b[2];
        AugurNNConfig cfg;
        guint t;

        make_features (x, 1, T, I, 8);
        augur_nn_config_init (&cfg, I, H, O, arch);
        nn = augur_nn_new (&cfg, 1, &error);
        g_assert_no_error (error);
        q = augur_nnq_from_float (nn);
        st = augur_nnq_state_new (q);
        for (t = 0; t < 3; t++)
                augur_nnq_step (q, st, x);          /* dirty the state */
        augur_nnq_forecast_window (q, st, x, T, a);
        augur_nnq_reset_state (st);
        for (t = 0; t < T; t++)
                augur_nnq_step (q, st, x + t * I);
        augur_nnq_output (q, st, b);
        g_assert_cmpmem (a, sizeof a, b, sizeof b);
}

/* ------------------------------------------------------------------------ */

static const GradCase grad_cases[] = {
        { "lstm/mse",   AUGUR_ARCH_LSTM, FALSE, FALSE },
        { "lstm/mixed", AUGUR_ARCH_LSTM, TRUE,  FALSE },
        { "lstm/reg",   AUGUR_ARCH_LSTM, TRUE,  TRUE  },
        { "gru/mse",    AUGUR_ARCH_GRU,  FALSE, FALSE },
        { "gru/mixed",  AUGUR_ARCH_GRU,  TRUE,  FALSE },
        { "gru/reg",    AUGUR_ARCH_GRU,  TRUE,  TRUE  },
        { "transformer/mse",   AUGUR_ARCH_TRANSFORMER, FALSE, FALSE },
        { "transformer/mixed", AUGUR_ARCH_TRANSFORMER, TRUE,  FALSE },
        { "transformer/reg",   AUGUR_ARCH_TRANSFORMER, TRUE,  TRUE  },
};

int
main (int argc, char **argv)
{
        guint k;

        g_test_init (&argc, &argv, NULL);
        augur_nn_blas_threads_init ();

        for (k = 0; k < G_N_ELEMENTS (grad_cases); k++) {
                g_autofree char *path = g_strdup_printf ("/nn/grad/%s", grad_cases[k].name);

                g_test_add_data_func (path, &grad_cases[k], test_grad);
        }
        g_test_add_data_func ("/nn/train/lstm", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_train);
        g_test_add_data_func ("/nn/train/gru", GINT_TO_POINTER (AUGUR_ARCH_GRU), test_train);
        g_test_add_data_func ("/nn/train/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER), test_train);
        g_test_add_func ("/nn/determinism", test_determinism);
        g_test_add_data_func ("/nn/step/lstm", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_step);
        g_test_add_data_func ("/nn/step/gru", GINT_TO_POINTER (AUGUR_ARCH_GRU), test_step);
        g_test_add_data_func ("/nn/step/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER), test_step);
        g_test_add_data_func ("/nn/int/lstm", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_int);
        g_test_add_data_func ("/nn/int/gru", GINT_TO_POINTER (AUGUR_ARCH_GRU), test_int);
        g_test_add_data_func ("/nn/int/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER), test_int);
        g_test_add_func ("/nn/int/odd-shapes", test_int_odd);
        g_test_add_data_func ("/nn/int/window", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_int_window);
        g_test_add_data_func ("/nn/int/window/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER),
                              test_int_window);
        return g_test_run ();
}
