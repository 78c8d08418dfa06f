/* predictor.c — the online per-VM forecaster.  API: predictor.h.
 *
 * What it is: one step per call, for one VM, of everything between a sample
 * and the forecast the policy consumes.  What it is not: the policy, the
 * trainer, or the evaluation harness (eval.c scores the same sources in
 * batch; this file is their online twin).
 *
 * TWO PATHS
 * =========
 *   slow path   at the model's step (step_s, 300 s): features -> int NN
 *               window forecast, the online baselines, per-VM conformal
 *               calibration, accuracy trackers, the champion.  Horizons
 *               1..H slow steps (12 = 1 h).
 *   fast path   at the call's tick (tick_s: the daemon's 1-5 s tick, or
 *               the trace step in a replay): last value at tick
 *               resolution and a period detector, each with an online
 *               quantile tracker.  Horizons 1..fast_H ticks.
 * The 5-minute model cannot see a 2-minute job; the fast path can.  The
 * slow path cannot react inside a 5-minute bucket; the fast path can.
 *
 * MODES
 *   tick mode      tick_s < step_s (augurd).  Ticks are averaged into slow
 *                  buckets (bucket id = floor((ts - phase) / step_s), mean of
 *                  each column's present values, sample ts = bucket start);
 *                  a bucket is closed — and the slow path steps — at the
 *                  first tick of a later bucket, i.e. one tick late.  A
 *                  bucket forecast is a forecast of that bucket's mean.
 *                  With cfg->stagger each VM's buckets are offset by a hash
 *                  of its name (phase in [0, step_s)), so 1000 VMs do not
 *                  all run the NN in the same tick.
 *   same-res mode  tick_s >= step_s (replay at the trace step).  Every call
 *                  is one slow step and one fast tick.
 *
 * HOW THE PATHS COMBINE (the output, horizons j = 1..Hout)
 *   tick mode:     Hout = fast_H ticks of tick_s.  Slow horizon of tick j:
 *                  hs = bucket(ts + j tick) - origin bucket (>= 1).
 *   same-res mode: Hout = H steps; j = hs.
 *   p50_j   = max(slow champion p50[hs], fast p50_j)
 *   upper_j = max(slow champion upper[hs], fast upper_j)
 *   where the fast terms are the period forecast when a period is detected
 *   and, in tick mode only, the tick-resolution last value (in same-res
 *   mode the slow path already has last_value as a candidate).  Taking the
 *   max of the upper bounds means the policy's lead window (the max over
 *   its horizons) covers the worse of the two views; the cost is slack,
 *   which the buffer knob trades back.
 *
 * PERIOD-RESOLVED CPU (tick mode, resource cpu only)
 *   The max above has two phase-blind terms.  The tick last value's
 *   tracker learns the 95 % quantile of y[t+j] - y[t] over all phases; for
 *   a periodic burst that is the onset jump, and held + that quantile says
 *   "a burst may start any second" at every phase.  The slow bound is the
 *   upper of a bucket *mean*; with a period shorter than a slow step the
 *   bucket averages whole periods, and its value (the first, partial
 *   bucket's mean can be the burst itself) says nothing about which ticks
 *   are busy.  Both hold the upper at the burst level between bursts, so a
 *   vCPU could never be given back (tests/integration/resize-vcpu.sh: the
 *   upper stayed 0.8-1.7 cores between 2-core bursts, target 2 vCPUs).
 *   So for cpu, at a horizon where the period forecast has a calibrated
 *   upper and the period is shorter than a slow step, the output is
 *       p50_j = max(period p50_j, held),  upper_j = max(period upper_j, held)
 *   The period source is phase-aware and has its own tracker at each
 *   horizon, so an onset is covered at its phase (the +-P/16 window takes
 *   drift); held keeps the current level (busy now, busy next tick).  When
 *   the workload stops repeating, the detector drops the period (r below
 *   period_min_acf at the next detection), or the period gate closes
 *   (the period forecast stopped paying off), and the full max serves
 *   again.
 *   Memory keeps the full max: a memory shortfall is an OOM kill, a cpu
 *   shortfall costs one hotplug (~1 s) and the policy's saturation rule
 *   adds a vCPU at once.
 *
 * SLOW PATH, ONE STEP (origin k)
 *   1. mature (champion.c): for h = 1..H the forecasts made at k - h for
 *      step k meet their target y[k]: score = y - base goes into the
 *      source's AugurCalib (ring per VM and horizon, calib.h), and the
 *      trackers get |y - point| and the pinball loss of the calibrated
 *      upper.
 *   2. baselines: augur_baseline_state_update() then _forecast() per kind.
 *   3. model: augur_features_update(); when the origin is observed and the
 *      segment is at least T steps old, reset the int state and replay the
 *      last T vectors (the window the model was trained on; nn-q.h:
 *      carrying the state is "outside what training saw").  Output ->
 *      forecast as in forecast.h: u(held) + g_sd * out, u = identity for
 *      cpu and mem.  Skipped steps (k jumps by more than 1) are fed to the
 *      features as empty samples so the window holds exactly the vectors
 *      the batch path (augur_features_batch) computes.
 *   4. calibrated upper = base + margin(source, VM, h), base = the upper
 *      head for the NN (CQR) and the point for a baseline.  With a model
 *      file the global fallback margins are the file's (validation), and
 *      each VM's own quantile takes over after calib_min_n scores.
 *   5. champion per resource (champion.c).
 *
 * FLOOR AT THE HELD VALUE (cfg->floor_held, default on)
 *   Slow p50 and calibrated upper are raised to the newest observed value
 *   of the resource.  The policy floors its allocation at observed used
 *   anyway, so a band below it only misleads the champion and the cost.
 *
 * MODEL FLOOR (cfg->model_floor, default off; `replay --model-floor`)
 *   The champion is judged on every step's loss, and spikes are rare: on
 *   the scenario traces it demotes the model almost everywhere, although
 *   the model is the only source that sees the precursors of a spike
 *   (BENCHMARKS-replay.md).  With the floor, a baseline champion's p50 and
 *   calibrated upper are raised to the model's, so a forecast spike is
 *   never hidden by the champion; the slack this costs is traded back by
 *   the policy's buffer.
 *
 * CONDITIONAL WIDTH (cfg->width_halflife_s > 0; `replay --width-halflife`;
 *   default off, BENCHMARKS-replay.md "Conditional width")
 *   Step 4's margin is one quantile per VM and horizon, the same at every
 *   step: as wide in a calm hour as after a burst.  Normalised split
 *   conformal (Lei et al. 2018, "locally weighted") makes it follow the
 *   situation: per VM and resource a local scale
 *       l_k = max(m_fast, width_floor_frac x m_slow, LS_MIN_PCT)
 *   where m_fast and m_slow are EW means of |y_k - y_k-1| (points) with
 *   half-lives width_halflife_s and acc_halflife_s, updated when y_k
 *   arrives.  A VM's scores go into its rings divided by l at their
 *   origin, (y - base) / l_origin; the margin at origin k is the ring's
 *   conformal quantile times l_k, so the band widens after the series
 *   moved and narrows while it is flat, and the quantile of the
 *   normalised scores keeps the coverage (they are exchangeable when the
 *   scale explains the spread).  m_slow's floor keeps a calm hour from
 *   forgetting a VM that spikes.  The global reservoir keeps raw scores
 *   (the model file's fallback margins are raw), so a VM uses the raw
 *   global margin until its own rings hold calib_min_n scores.  The
 *   cost-aware memory margin (champion.c) reads the same normalised
 *   rings: a margin of b normalised units costs lam x l x b.  A precursor
 *   still widens the memory bound through the precursor bound, not
 *   through l.  Causal: l_k, the scores and the quantile only see y up to
 *   k.  Cost: two EW updates per resource and slow step, one multiply per
 *   margin; memory (H + 1) x 2 floats per VM.
 *
 * ELSEWHERE (the rest of the design, next to its code)
 *   ACCURACY AND THE CHAMPION, COST-AWARE MARGIN, MODEL GATE   champion.c
 *   FAST PATH, ONE TICK; PERIOD GATE                          period.c
 *
 * COST (1 VM, LSTM 32 hidden, F = 42, T = 24, H = 12, 5 sources): a slow
 * step is dominated by the T-step NN replay (~T x 1.3 us) and ~120
 * calibration inserts; a fast tick is O(fast_H * period_k) plus the
 * detector amortised.  scripts/bench-tick.c measures the whole tick.
 *
 * MEMORY per VM: ~60 KiB of state plus the calibration rings, 2 resources
 * x sources x H x calib_ring x 8 B (5 x 2 x 12 x 288 x 8 = 276 KiB).
 */
