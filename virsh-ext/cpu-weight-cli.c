/* cpu-weight-cli.c — the CPU weight rows in words (see cpu-weight-cli.h). */
#include "config.h"

#include "cpu-weight-cli.h"
#include "cli-json.h"
#include "cpu-weight.h"
#include "replay-cpu.h"

#include <math.h>
#include <string.h>

/* The reasons a row carries (policy/io-limit.h reason names, and
 * resize-cpu.h's "unsupported") and what explain says of each:
 * "CPU weight: at T UTC <verb>[ from F][ to T shares] <why>." */
static const struct {
        const char *reason, *verb;
        gboolean from, to;
        const char *why;
} explain_words[] = {
        { "forecast-burst", "augur raised its CPU weight", TRUE, TRUE,
          "ahead of a forecast CPU burst (a larger share of contended host cores, finer than a vCPU)" },
        { "restore", "augur restored its CPU weight", TRUE, TRUE, "after sustained quiet" },
        { "yield", "someone else set its CPU weight", FALSE, TRUE,
          "while augur held a raise; augur keeps it as the floor and does not fight it" },
        { "unsupported", "augur found it cannot move this guest's CPU weight", FALSE, FALSE,
          "(on Proxmox VE the weight is cpuunits in the VM's .conf, which augur does not write; elsewhere "
          "libvirt reported no cpu_shares): it stays as the admin set it" },
};

GArray *
augur_cli_cpu_weight_rows (const GArray *acts)
{
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurActuationRow));

        for (guint i = 0; acts && i < acts->len; i++) {
                const AugurActuationRow *a = &g_array_index (acts, AugurActuationRow, i);

                if (g_strcmp0 (a->kind, AUGUR_CPU_SHARES_KIND) == 0)
                        g_array_append_val (out, *a);
        }
        return out;
}

static const AugurDomainInfo *
domain_of (GPtrArray **cache, AugurStore *st, gint64 domain_id)
{
        if (!*cache)
                *cache = augur_store_list_domains (st, NULL);
        for (guint i = 0; *cache && i < (*cache)->len; i++) {
                const AugurDomainInfo *d = (*cache)->pdata[i];

                if (d->id == domain_id)
                        return d;
        }
        return NULL;
}

static char *
fmt_shares (double v)
{
        return isnan (v) ? g_strdup ("?") : g_strdup_printf ("%.0f", v);
}

void
augur_cli_cpu_weight_json (JsonBuilder *b, AugurStore *st, const GArray *rows)
{
        g_autoptr(GPtrArray) doms = NULL;

        for (guint i = 0; i < rows->len; i++) {
                const AugurActuationRow *a = &g_array_index (rows, AugurActuationRow, i);
                const AugurDomainInfo *d = domain_of (&doms, st, a->domain_id);

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "ts");
                json_builder_add_int_value (b, a->ts_ms / 1000);
                augur_cli_json_domain (b, d ? d->name : "?", d ? d->uuid : NULL);
                json_builder_set_member_name (b, "kind");
                json_builder_add_string_value (b, AUGUR_CPU_SHARES_KIND);
                augur_cli_json_num (b, "from_shares", a->from_value);
                augur_cli_json_num (b, "to_shares", a->to_value);
                json_builder_set_member_name (b, "reason");
                json_builder_add_string_value (b, a->reason ? a->reason : "?");
                json_builder_end_object (b);
        }
}

void
augur_cli_cpu_weight_table (AugurStore *st, const GArray *rows, const AugurCliGlobal *g)
{
        g_autoptr(GPtrArray) doms = NULL;
        AugurCliTable t;
        char *hdr[] = { "Time (UTC)", "Domain", "CPU weight (shares)", "Reason", NULL };

        if (rows->len == 0)
                return;
        if (!g->quiet)
                g_print ("\nCPU weight (cpu_shares):\n");
        augur_cli_table_init (&t, 4);
        augur_cli_table_add (&t, g_strdupv (hdr));
        for (guint i = 0; i < rows->len; i++) {
                const AugurActuationRow *a = &g_array_index (rows, AugurActuationRow, i);
                const AugurDomainInfo *d = domain_of (&doms, st, a->domain_id);
                g_autofree char *from = fmt_shares (a->from_value), *to = fmt_shares (a->to_value);
                char **cells = g_new0 (char *, 5);

                cells[0] = augur_cli_format_ms (a->ts_ms);
                cells[1] = g_strdup (d ? d->name : "?");
                cells[2] = g_strdup_printf ("%s -> %s", from, to);
                cells[3] = g_strdup (a->reason ? a->reason : "?");
                augur_cli_table_add (&t, cells);
        }
        augur_cli_table_print (&t, g);
}

