/* cmd-report.c — virt-augur report: the savings report, per guest and for
 * the host, from the history store opened read-only (it runs beside
 * augurd).  What each figure means, and why, is the design comment of
 * sql/store-report.h; this file only chooses the window and prints.
 *
 * THE WINDOW counts back --since (default 7 days) from the newest tick in
 * the store, not from the clock, as `history --since` counts back from the
 * newest sample: a copied database from last month reports its own last
 * week.
 *
 * OUTPUT.  Text: one table row per guest, then the host's totals, then two
 * lines that say which baseline each figure is against and, when a guest
 * was in recommend mode, that its figures are what augur would have done.
 * --json: one object, {"from_ts", "to_ts", "since_s", "margin_frac",
 * "guests": [one object per guest], "host": {...}}; counts are integers,
 * sizes MiB with one decimal, GiB-hours and ratios with three (written by
 * hand: json-glib prints every double with 17 digits).
 */
#include "config.h"

#include "virt-augur.h"
#include "mem-guard.h"
#include "store.h"
#include "store-report.h"
#include "cpu-weight-cli.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Default window, s. */
#define REPORT_DEFAULT_SINCE_S (7 * 86400.0)
/* KiB·s in one GiB-hour. */
#define KIB_S_PER_GIB_H (1048576.0 * 3600.0)

static const char *
mode_name (guint modes)
{
        if (modes == 0)
                return "observe";       /* no decision: augur only watched */
        if (modes == AUGUR_REPORT_MODE_ACT)
                return "act";
        if (modes == AUGUR_REPORT_MODE_RECOMMEND)
                return "recommend";
        if (modes == (AUGUR_REPORT_MODE_ACT | AUGUR_REPORT_MODE_RECOMMEND))
                return "act+recommend";
        return "mixed";
}

static const char *
baseline_name (const AugurReportGuest *g)
{
        return g->baseline == AUGUR_REPORT_BASELINE_INITIAL ? "initial" : "max";
}

static double
coverage (const AugurReportGuest *g)
{
        return g->coverage_rows > 0 ? (double) g->coverage_hits / g->coverage_rows : NAN;
}

/* ---- text ---- */

static char *
fmt_mib (double kib)
{
        return isnan (kib) ? g_strdup ("-") : g_strdup_printf ("%.0f", kib / 1024);
}

static char *
fmt_span (double s)
{
        if (s >= 2 * 86400)
                return g_strdup_printf ("%.1f days", s / 86400);
        if (s >= 2 * 3600)
                return g_strdup_printf ("%.1f h", s / 3600);
        return g_strdup_printf ("%.0f min", s / 60);
}

static char *
fmt_pct (double ratio)
{
        return isnan (ratio) ? g_strdup ("-") : g_strdup_printf ("%.1f %%", 100 * ratio);
}

