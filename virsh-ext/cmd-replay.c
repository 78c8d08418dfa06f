/* cmd-replay.c — virt-augur replay: a trace through the daemon's policy.
 *
 * What it is: option parsing, trace loading, the replay (policy/replay.h)
 * with the real augur_policy_plan() (policy/policy.h), and printing.
 * What it is not: the forecaster or the metrics, which live in model/.
 *
 *   virt-augur replay --traces PATH [--format F] [--start T] [--max-series N]
 *                     [--policy augur|reactive|vpa|static] [--model MODEL]
 *                     [--slack-target S [--slack-tol T]] [--knob K]
 *                     [--curve FROM:TO:STEP] [--score-from F] [--score-to F]
 *                     [--step SEC] [--spikes FILE] [--out ALLOC.csv] [--json]
 *                     [--allow-train-overlap] [--no-pressure]
 *                     [--no-guard | --host-slack G]
 *   forecaster (augur): [--price P | --price 0 [--coverage C]] [--fixed-price]
 *                     [--passes N] [--sources model,last_value,...]
 *                     [--champion cost|pinball|mae] [--champion-knob K]
 *                     [--no-period] [--no-floor-held] [--model-floor]
 *                     [--no-model-gate] [--no-precursor-bound]
 *                     [--width-halflife S [--width-floor F]]
 *   measurement:      [--bound-stats RISE_PTS]
 *   policy (studies): [--policy-set KEY=VALUE]...
 *   I/O limits:       --io [--io-kinds ...] ... (cmd-replay-io.c)
 *
 * --slack-target tunes the policy's knob (augur: the policy's buffer;
 * reactive, vpa: h) by bisection until the pooled slack is within
 * --slack-tol (0.005) of S; --knob sets it instead; without either the
 * replay defaults apply (augur 1, vpa 0.15, reactive 0.2).  --curve runs
 * the tuning for every target FROM, FROM+STEP, ..., TO and prints one CSV
 * row each (forecasts computed once, price fixed).  --score-to exists to
 * evaluate design choices on a validation window (e.g. --score-from 0.6
 * --score-to 0.8) without touching the test part.
 *
 * The forecaster's memory bound is cost-aware by default here (--price 2
 * shortfall steps per GiB-step of buffer, champion.c COST-AWARE MARGIN;
 * chosen on Bitbrains' validation window, BENCHMARKS-replay.md).  With
 * --slack-target the price is then corrected (price / knob^2) and the
 * forecasts redone until the tuned buffer lies in [0.8, 1.25], at most
 * --passes (4) times; --fixed-price keeps it.  --price 0 gives the plain
 * conformal bound at --coverage (the daemon's default).
 *
 * --width-halflife makes the margins conditional (predictor.c CONDITIONAL
 * WIDTH; off by default, as in augurd).  --bound-stats adds how the memory
 * bound the policy read met the usage: pooled coverage and width, per VM
 * volatility decile, and at the steps whose usage rose by >= RISE_PTS
 * points of the provisioned size (policy/replay.c BOUND STATISTICS).
 *
 * The memory guard (policy/mem-guard.h) runs with augur as in augurd, on
 * by default (policy/replay.c THE MEMORY GUARD); --no-guard replays augur
 * as it was before it.  --host-slack G (0..1, default 0) is the guard's
 * host slack g, which augurd forecasts from the host's free memory and a
 * replay cannot: 0 = a host under pressure (the cushion under a shrink is
 * the VM's burst envelope), 1 = an idle host (at least half the VM's
 * provisioned size).
 *
 * A model must not have been trained on the scored steps: a model trained
 * with --split vm is refused when a replayed VM is in its training split;
 * with --split time (training = the first 60 % of each VM's grid, then
 * 20 % validation) --score-from must be >= 0.6 unless
 * --allow-train-overlap says the traces are not the training traces.
 */
#include "config.h"

#include "virt-augur.h"
#include "cmd-replay-io.h"
#include "io-forecast.h"
#include "cpu-weight-cli.h"
#include "trace.h"
#include "dataset.h"
#include "predictor.h"
#include "replay.h"
#include "policy.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
        const char *traces, *format, *start, *model_path, *out_path, *spikes_path, *curve;
        guint max_series;
        AugurReplayPolicy policy;
        double slack_target, slack_tol, knob, score_from, score_to;
        gboolean have_target, have_knob, no_pressure, no_period, allow_overlap, no_floor_held, model_floor;
        gboolean no_model_gate;          /* --no-model-gate                */
        gboolean no_guard;               /* --no-guard                     */
        gboolean have_host_slack;
        double host_slack;               /* --host-slack (0)               */
        gboolean no_precursor_bound;     /* --no-precursor-bound           */
        double coverage;                 /* 0 = the model's, else 0.95     */
        double width_halflife_s;         /* --width-halflife (0 = off)     */
        double width_floor;              /* --width-floor (< 0 = default)  */
        double rise_pts;                 /* --bound-stats (< 0 = none)     */
        double price;                    /* --price, shortfall steps per GiB */
        double champion_knob;            /* --champion-knob (1)            */
        guint passes;                    /* --passes (4)                   */
        gboolean fixed_price;            /* --fixed-price: no price passes */
        gboolean have_champion;
        const char *sources;             /* comma list of source names     */
        const char *const *policy_set;   /* "key=value" policy overrides   */
        gint64 step_s;
        AugurPredChampionMetric champion;
} ReplayOpts;

static gboolean
parse_num (const char *opt, const char *text, double lo, double hi, double *ret, int *ret_exit)
{
        char *end = NULL;
        double v = g_ascii_strtod (text, &end);

        if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
                *ret_exit = augur_cli_usage ("replay: %s: expected a number in [%g, %g], got '%s'",
                                             opt, lo, hi, text);
                return FALSE;
        }
        *ret = v;
        return TRUE;
}

/* Every option of replay.  The numbers' ranges are checked by the parser
 * (as g_ascii_strtod numbers: --step 300.0 and --max-series 2.0 are taken,
 * as they always were); the names and the rules between options below. */