#include "predictor-private.h"
#include "util.h"

#include <string.h>

/* Static names: [arch or baseline][suffix none, +period, +tick]. */
static const char *const model_names[AUGUR_ARCH_N][3] = {
        [AUGUR_ARCH_LSTM] = { "lstm_int", "lstm_int+period", "lstm_int+tick" },
        [AUGUR_ARCH_GRU] = { "gru_int", "gru_int+period", "gru_int+tick" },
        [AUGUR_ARCH_TRANSFORMER] = { "transformer_int", "transformer_int+period", "transformer_int+tick" },
};
static const char *const bl_names[AUGUR_BL_N][3] = {
        [AUGUR_BL_LAST_VALUE] = { "last_value", "last_value+period", "last_value+tick" },
        [AUGUR_BL_EWMA] = { "ewma", "ewma+period", "ewma+tick" },
        [AUGUR_BL_SEASONAL_NAIVE] = { "seasonal_naive", "seasonal_naive+period", "seasonal_naive+tick" },
        [AUGUR_BL_MEAN_1H] = { "mean_1h", "mean_1h+period", "mean_1h+tick" },
        [AUGUR_BL_RIDGE_AR] = { "ridge_ar", "ridge_ar+period", "ridge_ar+tick" },
};
static const char *const only_fast_names[3] = { "none", "period", "tick" };

static const AugurSig res_sig[N_RES] = { AUGUR_SIG_CPU, AUGUR_SIG_MEM };

/* ------------------------------------------------------------ config */