static void
print_text (const AugurReport *r, const AugurCliGlobal *cli)
{
        const AugurReportGuest *h = &r->host;
        g_autofree char *from = augur_cli_format_ms (r->from_ms), *to = augur_cli_format_ms (r->to_ms);
        g_autofree char *span = fmt_span (h->span_s);
        g_autofree char *peak = fmt_mib (h->reclaimed_peak_kib), *p95 = fmt_mib (h->reclaimed_p95_kib);
        g_autofree char *cov = fmt_pct (coverage (h));
        gboolean any_initial = FALSE, any_recommend = FALSE;
        AugurCliTable t;
        char *hdr[] = { "Guest", "Mode", "Baseline MiB", "Saved GiB-h", "Peak MiB", "p95 MiB",
                        "Shortfalls", "Worst MiB", "OOM", "PSI", "Actions", "Coverage", NULL };

        g_print ("Savings report, %s to %s UTC\n\n", from, to);
        augur_cli_table_init (&t, 12);
        augur_cli_table_add (&t, g_strdupv (hdr));
        for (guint i = 0; i < r->guests->len; i++) {
                const AugurReportGuest *g = r->guests->pdata[i];
                g_autofree char *base = fmt_mib (g->baseline_kib);
                char **cells = g_new0 (char *, 13);

                any_initial |= g->baseline == AUGUR_REPORT_BASELINE_INITIAL;
                any_recommend |= (g->modes & AUGUR_REPORT_MODE_RECOMMEND) != 0;
                cells[0] = g_strdup (g->name);
                cells[1] = g_strdup (mode_name (g->modes));
                cells[2] = g_strdup_printf ("%s %s", base, baseline_name (g));
                cells[3] = g_strdup_printf ("%.3f", g->saved_kib_s / KIB_S_PER_GIB_H);
                cells[4] = fmt_mib (g->reclaimed_peak_kib);
                cells[5] = fmt_mib (g->reclaimed_p95_kib);
                cells[6] = g_strdup_printf ("%" G_GINT64_FORMAT, g->shortfall_steps);
                cells[7] = fmt_mib (g->worst_free_kib);
                cells[8] = g_strdup_printf ("%" G_GINT64_FORMAT, g->oom_events);
                cells[9] = g_strdup_printf ("%" G_GINT64_FORMAT, g->pressure_events);
                cells[10] = g_strdup_printf ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                             g->mem_taken + g->mem_recommended, g->cpu_taken + g->cpu_recommended);
                cells[11] = fmt_pct (coverage (g));
                augur_cli_table_add (&t, cells);
        }
        augur_cli_table_print (&t, cli);
        g_print ("\nSaved: GiB-hours given back against the baseline.  Peak, p95: memory reclaimed (maximum -\n"
                 "allocation).  Worst: the least memory free at a shortfall.  OOM, PSI: the memory guard's\n"
                 "out-of-memory and pressure events.  Actions: memory/vCPU changes, taken or recommended.\n");

        g_print ("\nHost: %u guest%s, %" G_GINT64_FORMAT " ticks over %s\n", r->guests->len,
                 r->guests->len == 1 ? "" : "s", h->ticks, span);
        g_print ("  %-15s %.3f GiB-h against the baselines above; %.3f GiB-h against the <memory> maxima\n",
                 "given back", h->saved_kib_s / KIB_S_PER_GIB_H, h->saved_vs_max_kib_s / KIB_S_PER_GIB_H);
        g_print ("  %-15s peak %s MiB, p95 %s MiB (per tick, the sum over guests of maximum - allocation)\n",
                 "reclaimed", peak, p95);
        if (h->worst_ms >= 0) {
                g_autofree char *worst = fmt_mib (h->worst_free_kib);
                g_autofree char *when = augur_cli_format_ms (h->worst_ms);

                g_print ("  %-15s %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " steps within %.0f %% "
                         "of the allocation or out of memory; worst %s MiB free (%s at %s UTC)\n",
                         "shortfalls", h->shortfall_steps, h->steps, 100 * r->margin_frac, worst,
                         h->worst_name, when);
        } else {
                g_print ("  %-15s %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " steps within %.0f %% "
                         "of the allocation or out of memory\n",
                         "shortfalls", h->shortfall_steps, h->steps, 100 * r->margin_frac);
        }
        g_print ("  %-15s %" G_GINT64_FORMAT " out-of-memory and %" G_GINT64_FORMAT " pressure events "
                 "(memory guard); OOM kills the guests reported: %" G_GINT64_FORMAT "\n",
                 "memory events", h->oom_events, h->pressure_events, h->guest_oom_kills);
        g_print ("  %-15s memory %" G_GINT64_FORMAT " taken, %" G_GINT64_FORMAT " recommended, %"
                 G_GINT64_FORMAT " failed; vCPUs %" G_GINT64_FORMAT " taken, %" G_GINT64_FORMAT
                 " recommended, %" G_GINT64_FORMAT " failed\n", "actions",
                 h->mem_taken, h->mem_recommended, h->mem_failed, h->cpu_taken, h->cpu_recommended,
                 h->cpu_failed);
        if (h->io_raised + h->io_restored + h->io_yielded > 0)
                g_print ("  %-15s %" G_GINT64_FORMAT " raised ahead of a burst, %" G_GINT64_FORMAT
                         " restore steps, %" G_GINT64_FORMAT " changed by hand (augur yielded)\n", "I/O limits",
                         h->io_raised, h->io_restored, h->io_yielded);
        g_print ("  %-15s %s of %" G_GINT64_FORMAT " decisions: used memory one horizon later at or below "
                 "the forecast's upper bound\n", "coverage", cov, h->coverage_rows);

        g_print ("\nBaseline: what a guest would have held without augur: its <memory> maximum (max)%s.\n",
                 any_initial ? ", or the\nballoon an admin had it at before augur's first action when that was "
                               "smaller (initial;\na negative saving means augur gave the guest more)" : "");
        if (any_recommend)
                g_print ("Recommend mode: the allocation is the target augur recommended, not the balloon, so the\n"
                         "figures say what augur would have given back (a lower bound of act mode's, virt-augur(1)).\n");
}

