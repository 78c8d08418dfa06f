/* cmd-replay-io.c — `virt-augur replay --io`: the disk and interface
 * limits of a trace through augurd's I/O limit loop (policy/replay-io.h),
 * the static cap, the reactive raiser and augur side by side.
 *
 * What it is: the --io options' meaning, the three runs and the printing.
 * The options themselves are rows of replay's one table (cmd-replay.c),
 * which reads the trace and hands it here.  What it is not: the replay or
 * its metrics (policy/replay-io.c has both, with the caps and the
 * simulated guest).
 *
 *   virt-augur replay --traces PATH --io [--io-kinds read,write,net-in,net-out]
 *                     [--io-floor-q Q] [--io-floor-mult H] [--io-min-floor MIB_S]
 *                     [--io-ceiling-mult M]
 *                     [--io-budget-frac F | --io-budget MIB_S]
 *                     [--io-lead STEPS] [--io-ring STEPS] [--io-no-backlog]
 *                     [--io-families FILE] [--score-from F] [--score-to F]
 *                     [--step SEC] [--json]
 *
 * Every other option of replay (--policy, --model, --knob, the tuning,
 * --spikes, --out, the forecaster's and the guard's: memory and vCPUs)
 * means nothing here and is refused with --io.
 */
#include "config.h"

#include "cmd-replay-io.h"
#include "cli-json.h"
#include "replay-io.h"
#include "io-forecast.h"

#include <math.h>
#include <string.h>

#define MIB 1048576.0

/* replay's options that mean the same with --io (reading the trace, the
 * scored part); with the --io-* ones, the only ones it takes. */
static const char *const shared_opts[] = {
        "traces", "format", "start", "max-series", "step", "score-from", "score-to",
};

static gboolean
io_option (const char *name)
{
        if (g_str_has_prefix (name, "io"))
                return TRUE;
        for (gsize i = 0; i < G_N_ELEMENTS (shared_opts); i++)
                if (strcmp (name, shared_opts[i]) == 0)
                        return TRUE;
        return FALSE;
}

/* --io-kinds read,write,...: the kinds replayed, each with trace columns. */
static int
parse_kinds (const char *list, guint *ret)
{
        g_auto (GStrv) names = g_strsplit (list, ",", -1);
        guint mask = 0;

        for (guint i = 0; names[i]; i++) {
                AugurIoKind k = augur_io_kind_from_name (g_strstrip (names[i]));
                const char *short_name = names[i];

                /* the audit names are "io-read", "io-write", "io-total":
                 * the bare words are taken too */
                if (k == AUGUR_IO_KIND_N) {
                        g_autofree char *io = g_strconcat ("io-", short_name, NULL);

                        k = augur_io_kind_from_name (io);
                }
                if (k == AUGUR_IO_KIND_N || !augur_io_replay_kind_has_column (k))
                        return augur_cli_usage ("replay: --io-kinds: '%s' is not a kind a trace has a column for "
                                                "(total, read, write, net-in, net-out)", names[i]);
                mask |= 1u << k;
        }
        if (!mask)
                return augur_cli_usage ("replay: --io-kinds: no kind given");
        *ret = mask;
        return -1;
}

