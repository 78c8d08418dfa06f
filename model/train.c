/* train.c — training the forecaster's NN on a prepared dataset.  API:
 * train.h; what the outputs mean (heads, horizons, the u transform):
 * forecast.h.
 *
 * What it is: the target scales, the training and validation windows, the
 * epoch loop with early stopping, and the hand-over to eval.c for the
 * baselines and the global conformal margins.  What it is not: the NN
 * arithmetic (nn.c, owned by the NN module) or the scoring (eval.c).
 *
 * TARGET SCALES
 * =============
 * s_t = mean |u(y[k+1]) - u(held[k])| over the training split, per target.
 * The global sd was the first choice and starved cpu: on Bitbrains its
 * typical change (0.5 pt) is 3 % of its sd (17 pt) while memory's is 12 %,
 * so the summed loss hardly looked at cpu.  Scaling by the typical change
 * gives every target a comparable share of the loss.
 *
 * POINTS AND SPLITS
 * =================
 * A point is (VM, origin k, horizon h) with a usable window (dataset.h
 * window rule) and a present target; it belongs to split S when k and
 * k + h are both in S.  Train = origins and targets in train; early
 * stopping on validation loss; the test split is touched only by
 * augur_forecast_eval() (eval.c).  The int model is the NN owner's
 * fixed-point copy of the float weights at the best epoch.  Training ends
 * with the baselines, the margins and the VALIDATION GATE (forecast.h),
 * all chosen on validation.
 *
 * TRAINING
 * ========
 * Per epoch a random sample of windows_per_epoch training windows
 * (shuffled with a splitmix64 stream seeded from cfg->seed, so runs
 * repeat; the NN seeds its own generator from the same seed), Adam via
 * augur_nn_train_batch(); validation loss on a fixed sample; keep the best
 * weights; stop after `patience` epochs without improvement or at the time
 * budget.  Cost per epoch ~ windows * 3*T*G*H*(F+H) MACs (nn.h).  With
 * cfg->nets > 1 (forecast.h ENSEMBLE) the loop runs once per network, one
 * after the other, network i from seed + i - 1 (its window order, its
 * validation sample and its weights), each with budget / nets.
 */
#include "train.h"
#include "eval.h"
#include "calib.h"
#include "util.h"

#include <math.h>
#include <string.h>

void
augur_train_config_init (AugurTrainConfig *cfg)
{
        memset (cfg, 0, sizeof *cfg);
        /* Tuned on the validation splits of Bitbrains Rnd and Azure
         * (BENCHMARKS-model.md): GRU matched LSTM at 3/4 of the cost, a
         * 1 h window matched 2 h at half the cost, hidden 48 beat 32.
         * Since stop 25 the network is a one-layer causal attention
         * encoder of width 48 with 2 heads: with the longer schedule below
         * it beat the GRU on the validation split of Bitbrains (mean MAE
         * 1..12: cpu 0.775 vs 0.780, memory 1.547 vs 1.573) and of the v2
         * scenario families (78 % vs 71 % of announced spikes ahead, at
         * 0.23x vs 0.31x reactive's shortfall), and lost on Azure's (1.552
         * vs 1.508): BENCHMARKS-model.md "With the longer default training",
         * BENCHMARKS-replay.md section 10. */
        cfg->arch = AUGUR_ARCH_TRANSFORMER;
        cfg->hidden = 48;
        cfg->layers = 1;
        cfg->heads = 2;
        cfg->H = 12;
        cfg->T = 12;
        cfg->step_s = AUGUR_FEAT_DEFAULT_STEP_S;
        /* Longer training, chosen on validation (BENCHMARKS-model.md "A day
         * of context, and longer training"): up to 200 epochs, stopped after
         * 8 without a better validation loss or after 4 minutes, whichever
         * comes first (the forecaster issue's budget is 5 minutes on 2
         * cores; the Bitbrains table's run stopped at epoch 51, 61 s). */
        cfg->epochs = 200;
        cfg->patience = 8;
        cfg->batch = 128;
        cfg->windows_per_epoch = 32768;
        cfg->onset_weight = 1;
        cfg->val_windows = 16384;
        cfg->lr = 3e-3f;
        cfg->quantile = 0.95f;
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        /* The median head: the accuracy table's configuration (pinball
         * 0.5 tied last value on Bitbrains cpu where MSE lost to it). */
        cfg->point_loss = AUGUR_POINT_LOSS_MAE;
        cfg->seed = 1;
        /* Three networks averaged (forecast.h ENSEMBLE), chosen on the
         * Bitbrains validation split over one and two (BENCHMARKS-model.md
         * "Three networks averaged"). */
        cfg->nets = 3;
        cfg->split = AUGUR_SPLIT_BY_TIME;
        cfg->no_activity = FALSE;
        cfg->time_budget_s = 240;
}