/* The words of --champion, in AugurPredChampionMetric's order. */
static const char *const champion_words[] = { "pinball", "mae", "cost", NULL };
G_STATIC_ASSERT (AUGUR_PRED_CHAMPION_PINBALL == 0 && AUGUR_PRED_CHAMPION_MAE == 1 &&
                 AUGUR_PRED_CHAMPION_COST == 2);

static const AugurOptDef opts_replay[] = {
        { .name = "traces", .type = AUGUR_OPT_STRING, .flags = AUGUR_OPT_REQUIRED, .metavar = "PATH",
          .help = "the trace files to replay (a file or a directory)" },
        { .name = "format", .type = AUGUR_OPT_STRING, .metavar = "FORMAT",
          .help = "bitbrains, azure, augur, planetlab or alibaba (default: auto)" },
        { .name = "start", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "the first step's time for formats with relative timestamps" },
        { .name = "max-series", .type = AUGUR_OPT_DOUBLE, .metavar = "N", .min = 0, .max = G_MAXUINT,
          .help = "replay at most N series (default 0: all)" },
        { .name = "policy", .type = AUGUR_OPT_STRING, .metavar = "augur|reactive|vpa|static",
          .help = "augur (default): the daemon's own; reactive: the last usage times (1 + h); "
                  "vpa: a decaying p90 times (1 + h); static: the provisioned size" },
        { .name = "model", .type = AUGUR_OPT_STRING, .metavar = "MODEL",
          .help = "the forecaster's model (augur only; default: the baselines)" },
        { .name = "slack-target", .type = AUGUR_OPT_DOUBLE, .metavar = "S", .min = -0.5, .max = 100,
          .help = "tune the policy's knob by bisection until the pooled slack is S" },
        { .name = "slack-tol", .type = AUGUR_OPT_DOUBLE, .metavar = "T", .min = 1e-6, .max = 1,
          .help = "within this much of the target (default 0.005)" },
        { .name = "knob", .type = AUGUR_OPT_DOUBLE, .metavar = "K", .min = -0.99, .max = 1e6,
          .help = "set the knob instead (augur: the buffer, default 1; reactive 0.2, vpa 0.15)" },
        { .name = "curve", .type = AUGUR_OPT_STRING, .metavar = "FROM:TO:STEP",
          .help = "tune for every slack target FROM, FROM+STEP, ..., TO: one CSV row each" },
        { .name = "score-from", .type = AUGUR_OPT_DOUBLE, .metavar = "F", .min = 0, .max = 1,
          .help = "score each VM's time from this fraction on (default 0.8)" },
        { .name = "score-to", .type = AUGUR_OPT_DOUBLE, .metavar = "F", .min = 0, .max = 1,
          .help = "up to this fraction (default 1)" },
        { .name = "step", .type = AUGUR_OPT_DOUBLE, .metavar = "SEC", .min = 1, .max = 86400,
          .help = "the replay's step (default: the traces' median spacing)" },
        { .name = "spikes", .type = AUGUR_OPT_STRING, .metavar = "FILE",
          .help = "spike onsets (scripts/gen-scenarios): count the pre-provisioned ones" },
        { .name = "out", .type = AUGUR_OPT_STRING, .alias = 'o', .metavar = "ALLOC.csv",
          .help = "write vm,ts,mem_alloc_kib,vcpus for every step (- = standard output)" },
        { .name = "allow-train-overlap", .type = AUGUR_OPT_BOOL,
          .help = "the traces are not the model's training traces: score its training part too" },
        { .name = "no-pressure", .type = AUGUR_OPT_BOOL,
          .help = "do not simulate guest memory pressure" },
        { .name = "no-guard", .type = AUGUR_OPT_BOOL,
          .help = "replay augur without the memory guard" },
        { .name = "host-slack", .type = AUGUR_OPT_DOUBLE, .metavar = "G", .min = 0, .max = 1,
          .expect = "the host slack g in [0, 1] (0 = a host under pressure, 1 = an idle host)",
          .help = "the memory guard's host slack: 0 (default) a host under pressure, 1 an idle host" },
        { .name = "price", .type = AUGUR_OPT_DOUBLE, .metavar = "P", .min = 0, .max = 1e6,
          .help = "forecaster: shortfall steps one GiB-step of buffer is worth (default 2; "
                  "0 = the plain conformal bound at --coverage)" },
        { .name = "coverage", .type = AUGUR_OPT_DOUBLE, .metavar = "C", .min = 0.01, .max = 0.999,
          .help = "forecaster: the conformal bounds' coverage (default: the model's, else 0.95)" },
        { .name = "fixed-price", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: with --slack-target, keep the price (no correction passes)" },
        { .name = "passes", .type = AUGUR_OPT_DOUBLE, .metavar = "N", .min = 1, .max = 10,
          .help = "forecaster: at most N price corrections (default 4)" },
        { .name = "sources", .type = AUGUR_OPT_STRING, .metavar = "LIST",
          .help = "forecaster: the sources to run, from model, last_value, ewma, seasonal_naive, "
                  "mean_1h, ridge_ar (default: all but seasonal_naive)" },
        { .name = "champion", .type = AUGUR_OPT_CHOICE, .metavar = "pinball|mae|cost", .choices = champion_words,
          .help = "forecaster: how the champion source is chosen (default: cost with a price, "
                  "else pinball)" },
        { .name = "champion-knob", .type = AUGUR_OPT_DOUBLE, .metavar = "K", .min = 0, .max = 1e6,
          .help = "forecaster: the knob the champion's cost is judged at (default 1, or --knob)" },
        { .name = "no-period", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: no period detection" },
        { .name = "no-floor-held", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: slow forecasts may fall below the newest observed value" },
        { .name = "model-floor", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: raise a baseline champion's p50 and upper to the model's" },
        { .name = "no-model-gate", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: a demoted model no longer raises the champion's bound at its alarms" },
        { .name = "no-precursor-bound", .type = AUGUR_OPT_BOOL,
          .help = "forecaster: no precursor bound (typing, logins, staging, schedules)" },
        { .name = "width-halflife", .type = AUGUR_OPT_DOUBLE, .metavar = "S", .min = 0, .max = 1e7,
          .help = "forecaster: margins scale with a local scale of the series, an EW mean of its "
                  "step changes with this half-life in seconds (default 0: off)" },
        { .name = "width-floor", .type = AUGUR_OPT_DOUBLE, .metavar = "F", .min = 0, .max = 100,
          .help = "forecaster: the local scale is at least F times its day-long mean (default 0.25)" },
        { .name = "bound-stats", .type = AUGUR_OPT_DOUBLE, .metavar = "RISE_PTS", .min = 0, .max = 100,
          .help = "report the memory bound's coverage and width: pooled, per VM volatility decile, "
                  "and at rises of at least RISE_PTS points" },
        { .name = "io", .type = AUGUR_OPT_BOOL,
          .help = "replay the disk and interface limits instead (static cap, reactive raiser and augur "
                  "side by side: cmd-replay-io.c); the memory options are refused with it" },
        { .name = "io-kinds", .type = AUGUR_OPT_STRING, .metavar = "LIST",
          .help = "--io: the limits replayed, from total, read, write, net-in, net-out "
                  "(default read,write,net-in,net-out)" },
        { .name = "io-floor-q", .type = AUGUR_OPT_DOUBLE, .metavar = "Q", .min = 0.01, .max = 1,
          .help = "--io: the admin's cap is this quantile of the VM's training rates (default 0.9) ..." },
        { .name = "io-floor-mult", .type = AUGUR_OPT_DOUBLE, .metavar = "H", .min = 0.01, .max = 1e6,
          .help = "--io: ... times this headroom (default 1.5) ..." },
        { .name = "io-min-floor", .type = AUGUR_OPT_DOUBLE, .metavar = "MIB_S", .min = 1e-3, .max = 1e6,
          .help = "--io: ... and at least this (default 1 MiB/s)" },
        { .name = "io-ceiling-mult", .type = AUGUR_OPT_DOUBLE, .metavar = "M", .min = 1, .max = 1e6,
          .help = "--io: the ceiling is the training peak, at least M times the cap (default 2)" },
        { .name = "io-budget-frac", .type = AUGUR_OPT_DOUBLE, .metavar = "F", .min = 0, .max = 1e3,
          .help = "--io: the host budget is F times the sum of every limit's (ceiling - cap); "
                  "0 = none (default 0.25)" },
        { .name = "io-budget", .type = AUGUR_OPT_DOUBLE, .metavar = "MIB_S", .min = 1e-3, .max = 1e9,
          .help = "--io: the host budget in MiB/s instead" },
        { .name = "io-lead", .type = AUGUR_OPT_DOUBLE, .metavar = "STEPS", .min = 1,
          .max = AUGUR_IO_FORECAST_MAX_H, .help = "--io: augur's forecast look-ahead (default 1 step)" },
        { .name = "io-ring", .type = AUGUR_OPT_DOUBLE, .metavar = "STEPS", .min = 16, .max = 65536,
          .help = "--io: augur's forecaster ring (default the daemon's 512; it finds periods up to half of it)" },
        { .name = "io-no-backlog", .type = AUGUR_OPT_BOOL,
          .help = "--io: what a cap holds back is dropped, not carried into later steps" },
        { .name = "io-families", .type = AUGUR_OPT_STRING, .metavar = "FILE",
          .help = "--io: CSV vm,family (scripts/gen-scenarios --io-families): scores per family too" },
        { .name = "contended-host", .type = AUGUR_OPT_DOUBLE, .metavar = "Q", .min = 0.01, .max = 1,
          .help = "augur only: share one host, sized to the Q-quantile of the total CPU demand, among "
                  "the VMs and report the CPU shortfall of vCPU hotplug alone and with the CPU weight "
                  "(policy/replay-cpu.h)" },
        { .name = "policy-set", .type = AUGUR_OPT_STRV, .metavar = "KEY=VALUE",
          .help = "policy (studies): set a policy.h config field (repeatable): headroom_kib, "
                  "reserve_kib, lead_s, deadband_frac, shrink_step_kib, shrink_sustain_s, "
                  "shrink_cooldown_s, pin_frac, censored_grow_frac, target_util, saturated_util" },
        { NULL },
};

static const AugurCmdInfo info_replay = {
        .help = "replay a trace through the policy with simulated actuation",
        .desc = "Run a trace through the resize policy with simulated actuation and report what "
                "it would have cost: slack, shortfall fraction and volume, CPU shortfall, actions "
                "(and pre-provisioned spikes with --spikes).  A decision made with data up to "
                "step t is the allocation in force during step t+1.  With augur the memory guard "
                "runs as in augurd.  With --io the trace's disk and network rates run through "
                "augurd's I/O limit loop instead, against a static cap and a reactive raiser "
                "(virsh-ext/cmd-replay-io.c).  The options are described in virt-augur(1) and at the "
                "top of virsh-ext/cmd-replay.c.",
};

static int
parse_opts (ReplayOpts *o, const AugurCmdOpts *opts)
{
        g_autoptr (GError) error = NULL;
        const char *val;
        double d;
        guint w;

        o->traces = augur_cmd_opts_string (opts, "traces");
        o->format = augur_cmd_opts_string (opts, "format");
        o->start = augur_cmd_opts_string (opts, "start");
        o->model_path = augur_cmd_opts_string (opts, "model");
        o->out_path = augur_cmd_opts_string (opts, "out");
        o->spikes_path = augur_cmd_opts_string (opts, "spikes");
        o->curve = augur_cmd_opts_string (opts, "curve");
        o->sources = augur_cmd_opts_string (opts, "sources");
        o->policy_set = augur_cmd_opts_strv (opts, "policy-set");
        o->no_pressure = augur_cmd_opts_bool (opts, "no-pressure");
        o->no_period = augur_cmd_opts_bool (opts, "no-period");
        o->fixed_price = augur_cmd_opts_bool (opts, "fixed-price");
        o->no_floor_held = augur_cmd_opts_bool (opts, "no-floor-held");
        o->model_floor = augur_cmd_opts_bool (opts, "model-floor");
        o->no_model_gate = augur_cmd_opts_bool (opts, "no-model-gate");
        o->no_precursor_bound = augur_cmd_opts_bool (opts, "no-precursor-bound");
        o->no_guard = augur_cmd_opts_bool (opts, "no-guard");
        o->allow_overlap = augur_cmd_opts_bool (opts, "allow-train-overlap");
        if ((val = augur_cmd_opts_string (opts, "policy")) &&
            !augur_replay_policy_from_name (val, &o->policy, &error))
                return augur_cli_usage ("replay: --policy: %s", error->message);
        if (augur_cmd_opts_double (opts, "max-series", &d))
                o->max_series = (guint) d;
        o->have_target = augur_cmd_opts_double (opts, "slack-target", &o->slack_target);
        augur_cmd_opts_double (opts, "slack-tol", &o->slack_tol);
        o->have_knob = augur_cmd_opts_double (opts, "knob", &o->knob);
        augur_cmd_opts_double (opts, "score-from", &o->score_from);
        augur_cmd_opts_double (opts, "score-to", &o->score_to);
        if (augur_cmd_opts_double (opts, "step", &d))
                o->step_s = (gint64) d;
        augur_cmd_opts_double (opts, "coverage", &o->coverage);
        augur_cmd_opts_double (opts, "width-halflife", &o->width_halflife_s);
        augur_cmd_opts_double (opts, "width-floor", &o->width_floor);
        augur_cmd_opts_double (opts, "bound-stats", &o->rise_pts);
        augur_cmd_opts_double (opts, "champion-knob", &o->champion_knob);
        if (augur_cmd_opts_double (opts, "passes", &d))
                o->passes = (guint) d;
        augur_cmd_opts_double (opts, "price", &o->price);
        o->have_host_slack = augur_cmd_opts_double (opts, "host-slack", &o->host_slack);
        if (augur_cmd_opts_choice (opts, "champion", &w)) {
                o->champion = (AugurPredChampionMetric) w;
                o->have_champion = TRUE;
        }
        if (o->score_to <= o->score_from)
                return augur_cli_usage ("replay: --score-to must be above --score-from");
        if (o->rise_pts >= 0 && o->policy != AUGUR_REPLAY_AUGUR)
                return augur_cli_usage ("replay: --bound-stats only makes sense with --policy augur");
        if (o->model_path && o->policy != AUGUR_REPLAY_AUGUR)
                return augur_cli_usage ("replay: --model only makes sense with --policy augur");
        if ((o->have_target || o->curve) && o->policy == AUGUR_REPLAY_STATIC)
                return augur_cli_usage ("replay: the static policy has no knob to tune");
        if ((o->no_guard || o->have_host_slack) && o->policy != AUGUR_REPLAY_AUGUR)
                return augur_cli_usage ("replay: --no-guard and --host-slack only make sense with --policy augur "
                                        "(the memory guard is augur's)");
        if (o->no_guard && o->have_host_slack)
                return augur_cli_usage ("replay: --host-slack is the guard's: it means nothing with --no-guard");
        return -1;
}

/* --policy-set KEY=VALUE: the policy.h config fields a replay may change
 * (for studies; the defaults are augur_replay_config_init()'s). */
static const struct {
        const char *key;
        gsize offset;
} policy_keys[] = {
        { "headroom_kib", G_STRUCT_OFFSET (AugurPolicyConfig, headroom_kib) },
        { "reserve_kib", G_STRUCT_OFFSET (AugurPolicyConfig, reserve_kib) },
        { "lead_s", G_STRUCT_OFFSET (AugurPolicyConfig, lead_s) },
        { "deadband_frac", G_STRUCT_OFFSET (AugurPolicyConfig, deadband_frac) },
        { "shrink_step_kib", G_STRUCT_OFFSET (AugurPolicyConfig, shrink_step_kib) },
        { "shrink_sustain_s", G_STRUCT_OFFSET (AugurPolicyConfig, shrink_sustain_s) },
        { "shrink_cooldown_s", G_STRUCT_OFFSET (AugurPolicyConfig, shrink_cooldown_s) },
        { "pin_frac", G_STRUCT_OFFSET (AugurPolicyConfig, pin_frac) },
        { "censored_grow_frac", G_STRUCT_OFFSET (AugurPolicyConfig, censored_grow_frac) },
        { "target_util", G_STRUCT_OFFSET (AugurPolicyConfig, target_util) },
        { "saturated_util", G_STRUCT_OFFSET (AugurPolicyConfig, saturated_util) },
};

static int
apply_policy_set (AugurPolicyConfig *pc, const char *const *sets)
{
        for (guint i = 0; sets[i]; i++) {
                const char *kv = sets[i];
                const char *eq = strchr (kv, '=');
                gboolean found = FALSE;
                char *end = NULL;
                double v;

                if (!eq)
                        return augur_cli_usage ("replay: --policy-set expects KEY=VALUE, got '%s'", kv);
                v = g_ascii_strtod (eq + 1, &end);
                if (end == eq + 1 || *end != '\0' || !isfinite (v))
                        return augur_cli_usage ("replay: --policy-set %s: not a number", kv);
                for (gsize k = 0; k < G_N_ELEMENTS (policy_keys); k++) {
                        if (strlen (policy_keys[k].key) == (gsize) (eq - kv)
                            && strncmp (policy_keys[k].key, kv, eq - kv) == 0) {
                                G_STRUCT_MEMBER (double, pc, policy_keys[k].offset) = v;
                                found = TRUE;
                        }
                }
                if (!found)
                        return augur_cli_usage ("replay: --policy-set: unknown key in '%s'", kv);
        }
        return -1;
}

/* --sources model,last_value,...: the slow-path sources to run. */
static int
parse_sources (const char *list, guint *ret_mask)
{
        g_auto (GStrv) names = g_strsplit (list, ",", -1);
        guint mask = 0;

        for (guint i = 0; names[i]; i++) {
                gboolean found = FALSE;

                if (strcmp (names[i], "model") == 0) {
                        mask |= 1u << AUGUR_PRED_SRC_MODEL;
                        continue;
                }
                for (int b = 0; b < AUGUR_BL_N; b++)
                        if (strcmp (names[i], augur_baseline_name ((AugurBaselineKind) b)) == 0) {
                                mask |= 1u << (b + 1);
                                found = TRUE;
                        }
                if (!found)
                        return augur_cli_usage ("replay: --sources: unknown source '%s' (model, last_value, "
                                                "ewma, seasonal_naive, mean_1h, ridge_ar)", names[i]);
        }
        *ret_mask = mask;
        return -1;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
        gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

        return (x > y) - (x < y);
}

/* Median spacing of the rows of every series, s (300 for Bitbrains). */
static gint64
median_step (const GPtrArray *series)
{
        g_autoptr (GArray) dt = g_array_new (FALSE, FALSE, sizeof (gint64));

        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                for (gsize k = 1; k < s->n; k++) {
                        gint64 d = s->ts[k] - s->ts[k - 1];

                        g_array_append_val (dt, d);
                }
        }
        if (dt->len == 0)
                return AUGUR_FEAT_DEFAULT_STEP_S;
        g_array_sort (dt, cmp_i64);
        return MAX (1, g_array_index (dt, gint64, dt->len / 2));
}

static void
write_row (const char *vm, gint64 ts, double mem_alloc_kib, int vcpus, gpointer user_data)
{
        FILE *f = user_data;
        gboolean quote = strpbrk (vm, ",\"\n\r") != NULL;

        if (quote) {
                fputc ('"', f);
                for (const char *c = vm; *c; c++) {
                        if (*c == '"')
                                fputc ('"', f);
                        fputc (*c, f);
                }
                fputc ('"', f);
        } else {
                fputs (vm, f);
        }
        if (isnan (mem_alloc_kib))
                fprintf (f, ",%" G_GINT64_FORMAT ",,%d\n", ts, vcpus);
        else
                fprintf (f, ",%" G_GINT64_FORMAT ",%.0f,%d\n", ts, mem_alloc_kib, vcpus);
}

static void
append_json_num (GString *s, const char *key, double v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_string_append_printf (s, ",\"%s\":", key);
        if (!isfinite (v))
                g_string_append (s, "null");
        else
                g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

/* ,"key":"text" with the JSON string escapes (a path may hold anything). */
static void
append_json_str (GString *s, const char *key, const char *text)
{
        g_string_append_printf (s, ",\"%s\":\"", key);
        for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
                if (*c == '"' || *c == '\\')
                        g_string_append_printf (s, "\\%c", *c);
                else if (*c < 0x20)
                        g_string_append_printf (s, "\\u%04x", *c);
                else
                        g_string_append_c (s, (char) *c);
        }
        g_string_append_c (s, '"');
}

static void
print_result (const AugurCliGlobal *g, const AugurReplayResult *res, gint64 step_s,
              const char *model, AugurPredictor *pred, gboolean spikes)
{
        double price = pred ? augur_predictor_config (pred)->price_per_gib : NAN;

        if (g->json) {
                g_autoptr (GString) s = g_string_new (NULL);
                gboolean first = TRUE;

                g_string_append_printf (s, "{\"policy\":\"%s\",\"steps\":%" G_GUINT64_FORMAT,
                                        augur_replay_policy_name (res->policy), res->steps);
                append_json_num (s, "slack", res->slack);
                append_json_num (s, "shortfall_frac", res->shortfall_frac);
                append_json_num (s, "shortfall_volume", res->shortfall_volume);
                append_json_num (s, "cpu_shortfall_frac", res->cpu_shortfall_frac);
                g_string_append_printf (s, ",\"actions\":%" G_GUINT64_FORMAT, res->actions);
                append_json_num (s, "knob", res->knob);
                g_string_append_printf (s, ",\"mem_actions\":%" G_GUINT64_FORMAT ",\"cpu_actions\":%"
                                        G_GUINT64_FORMAT ",\"vms\":%" G_GUINT64_FORMAT ",\"step_s\":%"
                                        G_GINT64_FORMAT, res->mem_actions, res->cpu_actions, res->vms, step_s);
                g_string_append_printf (s, ",\"guard\":%s", res->guard ? "true" : "false");
                append_json_num (s, "host_slack", res->host_slack);
                if (res->guard)
                        g_string_append_printf (s, ",\"guard_events\":%" G_GUINT64_FORMAT ",\"guard_held_steps\":%"
                                                G_GUINT64_FORMAT ",\"guard_grows\":%" G_GUINT64_FORMAT,
                                                res->guard_events, res->guard_held_steps, res->guard_grows);
                if (model)
                        append_json_str (s, "model", model);
                if (pred) {
                        append_json_num (s, "price", price);
                        g_string_append (s, ",\"served\":{");
                        for (int k = 0; k <= AUGUR_PRED_SRC_N; k++) {
                                if (!res->served[k])
                                        continue;
                                g_string_append_printf (s, "%s\"%s\":%" G_GUINT64_FORMAT, first ? "" : ",",
                                                        k < AUGUR_PRED_SRC_N
                                                        ? augur_predictor_source_name (pred, (AugurPredSource) k)
                                                        : "none", res->served[k]);
                                first = FALSE;
                        }
                        g_string_append_printf (s, "},\"fast_raised\":%" G_GUINT64_FORMAT ",\"model_raised\":%"
                                                G_GUINT64_FORMAT ",\"precursor_raised\":{", res->fast_raised,
                                                res->model_raised);
                        for (int c = 0; c < AUGUR_PREC_N; c++)
                                g_string_append_printf (s, "%s\"%s\":%" G_GUINT64_FORMAT, c ? "," : "",
                                                        augur_precursor_context_name (c), res->precursor_raised[c]);
                        g_string_append_c (s, '}');
                }
                if (spikes) {
                        g_string_append_printf (s, ",\"spikes\":%" G_GUINT64_FORMAT ",\"spikes_preprovisioned\":%"
                                                G_GUINT64_FORMAT, res->spikes, res->spikes_ok);
                        append_json_num (s, "spikes_preprovisioned_frac",
                                         res->spikes ? (double) res->spikes_ok / res->spikes : NAN);
                        g_string_append_printf (s, ",\"spikes_precursor\":%" G_GUINT64_FORMAT
                                                ",\"spikes_precursor_preprovisioned\":%" G_GUINT64_FORMAT
                                                ",\"spikes_cpu_preprovisioned\":%" G_GUINT64_FORMAT,
                                                res->spikes_precursor, res->spikes_precursor_ok, res->spikes_cpu_ok);
                        g_string_append (s, ",\"spikes_by_kind\":{");
                        for (guint k = 0; k < res->n_kinds; k++)
                                g_string_append_printf (s, "%s\"%s\":{\"spikes\":%" G_GUINT64_FORMAT
                                                        ",\"preprovisioned\":%" G_GUINT64_FORMAT "}",
                                                        k ? "," : "", res->kinds[k].name, res->kinds[k].spikes,
                                                        res->kinds[k].ok);
                        g_string_append_c (s, '}');
                }
                g_string_append (s, "}\n");
                fputs (s->str, stdout);
                return;
        }
        g_print ("policy %s, knob %g, %" G_GUINT64_FORMAT " VMs, %" G_GUINT64_FORMAT
                 " scored steps of %" G_GINT64_FORMAT " s%s%s\n",
                 augur_replay_policy_name (res->policy), res->knob, res->vms, res->steps, step_s,
                 model ? ", model " : "", model ? model : "");
        g_print ("  slack               %8.4f\n", res->slack);
        g_print ("  shortfall fraction  %8.4f\n", res->shortfall_frac);
        g_print ("  shortfall volume    %8.4f\n", res->shortfall_volume);
        g_print ("  CPU shortfall       %8.4f  (%" G_GUINT64_FORMAT " steps)\n", res->cpu_shortfall_frac,
                 res->cpu_steps);
        g_print ("  actions             %8" G_GUINT64_FORMAT "  (memory %" G_GUINT64_FORMAT ", vCPUs %"
                 G_GUINT64_FORMAT ")\n", res->actions, res->mem_actions, res->cpu_actions);
        if (res->guard)
                g_print ("  memory guard        host slack %g: %" G_GUINT64_FORMAT " out-of-memory events, %"
                         G_GUINT64_FORMAT " decisions under a hold, %" G_GUINT64_FORMAT " grows for the "
                         "cushion or a hold\n", res->host_slack, res->guard_events, res->guard_held_steps,
                         res->guard_grows);
        else if (res->policy == AUGUR_REPLAY_AUGUR)
                g_print ("  memory guard        off (--no-guard)\n");
        if (pred) {
                g_print ("  price               %8.4g  (shortfall steps per GiB-step of buffer)\n", price);
                g_print ("  served (memory)    ");
                for (int k = 0; k <= AUGUR_PRED_SRC_N; k++)
                        if (res->served[k])
                                g_print (" %s %" G_GUINT64_FORMAT, k < AUGUR_PRED_SRC_N
                                         ? augur_predictor_source_name (pred, (AugurPredSource) k) : "none",
                                         res->served[k]);
                g_print ("; fast path raised the bound on %" G_GUINT64_FORMAT ", the gated model on %"
                         G_GUINT64_FORMAT, res->fast_raised, res->model_raised);
                for (int c = 0; c < AUGUR_PREC_N; c++)
                        g_print (", %s on %" G_GUINT64_FORMAT, augur_precursor_context_name (c),
                                 res->precursor_raised[c]);
                g_print ("\n");
        }
        if (spikes)
                g_print ("  spikes pre-provisioned %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " (%.1f %%); "
                         "with precursor %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "; CPU %" G_GUINT64_FORMAT "\n",
                         res->spikes_ok, res->spikes, res->spikes ? 100.0 * res->spikes_ok / res->spikes : 0.0,
                         res->spikes_precursor_ok, res->spikes_precursor, res->spikes_cpu_ok);
        for (guint k = 0; spikes && k < res->n_kinds; k++)
                g_print ("    %-16s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\n", res->kinds[k].name,
                         res->kinds[k].ok, res->kinds[k].spikes);
}

static void
append_cover (GString *s, const char *sep, const char *key, const AugurReplayCover *c)
{
        g_string_append_printf (s, "%s\"%s\":{\"n\":%" G_GUINT64_FORMAT, sep, key, c->n);
        append_json_num (s, "coverage", c->n ? (double) c->covered / c->n : NAN);
        append_json_num (s, "width_pts", c->n ? c->width_pts : NAN);
        g_string_append_c (s, '}');
}

/* --bound-stats: one JSON line after the result's, or a table. */
static void
print_bound_stats (const AugurCliGlobal *g, const AugurReplayBoundStats *b)
{
        if (g->json) {
                g_autoptr (GString) s = g_string_new ("{\"bound_stats\":{");

                append_cover (s, "", "all", &b->all);
                g_string_append_printf (s, ",\"rise_pts\":%g", b->rise_pts);
                append_cover (s, ",", "rise", &b->rise);
                g_string_append (s, ",\"deciles\":[");
                for (int d = 0; d < AUGUR_REPLAY_DECILES; d++) {
                        const AugurReplayCover *c = &b->decile[d];

                        g_string_append_printf (s, "%s{\"n\":%" G_GUINT64_FORMAT, d ? "," : "", c->n);
                        append_json_num (s, "vol_pts", b->decile_vol_pts[d]);
                        append_json_num (s, "coverage", c->n ? (double) c->covered / c->n : NAN);
                        append_json_num (s, "width_pts", c->n ? c->width_pts : NAN);
                        g_string_append_c (s, '}');
                }
                g_string_append (s, "]}}\n");
                fputs (s->str, stdout);
                return;
        }
        g_print ("  memory bound (h = 1) coverage %.4f, mean width %.2f points (%" G_GUINT64_FORMAT " steps)\n",
                 b->all.n ? (double) b->all.covered / b->all.n : NAN, b->all.width_pts, b->all.n);
        g_print ("    at rises >= %g points: coverage %.4f, width %.2f (%" G_GUINT64_FORMAT " steps)\n",
                 b->rise_pts, b->rise.n ? (double) b->rise.covered / b->rise.n : NAN, b->rise.width_pts,
                 b->rise.n);
        for (int d = 0; d < AUGUR_REPLAY_DECILES; d++)
                g_print ("    volatility decile %2d (%.2f points/step): coverage %.4f, width %.2f (%"
                         G_GUINT64_FORMAT " steps)\n", d + 1, b->decile_vol_pts[d],
                         b->decile[d].n ? (double) b->decile[d].covered / b->decile[d].n : NAN,
                         b->decile[d].width_pts, b->decile[d].n);
}

/* Refuse a model that saw the scored steps (see the header comment). */
static int
check_overlap (const ReplayOpts *o, const AugurModel *m, const GPtrArray *series)
{
        if (o->allow_overlap)
                return -1;
        if (m->split == AUGUR_SPLIT_BY_VM) {
                for (guint i = 0; i < series->len; i++) {
                        const AugurSeries *s = g_ptr_array_index (series, i);

                        if (augur_dataset_vm_split (s->vm) == AUGUR_SPLIT_TRAIN)
                                return augur_cli_error ("replay: %s was trained with --split vm and VM '%s' is in "
                                                        "its training split (use --allow-train-overlap if these "
                                                        "are not the training traces)", o->model_path, s->vm);
                }
                return -1;
        }
        if (o->score_from < 1.0 - AUGUR_SPLIT_TEST_FRAC - AUGUR_SPLIT_VAL_FRAC - 1e-9)
                return augur_cli_error ("replay: %s was trained on the first %.0f %% of each VM (--split time): "
                                        "--score-from must be >= %.2f (use --allow-train-overlap if these are "
                                        "not the training traces)", o->model_path,
                                        100 * (1.0 - AUGUR_SPLIT_TEST_FRAC - AUGUR_SPLIT_VAL_FRAC),
                                        1.0 - AUGUR_SPLIT_TEST_FRAC - AUGUR_SPLIT_VAL_FRAC);
        return -1;
}

static int
run_curve (const AugurCliGlobal *g, const ReplayOpts *o, AugurReplay *r, AugurReplayConfig *cfg)
{
        g_auto (GStrv) parts = g_strsplit (o->curve, ":", -1);
        double from, to, step;
        int ex = -1;

        if (g_strv_length (parts) != 3 || !parse_num ("--curve", parts[0], -0.5, 100, &from, &ex)
            || !parse_num ("--curve", parts[1], -0.5, 100, &to, &ex)
            || !parse_num ("--curve", parts[2], 1e-4, 100, &step, &ex))
                return ex >= 0 ? ex : augur_cli_usage ("replay: --curve FROM:TO:STEP");
        g_print ("policy,slack_target,knob,slack,shortfall_frac,shortfall_volume,cpu_shortfall_frac,actions,steps,reached,"
                 "guard,host_slack,guard_events\n");
        for (int k = 0; from + k * step <= to + 1e-9; k++) {
                double target = from + k * step;
                AugurReplayResult res;
                g_autoptr (GError) error = NULL;
                gboolean ok = augur_replay_tune (r, cfg, target, o->slack_tol, &res, &error);

                if (!ok && !g_error_matches (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_TARGET))
                        return augur_cli_error ("%s", error->message);
                g_print ("%s,%.4f,%.6g,%.6f,%.6f,%.6f,%.6f,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s,%s,",
                         augur_replay_policy_name (cfg->policy), target, res.knob, res.slack, res.shortfall_frac,
                         res.shortfall_volume, res.cpu_shortfall_frac, res.actions, res.steps, ok ? "yes" : "no",
                         res.guard ? "on" : "off");
                if (res.guard)
                        g_print ("%g,%" G_GUINT64_FORMAT "\n", res.host_slack, res.guard_events);
                else
                        g_print (",\n");
        }
        return 0;
}

static int
cmd_replay (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        ReplayOpts o = { 0 };
        AugurTraceFormat fmt;
        AugurTraceOpts topts = { 0 };
        AugurTraceStats stats = { 0 };
        AugurReplayConfig cfg;
        AugurReplayResult res;
        AugurPredictorConfig pcfg;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (AugurPredictor) pred = NULL;
        g_autoptr (AugurReplay) r = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        gint64 step_s;
        double contended_q;
        int ex;

        o.policy = AUGUR_REPLAY_AUGUR;
        o.slack_tol = 0.005;
        o.score_from = 0.8;
        o.score_to = 1.0;
        o.champion = AUGUR_PRED_CHAMPION_PINBALL;
        o.price = 2.0;
        o.champion_knob = 1.0;
        o.passes = 4;
        o.width_floor = -1;
        o.rise_pts = -1;
        ex = parse_opts (&o, opts);
        if (ex >= 0)
                return ex;

        if (!augur_trace_format_from_name (o.format, &fmt, &error))
                return augur_cli_usage ("replay: %s", error->message);
        if (o.start) {
                if (!augur_parse_time_s (o.start, &topts.start_s, &error))
                        return augur_cli_usage ("replay: --start: %s", error->message);
                topts.start_set = TRUE;
        }
        topts.max_series = o.max_series;
        series = augur_trace_read (o.traces, fmt, &topts, &stats, &error);
        if (!series)
                return augur_cli_error ("%s", error->message);
        step_s = o.step_s ? o.step_s : median_step (series);
        if (augur_cmd_opts_bool (opts, "io"))
                return augur_cmd_replay_io (g, opts_replay, opts, series, step_s);

        if (o.model_path) {
                model = augur_model_load (o.model_path, &error);
                if (!model)
                        return augur_cli_error ("%s", error->message);
                ex = check_overlap (&o, model, series);
                if (ex >= 0)
                        return ex;
        }
        augur_predictor_config_init (&pcfg);
        if (o.policy == AUGUR_REPLAY_AUGUR) {
                pcfg.tick_s = (double) step_s;
                pcfg.champion_metric = o.champion;
                if (o.no_period)
                        pcfg.period_min_acf = INFINITY;
                if (model)
                        pcfg.coverage = model->coverage;
                if (o.coverage > 0)
                        pcfg.coverage = (float) o.coverage;
                pcfg.floor_held = !o.no_floor_held;
                pcfg.model_floor = o.model_floor;
                pcfg.model_gate = !o.no_model_gate;
                pcfg.precursor_bound = !o.no_precursor_bound;
                pcfg.width_halflife_s = o.width_halflife_s;
                if (o.width_floor >= 0)
                        pcfg.width_floor_frac = (float) o.width_floor;
                pcfg.price_per_gib = o.price;
                if (!o.have_champion && o.price > 0)
                        pcfg.champion_metric = AUGUR_PRED_CHAMPION_COST;
                if (o.sources) {
                        guint mask = 0;

                        ex = parse_sources (o.sources, &mask);
                        if (ex >= 0)
                                return ex;
                        pcfg.sources = mask;
                        if (!((mask >> pcfg.cold_source) & 1))
                                pcfg.cold_source = (AugurPredSource) (g_bit_nth_lsf (mask & ~1u, -1) > 0
                                                                      ? g_bit_nth_lsf (mask & ~1u, -1)
                                                                      : AUGUR_PRED_SRC_LAST_VALUE);
                }
                pcfg.champion_knob = o.have_knob ? o.knob : o.champion_knob;
        }
        augur_replay_config_init (&cfg, o.policy, step_s);
        cfg.score_from = o.score_from;
        cfg.score_to = o.score_to;
        cfg.simulate_pressure = !o.no_pressure;
        cfg.guard = !o.no_guard;
        if (o.have_host_slack)
                cfg.host_slack = o.host_slack;
        if (o.have_knob)
                cfg.knob = o.knob;
        ex = apply_policy_set (&cfg.pcfg, o.policy_set);
        if (ex >= 0)
                return ex;

        /* With a price (cost-aware bounds and the cost champion), the
         * forecaster's bound is already the trade-off between shortfall and
         * slack at that price; the knob that hits the target slack then
         * says how wrong the price was (knob > 1: memory is cheaper than
         * priced).  So after tuning, the price is corrected by knob^-2 and
         * the forecasts are redone, at most `passes` times, until the knob
         * lies in [0.8, 1.25].  The champion's cost is judged at knob 1
         * (the policy's default buffer), the price carrying the trade-off. */
        for (guint pass = 0; pass < MAX (1u, o.passes); pass++) {
                g_clear_pointer (&r, augur_replay_free);
                g_clear_pointer (&pred, augur_predictor_free);
                if (o.policy == AUGUR_REPLAY_AUGUR) {
                        pred = augur_predictor_new (model, &pcfg, &error);
                        if (!pred)
                                return augur_cli_error ("%s", error->message);
                }
                r = augur_replay_new (series, step_s, pred, &error);
                if (!r)
                        return augur_cli_error ("%s", error->message);
                if (!g->json && pred)
                        g_printerr ("Replaying %u VMs at a %" G_GINT64_FORMAT " s step (forecasts: %.1f s, "
                                    "price %g)\n", augur_replay_n_vms (r), step_s,
                                    g_timer_elapsed (timer, NULL), pcfg.price_per_gib);
                else if (!g->json)
                        g_printerr ("Replaying %u VMs at a %" G_GINT64_FORMAT " s step\n",
                                    augur_replay_n_vms (r), step_s);
                if (o.spikes_path) {
                        guint ignored = 0;

                        if (!augur_replay_load_spikes (r, o.spikes_path, &ignored, &error))
                                return augur_cli_error ("%s", error->message);
                        if (ignored && !g->json && pass == 0)
                                g_printerr ("%u spike onsets name no replayed step, ignored\n", ignored);
                }
                if (o.curve)
                        return run_curve (g, &o, r, &cfg);
                if (!o.have_target)
                        break;
                g_clear_error (&error);
                if (!augur_replay_tune (r, &cfg, o.slack_target, o.slack_tol, &res, &error)) {
                        if (!g_error_matches (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_TARGET))
                                return augur_cli_error ("%s", error->message);
                        g_printerr ("warning: %s; reporting the closest knob\n", error->message);
                }
                if (o.policy != AUGUR_REPLAY_AUGUR || pcfg.price_per_gib <= 0 || o.fixed_price
                    || (cfg.knob >= 0.8 && cfg.knob <= 1.25) || pass + 1 >= o.passes)
                        break;
                pcfg.price_per_gib /= CLAMP (cfg.knob * cfg.knob, 1.0 / 30, 30.0);
                pcfg.price_per_gib = CLAMP (pcfg.price_per_gib, 1e-4, 1e4);
        }
        if (o.out_path) {
                FILE *f = strcmp (o.out_path, "-") == 0 ? stdout : fopen (o.out_path, "w");

                if (!f)
                        return augur_cli_error ("%s: %s", o.out_path, g_strerror (errno));
                fputs ("vm,ts,mem_alloc_kib,vcpus\n", f);
                augur_replay_run (r, &cfg, &res, write_row, f);
                if ((f != stdout && fclose (f) != 0) || (f == stdout && fflush (f) != 0))
                        return augur_cli_error ("%s: write failed: %s", o.out_path, g_strerror (errno));
        } else {
                augur_replay_run (r, &cfg, &res, NULL, NULL);
        }
        print_result (g, &res, step_s, o.model_path, pred, o.spikes_path != NULL);
        if (o.rise_pts >= 0) {
                AugurReplayBoundStats bs;

                augur_replay_bound_stats (r, &cfg, o.rise_pts, &bs);
                print_bound_stats (g, &bs);
        }
        if (augur_cmd_opts_double (opts, "contended-host", &contended_q) &&
            !augur_cli_replay_cpu (g, r, &cfg, contended_q))
                return 1;
        return 0;
}

const AugurCmdDef augur_cmds_replay[] = {
        { "replay", cmd_replay, opts_replay, &info_replay },
        { NULL },
};