/* ---- JSON ---- */

static void
j_key (GString *s, const char *key, gboolean *first)
{
        g_string_append_printf (s, "%s\n    \"%s\": ", *first ? "" : ",", key);
        *first = FALSE;
}

static void
j_int (GString *s, const char *key, gint64 v, gboolean *first)
{
        j_key (s, key, first);
        g_string_append_printf (s, "%" G_GINT64_FORMAT, v);
}

/* A short decimal: `places` digits, null for NAN, never "-0.0". */
static void
j_dec (GString *s, const char *key, double v, int places, gboolean *first)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[8];
        const char *out;

        j_key (s, key, first);
        if (isnan (v)) {
                g_string_append (s, "null");
                return;
        }
        g_snprintf (fmt, sizeof fmt, "%%.%df", places);
        out = g_ascii_formatd (buf, sizeof buf, fmt, v);
        if (out[0] == '-' && strspn (out + 1, "0.") == strlen (out + 1))
                out++;
        g_string_append (s, out);
}

static void
j_str (GString *s, const char *key, const char *v, gboolean *first)
{
        g_autoptr(JsonNode) n = NULL;
        g_autofree char *text = NULL;

        j_key (s, key, first);
        if (!v) {
                g_string_append (s, "null");
                return;
        }
        n = json_node_init_string (json_node_alloc (), v);
        text = json_to_string (n, FALSE);
        g_string_append (s, text);
}

static void
j_ts (GString *s, const char *key, gint64 ms, gboolean *first)
{
        if (ms < 0) {
                j_key (s, key, first);
                g_string_append (s, "null");
        } else {
                j_int (s, key, ms / 1000, first);
        }
}

/* The figures a guest and the host share. */
static void
j_figures (GString *s, const AugurReportGuest *g, gboolean *first)
{
        j_ts (s, "first_ts", g->first_ms, first);
        j_ts (s, "last_ts", g->last_ms, first);
        j_dec (s, "hours", g->span_s / 3600, 3, first);
        j_int (s, "steps", g->steps, first);
        j_int (s, "recommended_steps", g->recommended_steps, first);
        j_dec (s, "baseline_mib", g->baseline_kib / 1024, 1, first);
        j_dec (s, "max_mib", g->max_kib / 1024, 1, first);
        j_dec (s, "saved_gib_h", g->saved_kib_s / KIB_S_PER_GIB_H, 3, first);
        j_dec (s, "saved_vs_max_gib_h", g->saved_vs_max_kib_s / KIB_S_PER_GIB_H, 3, first);
        j_dec (s, "reclaimed_peak_mib", g->reclaimed_peak_kib / 1024, 1, first);
        j_dec (s, "reclaimed_p95_mib", g->reclaimed_p95_kib / 1024, 1, first);
        j_int (s, "used_steps", g->used_steps, first);
        j_int (s, "shortfall_steps", g->shortfall_steps, first);
        j_dec (s, "worst_free_mib", g->worst_free_kib / 1024, 1, first);
        j_ts (s, "worst_ts", g->worst_ms, first);
        j_int (s, "oom_events", g->oom_events, first);
        j_int (s, "pressure_events", g->pressure_events, first);
        j_int (s, "guest_oom_kills", g->guest_oom_kills, first);
        j_int (s, "mem_actions_taken", g->mem_taken, first);
        j_int (s, "mem_actions_recommended", g->mem_recommended, first);
        j_int (s, "mem_actions_failed", g->mem_failed, first);
        j_int (s, "cpu_actions_taken", g->cpu_taken, first);
        j_int (s, "cpu_actions_recommended", g->cpu_recommended, first);
        j_int (s, "cpu_actions_failed", g->cpu_failed, first);
        j_int (s, "io_limits_raised", g->io_raised, first);
        j_int (s, "io_limit_restore_steps", g->io_restored, first);
        j_int (s, "io_limits_yielded", g->io_yielded, first);
        j_dec (s, "coverage", coverage (g), 3, first);
        j_int (s, "coverage_rows", g->coverage_rows, first);
}