/* ------------------------------------------------------------ targets */

/* Output unit of target t: the mean absolute one-step change of u on the
 * training split (TARGET SCALES in the design comment). */
static void
compute_target_scales (const AugurDataset *ds, float *ret)
{
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurSig sig = augur_target_sig ((AugurTarget) t);
                double sum = 0;
                guint64 n = 0;

                for (guint v = 0; v < ds->vms->len; v++) {
                        const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                        for (gsize k = 0; k + 1 < d->n; k++) {
                                float a, b;

                                if (d->split[k] != AUGUR_SPLIT_TRAIN || d->split[k + 1] != AUGUR_SPLIT_TRAIN
                                    || !augur_vm_data_window_ok (d, k, 1, 1))
                                        continue;
                                a = augur_target_u ((AugurTarget) t, d->held[k * AUGUR_SIG_N + sig]);
                                b = augur_target_u ((AugurTarget) t, d->y[(gsize) t * d->n + k + 1]);
                                if (isnan (a) || isnan (b))
                                        continue;
                                sum += fabs ((double) b - a);
                                n++;
                        }
                }
                ret[t] = n ? (float) MAX (sum / n, 1e-3) : 1.0f;
        }
}

/* ------------------------------------------------------------ windows */

/* A training / validation point list: (vm index, origin k). */
typedef struct {
        guint32 vm;
        guint32 k;
} WinRef;

/* Does origin k of d have at least one usable target in split sp? */
static gboolean
window_in_split (const AugurVmData *d, gsize k, guint T, guint H, AugurSplit sp)
{
        if (d->split[k] != sp || !augur_vm_data_window_ok (d, k, T, 1))
                return FALSE;
        return k + 1 < d->n && d->split[k + 1] == sp;
}

/* Does memory rise by AUGUR_ONSET_RISE_PCT points or more over the held
 * value at origin k within the next 3 steps (a spike's onset ahead)? */
static gboolean
onset_ahead (const AugurVmData *d, gsize k)
{
        float base = d->held[k * AUGUR_SIG_N + AUGUR_SIG_MEM];

        for (gsize h = 1; h <= 3 && k + h < d->n && !isnan (base); h++) {
                float v = d->y[(gsize) AUGUR_TARGET_MEM_PCT * d->n + k + h];

                if (!isnan (v) && v - base >= AUGUR_ONSET_RISE_PCT)
                        return TRUE;
        }
        return FALSE;
}

/* The windows of split sp; with weight > 1, a window with an onset ahead
 * is listed weight times (training: the sample sees onsets more often). */
static GArray *
collect_windows (const AugurDataset *ds, guint T, guint H, AugurSplit sp, guint weight)
{
        GArray *w = g_array_new (FALSE, FALSE, sizeof (WinRef));

        for (guint v = 0; v < ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                for (gsize k = 0; k < d->n; k++) {
                        WinRef r = { v, (guint32) k };
                        guint rep = 1;

                        if (!window_in_split (d, k, T, H, sp))
                                continue;
                        if (weight > 1 && onset_ahead (d, k))
                                rep = weight;
                        for (guint i = 0; i < rep; i++)
                                g_array_append_val (w, r);
                }
        }
        return w;
}