void
augur_cli_cpu_weight_explain (AugurStore *st, gint64 domain_id)
{
        g_autoptr(GArray) acts = augur_store_actuations (st, domain_id, G_MININT64, G_MAXINT64, 0, NULL);
        g_autoptr(GArray) rows = augur_cli_cpu_weight_rows (acts);
        const AugurActuationRow *a;
        g_autofree char *t = NULL, *from = NULL, *to = NULL;

        if (rows->len == 0)
                return;
        a = &g_array_index (rows, AugurActuationRow, rows->len - 1);
        t = augur_cli_format_ms (a->ts_ms);
        from = fmt_shares (a->from_value);
        to = fmt_shares (a->to_value);
        for (gsize i = 0; i < G_N_ELEMENTS (explain_words); i++) {
                if (g_strcmp0 (a->reason, explain_words[i].reason) != 0)
                        continue;
                {
                g_autofree char *to_words = g_strdup_printf (" to %s shares", to);

                g_print ("CPU weight: at %s UTC %s%s%s%s %s.\n", t, explain_words[i].verb,
                         explain_words[i].from ? " from " : "", explain_words[i].from ? from : "",
                         explain_words[i].to ? to_words : "", explain_words[i].why);
                }
                return;
        }
        g_print ("CPU weight: at %s UTC it went from %s to %s shares (%s).\n", t, from, to,
                 a->reason ? a->reason : "?");
}

/* One guest's CPU weight rows over the window, summed. */
typedef struct {
        gint64 domain_id;
        guint raises, restores, yields;
        gboolean unsupported;
        double raised_s;                /* time spent above the admin's value  */
        double floor;                   /* the admin's value of the episode    */
        gint64 raised_since_ms;         /* -1 = not raised                     */
} Summary;

static Summary *
summary_of (GArray *sums, gint64 domain_id)
{
        Summary s = { .domain_id = domain_id, .floor = NAN, .raised_since_ms = -1 };

        for (guint i = 0; i < sums->len; i++)
                if (g_array_index (sums, Summary, i).domain_id == domain_id)
                        return &g_array_index (sums, Summary, i);
        g_array_append_val (sums, s);
        return &g_array_index (sums, Summary, sums->len - 1);
}

void
augur_cli_cpu_weight_report (AugurStore *st, gint64 from_ms, gint64 to_ms, GString *json,
                             const AugurCliGlobal *g)
{
        g_autoptr(GArray) acts = augur_store_actuations (st, -1, from_ms, to_ms, 0, NULL);
        g_autoptr(GArray) rows = augur_cli_cpu_weight_rows (acts);
        g_autoptr(GArray) sums = g_array_new (FALSE, TRUE, sizeof (Summary));
        g_autoptr(GPtrArray) doms = NULL;

        for (guint i = 0; i < rows->len; i++) {
                const AugurActuationRow *a = &g_array_index (rows, AugurActuationRow, i);
                Summary *s = summary_of (sums, a->domain_id);
                gboolean ends = FALSE;

                if (g_strcmp0 (a->reason, "forecast-burst") == 0) {
                        s->raises++;
                        if (s->raised_since_ms < 0) {
                                s->raised_since_ms = a->ts_ms;
                                s->floor = a->from_value;
                        }
                } else if (g_strcmp0 (a->reason, "restore") == 0) {
                        s->restores++;
                        ends = !(a->to_value > s->floor);
                } else if (g_strcmp0 (a->reason, "yield") == 0) {
                        s->yields++;
                        ends = TRUE;
                } else if (g_strcmp0 (a->reason, "unsupported") == 0) {
                        s->unsupported = TRUE;
                }
                if (ends && s->raised_since_ms >= 0) {
                        s->raised_s += (a->ts_ms - s->raised_since_ms) / 1000.0;
                        s->raised_since_ms = -1;
                }
        }
        for (guint i = 0; i < sums->len; i++) {
                Summary *s = &g_array_index (sums, Summary, i);

                if (s->raised_since_ms >= 0)
                        s->raised_s += (to_ms - s->raised_since_ms) / 1000.0;
        }
        if (json) {
                g_string_append (json, ",\n  \"cpu_weight\": [");
                for (guint i = 0; i < sums->len; i++) {
                        const Summary *s = &g_array_index (sums, Summary, i);
                        const AugurDomainInfo *d = domain_of (&doms, st, s->domain_id);
                        g_autofree char *name = g_strescape (d ? d->name : "?", NULL);

                        g_string_append_printf (json, "%s\n   {\"name\": \"%s\", \"raises\": %u, \"restores\": %u, "
                                                "\"yields\": %u, \"unsupported\": %s, \"raised_s\": %.0f}",
                                                i ? "," : "", name, s->raises, s->restores, s->yields,
                                                s->unsupported ? "true" : "false", s->raised_s);
                }
                g_string_append (json, sums->len ? "\n  ]" : "]");
                return;
        }
        if (sums->len == 0)
                return;
        if (!g->quiet)
                g_print ("\nCPU weight (cpu_shares raised ahead of forecast CPU bursts, over the same window):\n");
        for (guint i = 0; i < sums->len; i++) {
                const Summary *s = &g_array_index (sums, Summary, i);
                const AugurDomainInfo *d = domain_of (&doms, st, s->domain_id);

                if (s->unsupported && s->raises == 0)
                        g_print ("  %s: not supported by its hypervisor backend; its weight stays the admin's\n",
                                 d ? d->name : "?");
                else
                        g_print ("  %s: %u raises, %u restore steps, %u yields to a hand change; raised for %.0f s "
                                 "(%.1f %% of the window)\n", d ? d->name : "?", s->raises, s->restores, s->yields,
                                 s->raised_s, to_ms > from_ms ? 100.0 * s->raised_s * 1000 / (to_ms - from_ms) : 0);
        }
}