static void
print_json (const AugurReport *r, double since_s, AugurStore *st, const AugurCliGlobal *cli)
{
        g_autoptr(GString) s = g_string_new ("{");
        gboolean first = TRUE;

        g_string_append_printf (s, "\n  \"from_ts\": %" G_GINT64_FORMAT ",\n  \"to_ts\": %" G_GINT64_FORMAT
                                ",\n  \"since_s\": %.0f,\n  \"margin_frac\": ",
                                r->from_ms / 1000, r->to_ms / 1000, since_s);
        {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];

                g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.3f", r->margin_frac));
        }
        g_string_append (s, ",\n  \"guests\": [");
        for (guint i = 0; i < r->guests->len; i++) {
                const AugurReportGuest *g = r->guests->pdata[i];

                first = TRUE;
                g_string_append (s, i ? ",\n   {" : "\n   {");
                j_str (s, "name", g->name, &first);
                j_str (s, "uuid", g->uuid, &first);
                j_str (s, "mode", mode_name (g->modes), &first);
                j_str (s, "baseline", baseline_name (g), &first);
                j_dec (s, "initial_mib", g->initial_kib / 1024, 1, &first);
                j_figures (s, g, &first);
                g_string_append (s, "\n   }");
        }
        g_string_append (s, r->guests->len ? "\n  ],\n  \"host\": {" : "],\n  \"host\": {");
        first = TRUE;
        j_int (s, "guests", r->guests->len, &first);
        j_str (s, "mode", mode_name (r->host.modes), &first);
        j_int (s, "ticks", r->host.ticks, &first);
        j_figures (s, &r->host, &first);
        j_str (s, "worst_guest", r->host.worst_name, &first);
        g_string_append (s, "\n  }");
        augur_cli_cpu_weight_report (st, r->from_ms, r->to_ms, s, cli);
        g_string_append (s, "\n}\n");
        fputs (s->str, stdout);
}

static const AugurOptDef opts_report[] = {
        { .name = "since", .type = AUGUR_OPT_DURATION, .metavar = "DURATION",
          .help = "count back this long (90s, 15m, 1h, 2d) from the newest tick in the store; default 7d" },
        { NULL },
};

static const AugurCmdInfo info_report = {
        .help = "what augur gave back and what it cost, per guest and for the host",
        .desc = "The savings report over the last --since (default 7 days, counted back from the "
                "newest tick in the store), per guest and for the host: GiB-hours given back "
                "against the baseline (what the guest would have held without augur: its <memory> "
                "maximum, or the balloon an admin had it at before augur's first action when that "
                "was smaller), the peak and p95 of the memory reclaimed (maximum - allocation; for "
                "the host summed per tick), shortfalls (steps where used memory, in balloon terms, "
                "came within the memory guard's 6 % of the allocation, or the guard raised an "
                "out-of-memory event; the worst is the least memory left free), the guard's "
                "out-of-memory and pressure events and the OOM kills the guests reported, the "
                "actions taken or recommended, and the forecast's coverage (decisions whose upper "
                "bound held one horizon later).  Then, for the guests whose CPU weight augur moved "
                "(policy cpu_weight_max), its raises, restore steps, yields and the time it was "
                "raised.\n\n"
                "In recommend mode the allocation is the target augur recommended instead of the "
                "balloon: what augur would have given back.",
};

static int
cmd_report (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurReport) r = NULL;
        g_autoptr(GError) error = NULL;
        AugurStoreStatus status = { 0 };
        double since_s = REPORT_DEFAULT_SINCE_S;
        gint64 to_ms;

        augur_cmd_opts_duration (opts, "since", &since_s);
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        if (!augur_store_status (st, &status, &error))
                return augur_cli_error ("%s", error->message);
        to_ms = status.last_tick_ms;
        augur_store_status_clear (&status);
        if (to_ms < 0)
                return augur_cli_error ("no tick in %s yet: augurd has recorded nothing to report on",
                                        augur_cli_db_path (g));
        r = augur_store_report (st, to_ms - (gint64) (since_s * 1000), to_ms, AUGUR_GUARD_NEAR_FRAC, &error);
        if (!r)
                return augur_cli_error ("%s", error->message);
        if (g->json) {
                print_json (r, since_s, st, g);
        } else {
                print_text (r, g);
                augur_cli_cpu_weight_report (st, r->from_ms, r->to_ms, NULL, g);
        }
        return 0;
}

const AugurCmdDef augur_cmds_report[] = {
        { "report", cmd_report, opts_report, &info_report },
        { NULL },
};