static int
parse_io_opts (const AugurOptDef *defs, const AugurCmdOpts *opts, AugurIoReplayConfig *cfg,
               const char **ret_families)
{
        const char *val;
        double d;
        int ex;

        for (const AugurOptDef *o = defs; o->name; o++)
                if (!io_option (o->name) && augur_cmd_opts_has (opts, o->name))
                        return augur_cli_usage ("replay: --%s is a memory option: it means nothing with --io",
                                                o->name);
        if (augur_cmd_opts_has (opts, "io-budget") && augur_cmd_opts_has (opts, "io-budget-frac"))
                return augur_cli_usage ("replay: --io-budget and --io-budget-frac are two ways to set one budget");
        if ((val = augur_cmd_opts_string (opts, "io-kinds")) && (ex = parse_kinds (val, &cfg->kinds)) >= 0)
                return ex;
        augur_cmd_opts_double (opts, "score-from", &cfg->score_from);
        augur_cmd_opts_double (opts, "score-to", &cfg->score_to);
        augur_cmd_opts_double (opts, "io-floor-q", &cfg->floor_q);
        augur_cmd_opts_double (opts, "io-floor-mult", &cfg->floor_mult);
        if (augur_cmd_opts_double (opts, "io-min-floor", &d))
                cfg->min_floor_bps = d * MIB;
        augur_cmd_opts_double (opts, "io-ceiling-mult", &cfg->ceiling_mult);
        augur_cmd_opts_double (opts, "io-budget-frac", &cfg->budget_frac);
        if (augur_cmd_opts_double (opts, "io-budget", &d))
                cfg->budget_bps = d * MIB;
        if (augur_cmd_opts_double (opts, "io-lead", &d))
                cfg->lead_steps = (guint) d;
        if (augur_cmd_opts_double (opts, "io-ring", &d))
                cfg->ring_len = (guint) d;
        cfg->backlog = !augur_cmd_opts_bool (opts, "io-no-backlog");
        *ret_families = augur_cmd_opts_string (opts, "io-families");
        return -1;
}

static double
frac (guint64 num, guint64 den)
{
        return den ? (double) num / (double) den : NAN;
}

/* The mean delay of a byte, s (replay-io.c METRICS: backlog). */
static double
delay_s (const AugurIoReplayScore *s)
{
        return s->demand_mib > 0 ? s->backlog_mib_s / s->demand_mib : NAN;
}

static void
json_score (JsonBuilder *b, const AugurIoReplayScore *s, double budget_mib, gint64 step_s)
{
        augur_cli_json_count (b, "limits", (gint64) s->limits);
        augur_cli_json_count (b, "steps", (gint64) s->steps);
        augur_cli_json_count (b, "bursts", (gint64) s->bursts);
        augur_cli_json_count (b, "burst_steps", (gint64) s->burst_steps);
        augur_cli_json_count (b, "burst_served", (gint64) s->burst_served);
        augur_cli_json_num (b, "served_frac", frac (s->burst_served, s->burst_steps));
        augur_cli_json_num (b, "burst_bytes_served_frac", s->burst_mib > 0 ? s->burst_served_mib / s->burst_mib : NAN);
        augur_cli_json_count (b, "capped_steps", (gint64) s->capped_steps);
        augur_cli_json_count (b, "capped_s", (gint64) s->capped_steps * step_s);
        augur_cli_json_num (b, "capped_s_per_burst", s->bursts ? (double) s->capped_steps * step_s / s->bursts : NAN);
        augur_cli_json_num (b, "raise_mib", s->raise_mib);
        augur_cli_json_num (b, "raise_of_budget", budget_mib > 0 ? s->raise_mib / budget_mib : NAN);
        augur_cli_json_num (b, "demand_mib", s->demand_mib);
        augur_cli_json_num (b, "delay_s", delay_s (s));
        augur_cli_json_count (b, "raises", (gint64) s->raises);
        augur_cli_json_count (b, "forecast_steps", (gint64) s->forecast_steps);
}