/* Fill x (T, F), y (O), mask (O) of one window.  Targets outside split sp
 * or beyond a gap are masked. */
static void
fill_window (const AugurDataset *ds, const float *scales, const WinRef *r, guint T, guint H, AugurSplit sp,
             float *x, float *y, guint8 *mask)
{
        const AugurVmData *d = g_ptr_array_index (ds->vms, r->vm);
        gsize k = r->k;
        guint F = d->F;

        memcpy (x, d->feat + (k + 1 - T) * F, (gsize) T * F * sizeof *x);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurSig sig = augur_target_sig ((AugurTarget) t);
                float base = augur_target_u ((AugurTarget) t, d->held[k * AUGUR_SIG_N + sig]);
                float scale = scales[t];

                for (guint h = 1; h <= H; h++) {
                        float v = NAN;
                        gboolean ok = k + h < d->n && d->split[k + h] == sp
                                      && augur_vm_data_window_ok (d, k, T, h) && !isnan (base);

                        if (ok)
                                v = augur_target_u ((AugurTarget) t, d->y[(gsize) t * d->n + k + h]);
                        ok = ok && !isnan (v);
                        for (guint head = 0; head < AUGUR_FORECAST_HEADS; head++) {
                                guint o = augur_model_out_index (H, (AugurTarget) t, head, h);

                                y[o] = ok ? (v - base) / scale : 0.0f;
                                mask[o] = ok ? 1 : 0;
                        }
                }
        }
}

static void
shuffle_windows (GArray *w, guint64 *rng)
{
        WinRef *a = (WinRef *) w->data;

        for (guint i = w->len; i > 1; i--) {
                guint j = (guint) (augur_splitmix64 (rng) % i);
                WinRef t = a[i - 1];

                a[i - 1] = a[j];
                a[j] = t;
        }
}

/* -------------------------------------------------------------- epochs */

static float
eval_loss (AugurNN *nn, const AugurDataset *ds, const float *scales, const GArray *w, guint T, guint H,
           guint batch, float *x, float *y, guint8 *mask)
{
        guint F = ds->feat.groups ? augur_features_count (ds->feat.groups) : 0;
        guint O = nn->cfg.n_out;
        double sum = 0;
        gsize n_all = 0;

        for (guint i = 0; i < w->len; i += batch) {
                guint B = MIN (batch, w->len - i);
                gsize n = 0;
                float l;

                for (guint b = 0; b < B; b++)
                        fill_window (ds, scales, &g_array_index (w, WinRef, i + b), T, H, AUGUR_SPLIT_VAL,
                                     x + (gsize) b * T * F, y + (gsize) b * O, mask + (gsize) b * O);
                l = augur_nn_loss (nn, x, y, mask, B, T, &n);
                sum += (double) l * n;
                n_all += n;
        }
        return n_all ? (float) (sum / n_all) : NAN;
}

/* One network of the model (forecast.h ENSEMBLE), trained from seed on the
 * windows in their collected order (copied: each network shuffles its
 * own), stopped early on its own validation loss within budget_s.  Its
 * run is the one `train --seed seed --nets 1` makes, to the bit.  Returns
 * the best epoch's weights and the epochs run, or NULL with error. */