gboolean
augur_cli_replay_cpu (const AugurCliGlobal *g, AugurReplay *r, const AugurReplayConfig *cfg, double q)
{
        AugurReplayCpuConfig cc;
        AugurReplayCpuResult res;
        g_autoptr(GError) error = NULL;

        augur_replay_cpu_config_init (&cc);
        cc.host_quantile = q;
        if (!augur_replay_cpu_contended (r, cfg, &cc, &res, &error)) {
                augur_cli_error ("%s", error->message);
                return FALSE;
        }
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "contended_host");
                json_builder_begin_object (b);
                augur_cli_json_num (b, "host_quantile", q);
                augur_cli_json_num (b, "host_cores", res.host_cores);
                augur_cli_json_num (b, "host_steps", (double) res.host_steps);
                augur_cli_json_num (b, "contended_steps", (double) res.contended_steps);
                augur_cli_json_num (b, "demand_core_steps", res.demand);
                for (int a = 0; a < AUGUR_REPLAY_CPU_N; a++) {
                        static const char *const keys[AUGUR_REPLAY_CPU_N] = {
                                "static_equal", "static_weight", "hotplug_equal", "hotplug_weight",
                        };

                        json_builder_set_member_name (b, keys[a]);
                        json_builder_begin_object (b);
                        augur_cli_json_num (b, "unserved_frac", res.unserved[a] / res.demand);
                        augur_cli_json_num (b, "short_steps_frac", (double) res.short_steps[a] / res.vm_steps);
                        augur_cli_json_num (b, "vm_mean_unserved_frac", res.vm_short_mean[a]);
                        augur_cli_json_num (b, "burst_unserved_frac", res.burst_unserved[a] / res.burst_demand);
                        augur_cli_json_num (b, "other_unserved_frac", (res.unserved[a] - res.burst_unserved[a]) /
                                                                      (res.demand - res.burst_demand));
                        json_builder_end_object (b);
                }
                augur_cli_json_num (b, "raised_steps_frac", (double) res.raised_steps / res.vm_steps);
                augur_cli_json_num (b, "raises", (double) res.raises);
                json_builder_end_object (b);
                json_builder_end_object (b);
                augur_cli_json_print (b, FALSE);
                return TRUE;
        }
        g_print ("\nContended host (policy/replay-cpu.h): %.2f cores, the %.0f %% quantile of the total CPU "
                 "demand; asks above it at %.1f %% of %" G_GUINT64_FORMAT " scored steps\n", res.host_cores,
                 100 * q, res.host_steps ? 100.0 * res.contended_steps / res.host_steps : 0, res.host_steps);
        g_print ("  %-28s %9s %9s %9s %9s %9s\n", "unserved CPU, % of demand:", "all", "in bursts", "others",
                 "VM mean", "steps short");
        for (int a = 0; a < AUGUR_REPLAY_CPU_N; a++)
                g_print ("  %-28s %9.3f %9.3f %9.3f %9.3f %9.2f\n", augur_replay_cpu_arm_name (a),
                         100 * res.unserved[a] / res.demand, 100 * res.burst_unserved[a] / res.burst_demand,
                         100 * (res.unserved[a] - res.burst_unserved[a]) / (res.demand - res.burst_demand),
                         100 * res.vm_short_mean[a], 100.0 * res.short_steps[a] / res.vm_steps);
        g_print ("  burst windows: %" G_GUINT64_FORMAT " VM steps, %.1f %% of the demand\n", res.burst_steps,
                 100 * res.burst_demand / res.demand);
        g_print ("  weight above the admin's at %.1f %% of VM steps (%" G_GUINT64_FORMAT " raises)\n",
                 100.0 * res.raised_steps / res.vm_steps, res.raises);
        return TRUE;
}