void
augur_predictor_config_init (AugurPredictorConfig *cfg)
{
        memset (cfg, 0, sizeof *cfg);
        cfg->tick_s = AUGUR_FEAT_DEFAULT_STEP_S;  /* replay at 5 min           */
        cfg->step_s = AUGUR_FEAT_DEFAULT_STEP_S;  /* the model's grid          */
        cfg->H = 12;                              /* 1 h at 5 min (train default) */
        cfg->fast_H = 24;                         /* 2 min at a 5 s tick       */
        cfg->fast_len = 1024;                     /* 17 min at 1 s, 3.5 d at 5 min */
        cfg->period_min = 4;                      /* shorter is noise          */
        cfg->period_max = 0;                      /* fast_len / 3: 3 periods seen */
        cfg->period_every = 128;                  /* amortises the O(n L) ACF:
                                                   * ~2.5 k MACs per tick     */
        cfg->period_min_acf = 0.5f;               /* Bitbrains' daily ACF median
                                                   * is 0.15: rarely fires there */
        cfg->period_k = 3;
        cfg->fast_last_value = TRUE;
        cfg->coverage = AUGUR_CALIB_DEFAULT_COVERAGE;
        cfg->calib_ring = 288;                    /* 1 day at 5 min            */
        cfg->calib_min_n = 48;                    /* 4 h of a VM's own scores  */
        cfg->acc_halflife_s = 86400;              /* "the last day"            */
        cfg->champion_warm = 24;                  /* 2 h of matured steps      */
        cfg->champion_hysteresis = 0.05;
        cfg->champion_metric = AUGUR_PRED_CHAMPION_PINBALL;
        /* seasonal_naive loses to the other baselines on every trace set
         * the project measured (BENCHMARKS-model.md); the period
         * detector covers real periodicity. */
        cfg->sources = ((1u << AUGUR_PRED_SRC_N) - 1) & ~(1u << AUGUR_PRED_SRC_SEASONAL_NAIVE);
        cfg->cold_source = AUGUR_PRED_SRC_EWMA;
        cfg->stagger = TRUE;
        cfg->floor_held = TRUE;
        cfg->price_per_gib = 0;                   /* coverage mode             */
        cfg->champion_knob = 1.0;                 /* the policy's default buffer */
        cfg->model_floor = FALSE;                 /* BENCHMARKS-replay.md */
        cfg->model_gate = TRUE;                   /* chosen on scenario seed 202,
                                                   * BENCHMARKS-replay.md */
        cfg->precursor_bound = TRUE;
        cfg->width_halflife_s = 0;                /* CONDITIONAL WIDTH off:
                                                   * BENCHMARKS-replay.md    */
        cfg->width_floor_frac = 0.25f;
}

AugurPredictor *
augur_predictor_new (const AugurModel *model, const AugurPredictorConfig *cfg, GError **error)
{
        g_autoptr (AugurPredictor) p = g_new0 (AugurPredictor, 1);
        AugurPredictorConfig *c = &p->cfg;

        g_return_val_if_fail (cfg != NULL, NULL);
        *c = *cfg;
        p->model = model;
        if (model) {
                c->step_s = model->feat.step_s;
                c->H = model->H;
                p->F = model->F;
                p->T = model->T;
                p->O = model->nnq->n_out;
        }
        if (c->period_max == 0)
                c->period_max = c->fast_len / 3;
        if (!(c->tick_s > 0) || c->step_s <= 0 || c->H < 1 || c->H > AUGUR_PREDICTOR_MAX_H
            || c->fast_H < 1 || c->fast_H > AUGUR_PREDICTOR_MAX_H || c->fast_len < 16
            || c->period_min < 2 || c->period_every < 1 || c->period_k < 1
            || !(c->coverage > 0 && c->coverage < 1) || !(c->acc_halflife_s > 0)
            || c->cold_source >= AUGUR_PRED_SRC_N || !(c->width_halflife_s >= 0)
            || !(c->width_floor_frac >= 0)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "predictor: configuration out of range (tick %g s, step %" G_GINT64_FORMAT
                             " s, H %u, fast_H %u, fast_len %u)", c->tick_s, c->step_s, c->H,
                             c->fast_H, c->fast_len);
                return NULL;
        }
        p->tick_mode = c->tick_s < (double) c->step_s;
        p->acc_decay = pow (0.5, (double) c->step_s / c->acc_halflife_s);
        p->ls_decay = c->width_halflife_s > 0 ? pow (0.5, (double) c->step_s / c->width_halflife_s) : 0;
        for (int r = 0; r < N_RES; r++) {
                if (model)
                        p->bl[r] = model->bl[r];
                else
                        augur_baseline_params_init (&p->bl[r], c->H, c->step_s);
                p->bl[r].H = c->H;
                p->bl[r].step_s = c->step_s;
        }
        for (int s = 0; s < N_SRC; s++) {
                for (int r = 0; r < N_RES; r++) {
                        if (!src_on (p, (AugurPredSource) s))
                                continue;
                        p->calib[s][r] = augur_calib_new (c->H, c->coverage, c->calib_ring, c->calib_min_n);
                        if (!model)
                                continue;
                        /* Global fallback margins from the model file; the
                         * model's are the int NN's at every horizon: its
                         * bound's base is the NN's even where the VALIDATION
                         * GATE serves a baseline's point (slow_gate). */
                        if (s == AUGUR_PRED_SRC_MODEL) {
                                for (guint h = 1; h <= c->H; h++)
                                        for (int g = 0; g < AUGUR_REGIME_N; g++) {
                                                float w;
                                                int b = augur_serve_decode (model->serve[r][g][h - 1], &w);

                                                if (b >= 0)
                                                        p->gated[r] |= 1u << b;
                                        }
                                augur_calib_set_global_margins (p->calib[s][r], model->nn_margin[1][r]);
                        } else
                                augur_calib_set_global_margins (p->calib[s][r], model->bl_margin[r][s - 1]);
                }
        }
        p->scratch = g_new (float, (gsize) 2 * c->fast_len + 2);   /* ring copy, then acf */
        return g_steal_pointer (&p);
}

void
augur_predictor_free (AugurPredictor *p)
{
        if (!p)
                return;
        for (int s = 0; s < N_SRC; s++)
                for (int r = 0; r < N_RES; r++)
                        augur_calib_free (p->calib[s][r]);
        g_free (p->scratch);
        g_free (p);
}

const AugurPredictorConfig *
augur_predictor_config (const AugurPredictor *p)
{
        return &p->cfg;
}

static const char *
source_name_sfx (const AugurPredictor *p, AugurPredSource s, guint sfx)
{
        if (s == AUGUR_PRED_SRC_MODEL && p->model)
                return model_names[p->model->nn->cfg.arch][sfx];
        if (s >= AUGUR_PRED_SRC_LAST_VALUE && s < AUGUR_PRED_SRC_N)
                return bl_names[s - 1][sfx];
        return only_fast_names[sfx];
}

const char *
augur_predictor_source_name (const AugurPredictor *p, AugurPredSource s)
{
        return source_name_sfx (p, s, 0);
}