static AugurNN *
train_net (const AugurDataset *ds, const AugurTrainConfig *cfg, const AugurModel *m,
           const AugurNNConfig *ncfg, const GArray *tw0, const GArray *vw0, guint64 seed,
           guint net, guint nets, double budget_s, AugurTrainProgressFunc progress,
           gpointer user_data, guint *ret_epochs, guint *ret_best, GError **error)
{
        g_autoptr (GArray) tw = g_array_copy ((GArray *) tw0);
        g_autoptr (GArray) vw = g_array_copy ((GArray *) vw0);
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNN) best = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        guint F = m->F, O = ncfg->n_out, T = cfg->T, H = cfg->H, bad_epochs = 0;
        g_autofree float *x = g_new (float, (gsize) cfg->batch * T * F);
        g_autofree float *y = g_new (float, (gsize) cfg->batch * O);
        g_autofree guint8 *mask = g_new (guint8, (gsize) cfg->batch * O);
        float best_val = INFINITY;
        guint64 rng = seed ^ G_GUINT64_CONSTANT (0x5DEECE66D);

        /* A fixed validation sample (same for every epoch). */
        shuffle_windows (vw, &rng);
        if (cfg->val_windows && vw->len > cfg->val_windows)
                g_array_set_size (vw, cfg->val_windows);
        nn = augur_nn_new (ncfg, seed, error);
        if (!nn)
                return NULL;
        *ret_epochs = *ret_best = 0;
        for (guint e = 1; e <= cfg->epochs; e++) {
                guint n_win = cfg->windows_per_epoch ? MIN (cfg->windows_per_epoch, tw->len) : tw->len;
                double sum = 0;
                guint nb = 0;
                AugurTrainProgress pr = { 0 };
                float vl;
                double el;

                shuffle_windows (tw, &rng);
                for (guint i = 0; i < n_win; i += cfg->batch) {
                        guint B = MIN (cfg->batch, n_win - i);

                        for (guint b = 0; b < B; b++)
                                fill_window (ds, m->target_scale, &g_array_index (tw, WinRef, i + b), T, H, AUGUR_SPLIT_TRAIN,
                                             x + (gsize) b * T * F, y + (gsize) b * O, mask + (gsize) b * O);
                        sum += augur_nn_train_batch (nn, x, y, mask, B, T);
                        nb++;
                }
                vl = eval_loss (nn, ds, m->target_scale, vw, T, H, cfg->batch, x, y, mask);
                el = g_timer_elapsed (timer, NULL);
                pr.net = net;
                pr.nets = nets;
                pr.epoch = e;
                pr.epochs = cfg->epochs;
                pr.train_loss = nb ? (float) (sum / nb) : NAN;
                pr.val_loss = vl;
                pr.improved = vl < best_val;
                pr.elapsed_s = el;
                pr.eta_s = el / e * (cfg->epochs - e);
                *ret_epochs = e;
                if (pr.improved) {
                        best_val = vl;
                        *ret_best = e;
                        g_clear_pointer (&best, augur_nn_free);
                        best = augur_nn_copy (nn);
                        bad_epochs = 0;
                } else {
                        bad_epochs++;
                }
                if (progress)
                        progress (&pr, user_data);
                if (bad_epochs >= cfg->patience)
                        break;
                if (budget_s > 0 && el + el / e > budget_s)
                        break;
                if (cfg->cancel && g_atomic_int_get (cfg->cancel))
                        break;
        }
        return best ? g_steal_pointer (&best) : g_steal_pointer (&nn);
}