static void
print_json (const AugurIoReplayResult *res, guint n_limits, const AugurIoReplayConfig *cfg)
{
        g_autoptr (JsonBuilder) b = json_builder_new ();

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "io");
        json_builder_add_boolean_value (b, TRUE);
        augur_cli_json_count (b, "step_s", res[0].step_s);
        augur_cli_json_count (b, "limits", n_limits);
        augur_cli_json_num (b, "floor_q", cfg->floor_q);
        augur_cli_json_num (b, "floor_mult", cfg->floor_mult);
        augur_cli_json_num (b, "min_floor_mib_s", cfg->min_floor_bps / MIB);
        augur_cli_json_num (b, "ceiling_mult", cfg->ceiling_mult);
        augur_cli_json_num (b, "budget_mib_s", res[0].budget_bps / MIB);
        augur_cli_json_count (b, "lead_steps", cfg->lead_steps);
        augur_cli_json_count (b, "ring_len", cfg->ring_len);
        json_builder_set_member_name (b, "backlog");
        json_builder_add_boolean_value (b, cfg->backlog);
        augur_cli_json_num (b, "score_from", cfg->score_from);
        augur_cli_json_num (b, "score_to", cfg->score_to);
        json_builder_set_member_name (b, "policies");
        json_builder_begin_object (b);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++) {
                const AugurIoReplayResult *r = &res[p];

                json_builder_set_member_name (b, augur_io_replay_policy_name (p));
                json_builder_begin_object (b);
                json_score (b, &r->all, r->budget_mib, r->step_s);
                augur_cli_json_num (b, "budget_mib", r->budget_mib);
                augur_cli_json_num (b, "peak_raise_mib_s", r->peak_raise_bps / MIB);
                augur_cli_json_count (b, "over_budget_steps", (gint64) r->over_budget_steps);
                augur_cli_json_count (b, "floor_breaches", (gint64) r->floor_breaches);
                json_builder_set_member_name (b, "kinds");
                json_builder_begin_object (b);
                for (int k = 0; k < AUGUR_IO_KIND_N; k++) {
                        if (!r->kind[k].limits)
                                continue;
                        json_builder_set_member_name (b, augur_io_kind_info[k].name);
                        json_builder_begin_object (b);
                        json_score (b, &r->kind[k], r->budget_mib, r->step_s);
                        json_builder_end_object (b);
                }
                json_builder_end_object (b);
                json_builder_set_member_name (b, "families");
                json_builder_begin_object (b);
                for (guint f = 0; f < r->n_families; f++) {
                        json_builder_set_member_name (b, r->family[f].name);
                        json_builder_begin_object (b);
                        json_score (b, &r->family[f].s, r->budget_mib, r->step_s);
                        json_builder_end_object (b);
                }
                json_builder_end_object (b);
                json_builder_end_object (b);
        }
        json_builder_end_object (b);
        json_builder_end_object (b);
        augur_cli_json_print (b, FALSE);
}

/* One table row: a group's scores under one policy, in the order of
 * print_table()'s header. */
static void
table_row (AugurCliTable *t, const char *group, AugurIoReplayPolicy p, const AugurIoReplayScore *s,
           double budget_mib, gint64 step_s)
{
        char **row = g_new0 (char *, 12);
        int c = 0;

        row[c++] = g_strdup (group);
        row[c++] = g_strdup (augur_io_replay_policy_name (p));
        row[c++] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->bursts);
        row[c++] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->burst_steps);
        row[c++] = g_strdup_printf ("%.1f", 100 * frac (s->burst_served, s->burst_steps));
        row[c++] = g_strdup_printf ("%.1f", s->burst_mib > 0 ? 100 * s->burst_served_mib / s->burst_mib : NAN);
        row[c++] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->capped_steps);
        row[c++] = g_strdup_printf ("%.1f", s->bursts ? (double) s->capped_steps * step_s / 60.0 / s->bursts : NAN);
        row[c++] = g_strdup_printf ("%.0f", s->raise_mib);
        row[c++] = g_strdup_printf ("%.2f", budget_mib > 0 ? 100 * s->raise_mib / budget_mib : NAN);
        row[c++] = g_strdup_printf ("%.0f", delay_s (s));
        augur_cli_table_add (t, row);
}