/* --------------------------------------------------------------- VM */

AugurPredictorVm *
augur_predictor_vm_new (AugurPredictor *p, const char *vm)
{
        const AugurPredictorConfig *c;
        AugurPredictorVm *v;
        guint H;

        g_return_val_if_fail (p != NULL && vm != NULL, NULL);
        c = &p->cfg;
        H = c->H;
        v = g_new0 (AugurPredictorVm, 1);
        v->p = p;
        v->name = g_strdup (vm);
        v->phase_s = (p->tick_mode && c->stagger) ? (gint64) (augur_fnv1a32 (vm, strlen (vm)) % (guint32) c->step_s) : 0;
        augur_precursor_init (&v->prec, c->step_s);
        v->prec_bound = NAN;
        if (p->model) {
                v->feat = augur_features_state_new (&p->model->feat);
                v->nnq = augur_model_q_state_new (p->model);
                v->win = g_new0 (float, (gsize) p->T * p->F);
                v->win_seq = g_new0 (float, (gsize) p->T * p->F);
                v->nn_out = g_new0 (float, p->O);
        }
        for (int r = 0; r < N_RES; r++) {
                augur_baseline_state_init (&v->bl[r], &p->bl[r]);
                v->champion[r] = p->model ? AUGUR_PRED_SRC_MODEL : c->cold_source;
        }
        v->cur = g_new (float, (gsize) N_SRC * N_RES * 3 * H);
        v->pend = g_new (float, (gsize) (H + 1) * N_SRC * N_RES * 3 * H);
        v->pend_origin = g_new (guint64, H + 1);
        v->pend_ok = g_new0 (guint8, (gsize) (H + 1) * N_SRC * N_RES);
        for (guint i = 0; i <= H; i++)
                v->pend_origin[i] = NONE_STEP;
        v->mg_step = NONE_STEP;
        for (int r = 0; r < N_RES; r++) {
                v->ls_y[r] = NAN;
                v->ls_scale[r] = NAN;
        }
        if (local_width (p)) {
                v->pend_ls = g_new (float, (gsize) (H + 1) * N_RES);
                for (gsize i = 0; i < (gsize) (H + 1) * N_RES; i++)
                        v->pend_ls[i] = NAN;
        }
        v->prov_kib = NAN;
        v->cores = NAN;
        if (c->price_per_gib > 0) {
                gsize len = (gsize) N_SRC * H * c->calib_ring;

                v->cost_ring = g_new (float, len);
                v->cost_sorted = g_new (float, len);
                v->cost_n = g_new0 (guint, (gsize) N_SRC * H);
                v->cost_pos = g_new0 (guint, (gsize) N_SRC * H);
                v->cost_up = g_new (float, H);
                v->pend_cu = g_new (float, (gsize) (H + 1) * N_SRC);
        }

        v->ring = g_new (float, (gsize) N_RES * c->fast_len);
        for (gsize i = 0; i < (gsize) N_RES * c->fast_len; i++)
                v->ring[i] = NAN;
        v->fpend = g_new (float, (gsize) (c->fast_H + 1) * N_RES * N_FAST * c->fast_H);
        v->fpend_origin = g_new (guint64, c->fast_H + 1);
        v->fpend_held = g_new (float, (gsize) (c->fast_H + 1) * N_RES);
        v->fpend_per = g_new0 (guint8, c->fast_H + 1);
        for (guint i = 0; i <= c->fast_H; i++)
                v->fpend_origin[i] = NONE_STEP;
        v->qt = g_new0 (QTrack, (gsize) N_RES * N_FAST * c->fast_H);
        v->fcur = g_new (float, (gsize) N_RES * N_FAST * 2 * c->fast_H);
        /* Stagger the detector too. */
        v->next_detect = c->period_every > 1 ? augur_fnv1a32 (vm, strlen (vm)) % c->period_every : 0;
        return v;
}

void
augur_predictor_vm_free (AugurPredictorVm *v)
{
        if (!v)
                return;
        g_free (v->name);
        augur_features_state_free (v->feat);
        augur_model_q_state_free (v->nnq);
        g_free (v->win);
        g_free (v->win_seq);
        g_free (v->nn_out);
        g_free (v->cur);
        g_free (v->pend);
        g_free (v->pend_origin);
        g_free (v->pend_ok);
        g_free (v->pend_ls);
        g_free (v->cost_ring);
        g_free (v->cost_sorted);
        g_free (v->cost_n);
        g_free (v->cost_pos);
        g_free (v->cost_up);
        g_free (v->pend_cu);
        g_free (v->ring);
        g_free (v->fpend);
        g_free (v->fpend_origin);
        g_free (v->fpend_held);
        g_free (v->fpend_per);
        g_free (v->qt);
        g_free (v->fcur);
        g_free (v);
}

/* -------------------------------------------------------- slow path */

/* Step 3: the int NN on the last T vectors.  FALSE when the window is not
 * usable (same rule as augur_vm_data_window_ok: observed origin, one
 * segment of at least T steps). */
static gboolean
slow_model (AugurPredictor *p, AugurPredictorVm *v, guint64 step, gboolean observed)
{
        const AugurModel *m = p->model;
        const guint T = p->T, F = p->F, H = p->cfg.H;

        if (!v->feat_ok || !observed || augur_features_state_age (v->feat) + 1 < T)
                return FALSE;
        for (guint i = 0; i < T; i++) {
                guint64 k = step + 1 - T + i;

                memcpy (v->win_seq + (gsize) i * F, v->win + (gsize) (k % T) * F, F * sizeof (float));
        }
        augur_model_forecast_window (m, v->nnq, v->win_seq, T, v->nn_out);
        for (int r = 0; r < N_RES; r++) {
                AugurSig sig = res_sig[r];
                AugurTarget t = r == AUGUR_PRED_CPU ? AUGUR_TARGET_CPU_PCT : AUGUR_TARGET_MEM_PCT;
                float held = augur_features_state_held (v->feat, sig);
                float *pt = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0);
                float *base = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 2);

                if (isnan (held))
                        continue;
                for (guint h = 1; h <= H; h++) {
                        pt[h - 1] = augur_model_decode (m, t, held, v->nn_out[augur_model_out_index (H, t, 0, h)]);
                        base[h - 1] = augur_model_decode (m, t, held, v->nn_out[augur_model_out_index (H, t, 1, h)]);
                }
                v->cur_ok[AUGUR_PRED_SRC_MODEL][r] = 1;
        }
        return TRUE;
}