AugurModel *
augur_forecast_train (const AugurDataset *ds, const AugurTrainConfig *cfg,
                      AugurTrainProgressFunc progress, gpointer user_data, GError **error)
{
        g_autoptr (AugurModel) m = g_new0 (AugurModel, 1);
        g_autoptr (GArray) tw = NULL;
        g_autoptr (GArray) vw = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        g_autofree float *tau = NULL;
        AugurNNConfig ncfg;
        guint F, O, T = cfg->T, H = cfg->H;

        if (H == 0 || H > AUGUR_FORECAST_MAX_H || T == 0 || cfg->hidden == 0 || cfg->batch == 0
            || cfg->nets < 1 || cfg->nets > AUGUR_MODEL_MAX_NETS) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "horizon must be 1..%u, networks 1..%u, window, hidden and batch > 0",
                             AUGUR_FORECAST_MAX_H, AUGUR_MODEL_MAX_NETS);
                return NULL;
        }
        /* Early stopping and the conformal margins need validation points
         * H steps ahead: refuse a horizon or window the data cannot hold. */
        if (!augur_dataset_check_shape (ds, T, H, AUGUR_SPLIT_VAL, NULL, error))
                return NULL;
        m->feat = ds->feat;
        m->F = F = augur_features_count (ds->feat.groups);
        m->H = H;
        m->T = T;
        m->quantile = cfg->quantile;
        m->coverage = cfg->coverage;
        m->point_loss = cfg->point_loss;
        m->split = cfg->split;
        m->n_nets = cfg->nets;
        O = AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * H;
        compute_target_scales (ds, m->target_scale);

        tw = collect_windows (ds, T, H, AUGUR_SPLIT_TRAIN, cfg->onset_weight);
        vw = collect_windows (ds, T, H, AUGUR_SPLIT_VAL, 1);
        if (tw->len == 0 || vw->len == 0) {
                AugurSplit sp = tw->len == 0 ? AUGUR_SPLIT_TRAIN : AUGUR_SPLIT_VAL;
                const char *vm;
                gsize len = augur_dataset_longest_split (ds, sp, &vm);

                /* A training window lies inside its split with one target
                 * after it; a validation one may reach back before it. */
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                             "no %s window of %u steps: the longest %s split, '%s', has %" G_GSIZE_FORMAT
                             " steps (series too short or too gappy)", augur_split_name (sp), T,
                             augur_split_name (sp), vm, len);
                return NULL;
        }

        tau = g_new (float, O);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (guint h = 1; h <= H; h++) {
                        tau[augur_model_out_index (H, (AugurTarget) t, 0, h)] =
                                cfg->point_loss == AUGUR_POINT_LOSS_MAE ? 0.5f : -1.0f;
                        tau[augur_model_out_index (H, (AugurTarget) t, 1, h)] = cfg->quantile;
                }
        augur_nn_config_init (&ncfg, F, cfg->hidden, O, cfg->arch);
        ncfg.layers = cfg->layers;
        ncfg.heads = cfg->heads;
        ncfg.max_len = T;            /* transformer: one position row per step */
        ncfg.tau = tau;
        ncfg.lr = cfg->lr;
        augur_nn_blas_threads_init ();

        /* The networks one after the other, each with an equal share of
         * the time budget (ENSEMBLE in forecast.h). */
        for (guint i = 0; i < cfg->nets; i++) {
                guint *ep = i == 0 ? &m->epochs_run : &m->more_epochs[i - 1];
                guint *be = i == 0 ? &m->best_epoch : &m->more_best[i - 1];
                AugurNN *nn = train_net (ds, cfg, m, &ncfg, tw, vw, cfg->seed + i, i + 1, cfg->nets,
                                         cfg->time_budget_s / cfg->nets, progress, user_data, ep, be, error);

                if (!nn)
                        return NULL;
                if (i == 0) {
                        m->nn = nn;
                        m->nnq = augur_nnq_from_float (nn);
                } else {
                        m->more_nn[i - 1] = nn;
                        m->more_nnq[i - 1] = augur_nnq_from_float (nn);
                }
                if (cfg->cancel && g_atomic_int_get (cfg->cancel)) {
                        m->n_nets = i + 1;
                        break;
                }
        }
        m->train_seconds = g_timer_elapsed (timer, NULL);

        /* Baselines and global conformal margins, on validation (eval.c),
         * then what the model serves per target and horizon (forecast.h
         * VALIDATION GATE), on validation too. */
        if (!augur_forecast_calibrate (m, ds, error))
                return NULL;
        if (!augur_forecast_choose_gate (m, ds, error))
                return NULL;
        return g_steal_pointer (&m);
}