static void
print_table (const AugurCliGlobal *g, const AugurIoReplayResult *res, guint n_limits,
             const AugurIoReplayConfig *cfg)
{
        AugurCliTable t;
        char **head = g_new0 (char *, 12);
        const char *const cols[] = { "group", "policy", "bursts", "burst_steps", "served_%", "burst_bytes_%",
                                     "capped_steps", "capped_min/burst", "raise_MiB", "raise_%budget", "delay_s" };

        g_print ("I/O limits: %u limits, %" G_GINT64_FORMAT " s steps, scored [%g, %g) of each VM; cap = %g x p%g "
                 "of the training rates (>= %g MiB/s), ceiling = max(training peak, %g x cap); host budget "
                 "%.1f MiB/s; lead %u step(s), forecaster ring %u steps; backlog %s\n", n_limits, res[0].step_s,
                 cfg->score_from, cfg->score_to, cfg->floor_mult, 100 * cfg->floor_q,
                 cfg->min_floor_bps / MIB, cfg->ceiling_mult, res[0].budget_bps / MIB, cfg->lead_steps,
                 cfg->ring_len, cfg->backlog ? "carried" : "dropped");
        augur_cli_table_init (&t, G_N_ELEMENTS (cols));
        for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
                head[c] = g_strdup (cols[c]);
        augur_cli_table_add (&t, head);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++)
                table_row (&t, "all", p, &res[p].all, res[p].budget_mib, res[p].step_s);
        for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                for (int p = 0; p < AUGUR_IO_REPLAY_N && res[0].kind[k].limits; p++)
                        table_row (&t, augur_io_kind_info[k].name, p, &res[p].kind[k], res[p].budget_mib,
                                   res[p].step_s);
        for (guint f = 0; f < res[0].n_families; f++)
                for (int p = 0; p < AUGUR_IO_REPLAY_N; p++)
                        table_row (&t, res[p].family[f].name, p, &res[p].family[f].s, res[p].budget_mib,
                                   res[p].step_s);
        augur_cli_table_print (&t, g);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++)
                g_print ("%-8s peak raise %.1f MiB/s of the %.1f MiB/s budget; steps over it %" G_GUINT64_FORMAT
                         ", limit-steps outside [cap, ceiling] %" G_GUINT64_FORMAT "\n",
                         augur_io_replay_policy_name (p), res[p].peak_raise_bps / MIB, res[p].budget_bps / MIB,
                         res[p].over_budget_steps, res[p].floor_breaches);
        g_print ("augur had a forecast (a period) after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                 " scored limit-steps (%.1f %%)\n", res[AUGUR_IO_REPLAY_AUGUR].all.forecast_steps,
                 res[AUGUR_IO_REPLAY_AUGUR].all.steps,
                 100 * frac (res[AUGUR_IO_REPLAY_AUGUR].all.forecast_steps, res[AUGUR_IO_REPLAY_AUGUR].all.steps));
}

int
augur_cmd_replay_io (const AugurCliGlobal *g, const AugurOptDef *defs, const AugurCmdOpts *opts,
                     const GPtrArray *series, gint64 step_s)
{
        AugurIoReplayConfig cfg;
        AugurIoReplayResult res[AUGUR_IO_REPLAY_N];
        g_autoptr (AugurIoReplay) r = NULL;
        g_autoptr (GError) error = NULL;
        const char *families = NULL;
        int ex;

        augur_io_replay_config_init (&cfg);
        ex = parse_io_opts (defs, opts, &cfg, &families);
        if (ex >= 0)
                return ex;
        r = augur_io_replay_new (series, step_s, &cfg, &error);
        if (!r)
                return augur_cli_error ("%s", error->message);
        if (families && !augur_io_replay_load_families (r, families, &error))
                return augur_cli_error ("%s", error->message);
        if (!g->json)
                g_printerr ("Replaying %u I/O limits at a %" G_GINT64_FORMAT " s step\n",
                            augur_io_replay_n_limits (r), step_s);
        for (int p = 0; p < AUGUR_IO_REPLAY_N; p++)
                augur_io_replay_run (r, p, &res[p], NULL, NULL);
        if (g->json)
                print_json (res, augur_io_replay_n_limits (r), &cfg);
        else
                print_table (g, res, augur_io_replay_n_limits (r), &cfg);
        return 0;
}