/* VALIDATION GATE (forecast.h): at each (resource, h) where the model file
 * serves a baseline or a mix in the origin's regime (the resource's newest
 * values, as eval.c reads them), the model's point forecast is that
 * baseline's, or its mix with the NN's (augur_serve_mix), from this VM's
 * baseline state with the file's fitted parameters (p->bl).
 * The bound's base stays the NN's upper head (raised to the point if it is
 * below it), with the NN's margin: the gate was chosen on point error, which
 * says nothing of the bound, and the bound is where the network announces a
 * spike from a flat line (BENCHMARKS-replay.md section 9).  Only where the
 * NN forecasts (a usable window), as eval.c scores it; a baseline without a
 * forecast (seasonal naive before a day of history) leaves the NN's there. */
static void
slow_gate (AugurPredictor *p, AugurPredictorVm *v)
{
        const AugurModel *m = p->model;
        const guint H = p->cfg.H;

        for (int r = 0; r < N_RES; r++) {
                float *pt = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0);
                float *base = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 2);

                float recent[AUGUR_REGIME_LOOKBACK + 1];
                AugurRegime g;

                if (!v->cur_ok[AUGUR_PRED_SRC_MODEL][r] || !p->gated[r])
                        continue;
                for (guint i = 0; i <= AUGUR_REGIME_LOOKBACK; i++)
                        recent[i] = augur_baseline_state_y (&v->bl[r], AUGUR_REGIME_LOOKBACK - i);
                g = augur_regime_of ((AugurTarget) r, recent, AUGUR_REGIME_LOOKBACK + 1, m->target_scale[r]);
                for (int b = 0; b < AUGUR_BL_N; b++) {
                        float bp[AUGUR_PREDICTOR_MAX_H];

                        if (!(p->gated[r] & (1u << b))
                            || !augur_baseline_state_forecast (&v->bl[r], (AugurBaselineKind) b, bp))
                                continue;
                        for (guint h = 1; h <= H; h++) {
                                guint8 sv = m->serve[r][g][h - 1];
                                float w;

                                if (augur_serve_decode (sv, &w) != b || isnan (bp[h - 1]))
                                        continue;
                                pt[h - 1] = augur_serve_mix (w, pt[h - 1], bp[h - 1]);
                                base[h - 1] = MAX (base[h - 1], pt[h - 1]);
                        }
                }
        }
}

/* Held (newest observed) value of resource r at the newest slow step. */
static float
bl_held (const AugurPredictorVm *v, int r)
{
        const AugurBaselineState *b = &v->bl[r];

        if (b->steps == 0)
                return NAN;
        return b->held[(b->steps - 1) % AUGUR_BL_HIST];
}

/* Feed one empty sample at ts to the features (a skipped slow step), so the
 * window holds what the batch path computes. */
static void
slow_feed_missing (AugurPredictor *p, AugurPredictorVm *v, guint64 step, gint64 ts)
{
        AugurFeatSample e;

        e.ts = ts;
        for (int c = 0; c < AUGUR_COL_N; c++)
                e.v[c] = NAN;
        augur_features_update (v->feat, &e, v->win + (gsize) (step % p->T) * p->F);
}

/* CONDITIONAL WIDTH: the local scale of each resource after the target
 * y (N_RES) of this slow step arrived (header). */
static void
local_scale_update (AugurPredictor *p, AugurPredictorVm *v, const float *y)
{
        for (int r = 0; r < N_RES; r++) {
                double d, fast, slow;

                if (isnan (y[r]))
                        continue;
                if (!isnan (v->ls_y[r])) {
                        d = fabs ((double) y[r] - v->ls_y[r]);
                        v->ls_fast[r] = p->ls_decay * v->ls_fast[r] + d;
                        v->ls_fast_w[r] = p->ls_decay * v->ls_fast_w[r] + 1.0;
                        v->ls_slow[r] = p->acc_decay * v->ls_slow[r] + d;
                        v->ls_slow_w[r] = p->acc_decay * v->ls_slow_w[r] + 1.0;
                        fast = v->ls_fast[r] / v->ls_fast_w[r];
                        slow = v->ls_slow[r] / v->ls_slow_w[r];
                        v->ls_scale[r] = (float) MAX (MAX (fast, p->cfg.width_floor_frac * slow),
                                                      LS_MIN_PCT);
                }
                v->ls_y[r] = y[r];
        }
}

/* Step 4's margin of source s, resource r, horizon h (pct): the VM's
 * conformal quantile, times the local scale with CONDITIONAL WIDTH (the
 * VM's scores are normalised then); the global margin (raw scores, or the
 * model file's) until the VM has its own. */
static float
slow_margin (AugurPredictor *p, const AugurPredictorVm *v, int s, int r, guint h)
{
        float q;

        if (!local_width (p))
                return augur_calib_margin (p->calib[s][r], v->name, h);
        if (!isnan (v->ls_scale[r]) && augur_calib_vm_margin (p->calib[s][r], v->name, h, &q))
                return q * v->ls_scale[r];
        return augur_calib_margin (p->calib[s][r], NULL, h);
}

/* One slow step with sample x; ret_served (N_RES) gets the serving source.
 * FALSE when x is not later than the previous slow sample. */
static gboolean
slow_step (AugurPredictor *p, AugurPredictorVm *v, const AugurFeatSample *x,
           AugurPredSource *ret_served)
{
        const guint H = p->cfg.H;
        const gint64 st = p->cfg.step_s;
        float y[N_RES];
        guint64 step = 0;
        gint64 k = 1;
        gboolean observed;
        guint slot;

        if (v->slow_started) {
                k = (x->ts - v->slow_last_ts + st / 2) / st;
                if (k <= 0)
                        return FALSE;
                step = v->slow_step + (guint64) k;
        }
        for (int r = 0; r < N_RES; r++)
                y[r] = augur_features_signal (x, res_sig[r]);
        observed = !isnan (y[AUGUR_PRED_CPU]) || !isnan (y[AUGUR_PRED_MEM]);

        augur_pred_mature (p, v, step, y);
        augur_pred_mg_score (p, v, step, y);
        if (local_width (p))
                local_scale_update (p, v, y);
        v->prec_bound = p->cfg.precursor_bound
                        ? augur_precursor_step (&v->prec, step, augur_features_signal (x, AUGUR_SIG_INPUT),
                                                augur_features_signal (x, AUGUR_SIG_SESSIONS),
                                                x->v[AUGUR_COL_DISK_WR_KIBPS], y[AUGUR_PRED_MEM])
                        : NAN;
        for (int r = 0; r < N_RES; r++)
                augur_baseline_state_update (&v->bl[r], x->ts, y[r]);

        memset (v->cur_ok, 0, sizeof v->cur_ok);
        if (v->feat) {
                /* Skipped steps: at most max_fill + 1 of them matter (then
                 * the features are in a gap and reset anyway). */
                gint64 fill = MIN (k - 1, (gint64) p->model->feat.max_fill_steps + 1);

                for (gint64 j = 1; j <= fill; j++)
                        slow_feed_missing (p, v, step - (guint64) (k - j), v->slow_last_ts + j * st);
                v->feat_ok = augur_features_update (v->feat, x, v->win + (gsize) (step % p->T) * p->F);
                if (src_on (p, AUGUR_PRED_SRC_MODEL))
                        slow_model (p, v, step, observed);
        }
        for (int s = AUGUR_PRED_SRC_LAST_VALUE; s < N_SRC; s++) {
                if (!src_on (p, (AugurPredSource) s))
                        continue;
                for (int r = 0; r < N_RES; r++) {
                        float *pt = cur_at (p, v, s, r, 0);

                        if (!augur_baseline_state_forecast (&v->bl[r], (AugurBaselineKind) (s - 1), pt))
                                continue;
                        memcpy (cur_at (p, v, s, r, 2), pt, H * sizeof *pt);
                        v->cur_ok[s][r] = 1;
                }
        }
        if (v->feat)
                slow_gate (p, v);
        if (p->cfg.floor_held) {
                for (int r = 0; r < N_RES; r++) {
                        float held = bl_held (v, r);

                        if (isnan (held))
                                continue;
                        for (int s = 0; s < N_SRC; s++) {
                                float *pt = cur_at (p, v, s, r, 0), *base = cur_at (p, v, s, r, 2);

                                if (!v->cur_ok[s][r])
                                        continue;
                                for (guint h = 0; h < H; h++) {
                                        pt[h] = MAX (pt[h], held);
                                        base[h] = MAX (base[h], held);
                                }
                        }
                }
        }
        /* Calibrated upper bounds, then remember everything for step 1. */
        slot = (guint) (step % (H + 1));
        v->pend_origin[slot] = step;
        if (v->pend_ls)
                memcpy (v->pend_ls + (gsize) slot * N_RES, v->ls_scale, sizeof v->ls_scale);
        for (int s = 0; s < N_SRC; s++) {
                for (int r = 0; r < N_RES; r++) {
                        float *base = cur_at (p, v, s, r, 2), *up = cur_at (p, v, s, r, 1);

                        v->pend_ok[((gsize) slot * N_SRC + s) * N_RES + r] = v->cur_ok[s][r];
                        if (!v->cur_ok[s][r])
                                continue;
                        for (guint h = 1; h <= H; h++)
                                up[h - 1] = base[h - 1] + slow_margin (p, v, s, r, h);
                        for (int w = 0; w < 3; w++)
                                memcpy (pend_at (p, v, slot, s, r, w), cur_at (p, v, s, r, w), H * sizeof (float));
                }
        }
        if (v->cost_ring)
                augur_pred_cost_remember (p, v, slot);
        for (int r = 0; r < N_RES; r++)
                ret_served[r] = augur_pred_champion (p, v, r);
        v->cost_ok = v->cost_ring && augur_pred_cost_upper (p, v, ret_served[AUGUR_PRED_MEM]);
        augur_pred_mg_remember (p, v, step, ret_served);
        v->slow_started = TRUE;
        v->slow_last_ts = x->ts;
        v->slow_step = step;
        return TRUE;
}

/* ------------------------------------------------------------ output */

/* PERIOD-RESOLVED CPU (header): does the period forecast alone resolve
 * tick horizon j of resource r? */
static gboolean
period_resolves (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint j)
{
        const AugurPredictorConfig *c = &p->cfg;

        return p->tick_mode && j <= c->fast_H && v->period[r] > 0
               && v->period[r] * c->tick_s < (double) c->step_s
               && v->fcur_ok[r][FAST_PERIOD] && augur_pred_gate_open (p, v, r)
               && !isnan (fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1]);
}

static void
assemble (AugurPredictor *p, AugurPredictorVm *v, const AugurPredictorOut *served,
          gint64 ts, AugurPredictorOut *out)
{
        const AugurPredictorConfig *c = &p->cfg;
        guint Hout = p->tick_mode ? c->fast_H : c->H;
        gboolean any = FALSE;

        out->ts = ts;
        out->step_s = p->tick_mode ? c->tick_s : (double) c->step_s;
        out->precursor = -1;
        for (int r = 0; r < N_RES; r++) {
                AugurPredSource s = served->source[r];
                guint sfx = 0;
                float conv = r == AUGUR_PRED_MEM ? v->prov_kib / 100.0f : v->cores / 100.0f;
                float *op50 = r == AUGUR_PRED_MEM ? out->mem_p50_kib : out->cpu_p50_cores;
                float *oup = r == AUGUR_PRED_MEM ? out->mem_upper_kib : out->cpu_upper_cores;

                out->source[r] = s;
                out->model_raised[r] = FALSE;
                out->period[r] = v->period[r];
                out->period_acf[r] = v->period_acf[r];
                for (guint j = 1; j <= Hout; j++) {
                        float sp = NAN, su = NAN, fp = NAN, fu = NAN;
                        guint hs = j;

                        if (p->tick_mode) {
                                gint64 b = (gint64) floor (((double) ts + j * c->tick_s - v->phase_s) / c->step_s);

                                hs = (guint) CLAMP (b - v->slow_origin_bucket, 1, (gint64) c->H + 1);
                        }
                        if (v->have_slow && s != AUGUR_PRED_SRC_NONE && hs <= c->H) {
                                sp = cur_at (p, v, s, r, 0)[hs - 1];
                                su = cur_at (p, v, s, r, 1)[hs - 1];
                                if (r == AUGUR_PRED_MEM && v->cost_ok)
                                        su = v->cost_up[hs - 1];
                                if (c->model_floor && s != AUGUR_PRED_SRC_MODEL
                                    && v->cur_ok[AUGUR_PRED_SRC_MODEL][r]) {
                                        sp = nanmax (sp, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1]);
                                        su = nanmax (su, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1]);
                                }
                                if (augur_pred_mg_alarm (p, v, r, s, hs) && augur_pred_mg_open (v, r)) {
                                        su = augur_pred_mg_raise (p, v, r, hs, sp, su);
                                        sp = nanmax (sp, cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1]);
                                        out->model_raised[r] = TRUE;
                                }
                                if (r == AUGUR_PRED_MEM && hs <= AUGUR_PREC_WINDOW
                                    && v->prec_bound > nanmax (su, -INFINITY)) {
                                        su = v->prec_bound;
                                        out->precursor = v->prec.bound_context;
                                }
                        }
                        if (j <= c->fast_H) {
                                if (j == 1) {
                                        /* remembered for gate_update() */
                                        v->gate_tick = v->tick - 1;
                                        v->gate_s[r] = su;
                                        v->gate_p[r] = v->fcur_ok[r][FAST_PERIOD]
                                                       ? fcur_at (p, v, r, FAST_PERIOD, 1)[0] : NAN;
                                }
                                if (v->fcur_ok[r][FAST_PERIOD] && augur_pred_gate_open (p, v, r)) {
                                        fp = fcur_at (p, v, r, FAST_PERIOD, 0)[j - 1];
                                        fu = fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1];
                                        if (!isnan (fu) && (isnan (su) || fu > su))
                                                sfx = 1;
                                }
                                if (p->tick_mode && c->fast_last_value && v->fcur_ok[r][FAST_LAST]) {
                                        float lp = fcur_at (p, v, r, FAST_LAST, 0)[j - 1];
                                        float lu = fcur_at (p, v, r, FAST_LAST, 1)[j - 1];

                                        if (!isnan (lu) && (isnan (nanmax (su, fu)) || lu > nanmax (su, fu)) && sfx == 0)
                                                sfx = 2;
                                        fp = nanmax (fp, lp);
                                        fu = nanmax (fu, lu);
                                }
                        }
                        if (r == AUGUR_PRED_CPU && period_resolves (p, v, r, j)) {
                                float held = v->fcur_ok[r][FAST_LAST] ? fcur_at (p, v, r, FAST_LAST, 0)[j - 1] : NAN;

                                sp = su = NAN;
                                fp = nanmax (fcur_at (p, v, r, FAST_PERIOD, 0)[j - 1], held);
                                fu = nanmax (fcur_at (p, v, r, FAST_PERIOD, 1)[j - 1], held);
                                sfx = 1;
                        }
                        op50[j - 1] = nanmax (sp, fp) * conv;
                        oup[j - 1] = nanmax (su, fu) * conv;
                        if (!isnan (oup[j - 1]))
                                any = TRUE;
                }
                for (guint j = Hout; j < AUGUR_PREDICTOR_MAX_H; j++) {
                        op50[j] = NAN;
                        oup[j] = NAN;
                }
                out->model[r] = source_name_sfx (p, s, sfx);
        }
        out->H = any ? Hout : 0;
}

static void
capacities (AugurPredictorVm *v, const AugurFeatSample *x)
{
        float prov = x->v[AUGUR_COL_MEM_PROV_KIB], cores = x->v[AUGUR_COL_CPU_CORES];

        if (!isnan (prov) && prov > 0)
                v->prov_kib = prov;
        if (!isnan (cores) && cores > 0)
                v->cores = cores;
}

/* Close the open bucket into a slow sample. */
static void
bucket_close (AugurPredictor *p, AugurPredictorVm *v, AugurPredSource *served)
{
        AugurFeatSample s;

        s.ts = v->bucket_id * p->cfg.step_s + v->phase_s;
        for (int c = 0; c < AUGUR_COL_N; c++)
                s.v[c] = v->bcnt[c] ? (float) (v->bsum[c] / v->bcnt[c]) : NAN;
        if (slow_step (p, v, &s, served)) {
                v->have_slow = TRUE;
                v->slow_origin_bucket = v->bucket_id;
        }
        v->bucket_open = FALSE;
}

gboolean
augur_predictor_step (AugurPredictor *p, AugurPredictorVm *v, const AugurFeatSample *x,
                      AugurPredictorOut *out)
{
        float y[N_RES];
        gboolean slow = FALSE;

        g_return_val_if_fail (p != NULL && v != NULL && x != NULL && out != NULL, FALSE);
        g_return_val_if_fail (v->p == p, FALSE);

        out->H = 0;
        out->precursor = -1;
        if (v->fast_started && x->ts <= v->fast_last_ts)
                return FALSE;
        for (int r = 0; r < N_RES; r++)
                y[r] = augur_features_signal (x, res_sig[r]);
        capacities (v, x);

        if (!p->tick_mode) {
                AugurPredSource served[N_RES];

                if (slow_step (p, v, x, served)) {
                        v->have_slow = TRUE;
                        for (int r = 0; r < N_RES; r++)
                                out->source[r] = served[r];
                        slow = TRUE;
                }
        } else {
                gint64 b = (gint64) floor ((double) (x->ts - v->phase_s) / (double) p->cfg.step_s);

                if (v->bucket_open && b > v->bucket_id) {
                        AugurPredSource served[N_RES];

                        served[0] = served[1] = AUGUR_PRED_SRC_NONE;
                        bucket_close (p, v, served);
                        for (int r = 0; r < N_RES; r++)
                                out->source[r] = served[r];
                        slow = TRUE;
                }
                if (!v->bucket_open) {
                        v->bucket_open = TRUE;
                        v->bucket_id = b;
                        memset (v->bsum, 0, sizeof v->bsum);
                        memset (v->bcnt, 0, sizeof v->bcnt);
                }
                for (int c = 0; c < AUGUR_COL_N; c++) {
                        if (isnan (x->v[c]))
                                continue;
                        v->bsum[c] += x->v[c];
                        v->bcnt[c]++;
                }
        }
        if (!slow) {
                /* Serve the champion of the last slow step. */
                for (int r = 0; r < N_RES; r++)
                        out->source[r] = v->have_slow && v->cur_ok[v->champion[r]][r]
                                         ? v->champion[r] : AUGUR_PRED_SRC_NONE;
                if (v->have_slow)
                        for (int r = 0; r < N_RES; r++)
                                if (out->source[r] == AUGUR_PRED_SRC_NONE)
                                        for (int s = 0; s < N_SRC; s++)
                                                if (v->cur_ok[s][r]) {
                                                        out->source[r] = (AugurPredSource) s;
                                                        break;
                                                }
        }
        augur_pred_fast_step (p, v, x->ts, y);
        {
                AugurPredictorOut served = *out;

                assemble (p, v, &served, x->ts, out);
        }
        out->slow_updated = slow;
        return out->H > 0;
}

/* ----------------------------------------------------- introspection */

gboolean
augur_predictor_vm_accuracy (const AugurPredictorVm *v, AugurPredResource r, AugurPredSource s,
                             double *ret_mae, double *ret_pinball, double *ret_weight)
{
        g_return_val_if_fail (r < N_RES && s < N_SRC, FALSE);
        if (v->acc_w[s][r] <= 0)
                return FALSE;
        if (ret_mae)
                *ret_mae = v->acc_ae[s][r] / v->acc_w[s][r];
        if (ret_pinball)
                *ret_pinball = v->acc_pin[s][r] / v->acc_w[s][r];
        if (ret_weight)
                *ret_weight = v->acc_w[s][r];
        return TRUE;
}

gboolean
augur_predictor_vm_model_gate (const AugurPredictorVm *v, AugurPredResource r,
                               double *ret_weight, double *ret_alone, double *ret_raised)
{
        g_return_val_if_fail (r < N_RES, FALSE);
        if (ret_weight)
                *ret_weight = v->mg_w[r];
        if (ret_alone)
                *ret_alone = v->mg_alone[r];
        if (ret_raised)
                *ret_raised = v->mg_raised[r];
        return augur_pred_mg_open (v, r);
}

AugurPredSource
augur_predictor_vm_champion (const AugurPredictorVm *v, AugurPredResource r)
{
        g_return_val_if_fail (r < N_RES, AUGUR_PRED_SRC_NONE);
        return v->champion[r];
}

const float *
augur_predictor_vm_features (const AugurPredictorVm *v, guint *ret_F)
{
        if (!v->feat || !v->feat_ok || !v->slow_started)
                return NULL;
        if (ret_F)
                *ret_F = v->p->F;
        return v->win + (gsize) (v->slow_step % v->p->T) * v->p->F;
}

gboolean
augur_predictor_vm_window_short (const AugurPredictorVm *v, guint *ret_have, guint *ret_need)
{
        guint have;

        if (!v->p->model || !v->feat)
                return FALSE;
        have = v->feat_ok && v->slow_started ? augur_features_state_age (v->feat) + 1 : 0;
        if (have >= v->p->T)
                return FALSE;
        *ret_have = have;
        *ret_need = v->p->T;
        return TRUE;
}

gboolean
augur_predictor_vm_slow_forecast (const AugurPredictorVm *v, AugurPredResource r, AugurPredSource s,
                                  float *ret_point, float *ret_upper)
{
        const AugurPredictor *p = v->p;

        g_return_val_if_fail (r < N_RES && s < N_SRC, FALSE);
        if (!v->have_slow || !v->cur_ok[s][r])
                return FALSE;
        if (ret_point)
                memcpy (ret_point, cur_at (p, v, s, r, 0), p->cfg.H * sizeof (float));
        if (ret_upper)
                memcpy (ret_upper, cur_at (p, v, s, r, 1), p->cfg.H * sizeof (float));
        return TRUE;
}
