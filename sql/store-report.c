/* store-report.c — the savings report (see store-report.h for what each
 * figure means and why).
 *
 * SHAPE.  Per guest: its steps (samples) and its decisions in the window
 * are read in time order and walked together in C, because the
 * allocation of a recommend-mode step depends on the recommendations
 * before it, a step's dt on the step after it, and coverage on the sample
 * a horizon later: sequential questions that SQL answers only with
 * correlated subqueries over the samples view.  What SQL answers in one
 * aggregate stays there: the modes and the action counts, the balloon
 * before augur's first action, the guest OOM kills (LAG over the activity
 * reports).  The guard's events come out of the audit's notes, parsed in C
 * (ran_out_key()).  The host's per-tick sums are one (ts, reclaimed) pair
 * per step, sorted and grouped at the end: O(n log n), no hash of doubles.
 */
#include "config.h"

#include "store-report.h"
#include "store-private.h"
#include "units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The phrase of plugin/resize.c note_guard() before the event's time. */
#define RAN_OUT_PHRASE "ran out of memory at "
/* The one guard event name that is pressure, not out of memory
 * (policy/mem-guard.c event_names). */
#define PRESSURE_EVENT "guest-memory-pressure"

typedef struct {
        gint64 ts_ms;
        double balloon_kib;
        double max_kib;
        double used_kib;                /* balloon terms; NAN = unknown       */
} Step;

typedef struct {
        gint64 ts_ms;
        const char *mode;               /* interned                           */
        const char *mem_action;         /* interned                           */
        double mem_target_kib;
        double horizon_s;
        double mem_upper_kib;
} Decision;

typedef struct {
        gint64 ts_ms;
        double reclaimed_kib;
} TickPart;

static void
guest_clear (AugurReportGuest *g)
{
        g_clear_pointer (&g->uuid, g_free);
        g_clear_pointer (&g->name, g_free);
        g_clear_pointer (&g->worst_name, g_free);
}

static void
guest_free (AugurReportGuest *g)
{
        guest_clear (g);
        g_free (g);
}

void
augur_report_free (AugurReport *r)
{
        if (!r)
                return;
        g_clear_pointer (&r->guests, g_ptr_array_unref);
        guest_clear (&r->host);
        g_free (r);
}

static void
guest_init (AugurReportGuest *g)
{
        *g = (AugurReportGuest) {
                .domain_id = -1,
                .baseline_kib = NAN, .max_kib = NAN, .initial_kib = NAN,
                .first_ms = -1, .last_ms = -1,
                .reclaimed_peak_kib = NAN, .reclaimed_p95_kib = NAN,
                .worst_free_kib = NAN, .worst_ms = -1,
        };
}

static const char *
col_intern (sqlite3_stmt *s, int i)
{
        const char *t = (const char *) sqlite3_column_text (s, i);

        return t ? g_intern_string (t) : NULL;
}

/* Prepare sql and bind ?1 = domain_id, ?2 = from_ms, ?3 = to_ms (those
 * it uses); NULL with *error set. */
static sqlite3_stmt *
prepare_domain (AugurStore *st, const char *sql, gint64 domain_id, gint64 from_ms,
                gint64 to_ms, GError **error)
{
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);

        if (rc != SQLITE_OK) {
                augur_store_set_sql_error (st, rc, error, "preparing the report");
                sqlite3_finalize (s);
                return NULL;
        }
        if (sqlite3_bind_parameter_count (s) >= 1)
                sqlite3_bind_int64 (s, 1, domain_id);
        if (sqlite3_bind_parameter_count (s) >= 2)
                sqlite3_bind_int64 (s, 2, from_ms);
        if (sqlite3_bind_parameter_count (s) >= 3)
                sqlite3_bind_int64 (s, 3, to_ms);
        return s;
}

/* Finish a statement stepped until rc; FALSE with *error unless DONE. */
static gboolean
finish (AugurStore *st, sqlite3_stmt *s, int rc, const char *what, GError **error)
{
        sqlite3_finalize (s);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
                augur_store_set_sql_error (st, rc, error, what);
                return FALSE;
        }
        return TRUE;
}

/* The guest's steps in the window, oldest first. */
static GArray *
load_steps (AugurStore *st, gint64 domain_id, gint64 from_ms, gint64 to_ms, GError **error)
{
        static const char sql[] =
                "SELECT ts_ms, mem_actual_kib, mem_max_kib, mem_available_kib, mem_used_kib "
                "FROM samples WHERE domain_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 "
                "AND mem_actual_kib IS NOT NULL AND mem_max_kib IS NOT NULL ORDER BY ts_ms";
        g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (Step));
        sqlite3_stmt *s = prepare_domain (st, sql, domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return NULL;
        while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                Step x = {
                        .ts_ms = sqlite3_column_int64 (s, 0),
                        .balloon_kib = augur_store_column_double_or_nan (s, 1),
                        .max_kib = augur_store_column_double_or_nan (s, 2),
                };
                double memtotal = augur_store_column_double_or_nan (s, 3);
                double used = augur_store_column_double_or_nan (s, 4);

                /* As augurd compares it with the balloon (units.h). */
                x.used_kib = used + augur_units_reservation_kib (x.balloon_kib, memtotal, x.max_kib);
                g_array_append_val (out, x);
        }
        if (!finish (st, s, rc, "reading samples for the report", error))
                return NULL;
        return g_steal_pointer (&out);
}

/* The guest's decisions in the window, oldest first, after the two that
 * carry state into it (part 0 and 1): the newest one before the window
 * that set or ended a recommendation in force, and the newest one before
 * the window (its mode).  Rows before from_ms are never scored. */
static GArray *
load_decisions (AugurStore *st, gint64 domain_id, gint64 from_ms, gint64 to_ms, GError **error)
{
        /* "domain_id = ?1" reaches each table of the view through its
         * index (store-decisions.c). */
#define DECISION_COLS "id, ts_ms, mode, mem_action, mem_target_kib, horizon_s, mem_upper_kib"
        static const char sql[] =
                "SELECT ts_ms, mode, mem_action, mem_target_kib, horizon_s, mem_upper_kib FROM ("
                "  SELECT * FROM (SELECT 0 AS part, " DECISION_COLS " FROM decisions "
                "    WHERE domain_id = ?1 AND ts_ms < ?2 "
                "    AND (mode <> 'recommend' OR mem_action LIKE 'recommend-%') "
                "    ORDER BY ts_ms DESC, id DESC LIMIT 1) "
                "  UNION ALL "
                "  SELECT * FROM (SELECT 1 AS part, " DECISION_COLS " FROM decisions "
                "    WHERE domain_id = ?1 AND ts_ms < ?2 ORDER BY ts_ms DESC, id DESC LIMIT 1) "
                "  UNION ALL "
                "  SELECT 2 AS part, " DECISION_COLS " FROM decisions "
                "    WHERE domain_id = ?1 AND ts_ms BETWEEN ?2 AND ?3) "
                "ORDER BY part, ts_ms, id";
#undef DECISION_COLS
        g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (Decision));
        sqlite3_stmt *s = prepare_domain (st, sql, domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return NULL;
        while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                Decision d = {
                        .ts_ms = sqlite3_column_int64 (s, 0),
                        .mode = col_intern (s, 1),
                        .mem_action = col_intern (s, 2),
                        .mem_target_kib = augur_store_column_double_or_nan (s, 3),
                        .horizon_s = augur_store_column_double_or_nan (s, 4),
                        .mem_upper_kib = augur_store_column_double_or_nan (s, 5),
                };

                g_array_append_val (out, d);
        }
        if (!finish (st, s, rc, "reading decisions for the report", error))
                return NULL;
        return g_steal_pointer (&out);
}

/* Modes and action counts of the window, in one aggregate. */
static gboolean
load_actions (AugurStore *st, AugurReportGuest *g, gint64 from_ms, gint64 to_ms, GError **error)
{
        static const char sql[] =
                "SELECT max(mode = 'act'), max(mode = 'recommend'), "
                "max(mode NOT IN ('act', 'recommend')), "
                "sum(mem_action NOT IN ('none', 'hold', 'failed') AND mem_action NOT LIKE 'recommend-%'), "
                "sum(mem_action LIKE 'recommend-%'), sum(mem_action = 'failed'), "
                "sum(cpu_action NOT IN ('none', 'hold', 'failed') AND cpu_action NOT LIKE 'recommend-%'), "
                "sum(cpu_action LIKE 'recommend-%'), sum(cpu_action = 'failed') "
                "FROM decisions WHERE domain_id = ?1 AND ts_ms BETWEEN ?2 AND ?3";
        sqlite3_stmt *s = prepare_domain (st, sql, g->domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return FALSE;
        rc = sqlite3_step (s);
        if (rc == SQLITE_ROW) {
                /* No rows: max() and sum() are NULL, read as 0. */
                g->modes = (sqlite3_column_int (s, 0) ? AUGUR_REPORT_MODE_ACT : 0) |
                           (sqlite3_column_int (s, 1) ? AUGUR_REPORT_MODE_RECOMMEND : 0) |
                           (sqlite3_column_int (s, 2) ? AUGUR_REPORT_MODE_OTHER : 0);
                g->mem_taken = sqlite3_column_int64 (s, 3);
                g->mem_recommended = sqlite3_column_int64 (s, 4);
                g->mem_failed = sqlite3_column_int64 (s, 5);
                g->cpu_taken = sqlite3_column_int64 (s, 6);
                g->cpu_recommended = sqlite3_column_int64 (s, 7);
                g->cpu_failed = sqlite3_column_int64 (s, 8);
        }
        return finish (st, s, rc, "counting actions for the report", error);
}

/* The guest's I/O limit actuations in the window (plugin/resize-io.c
 * writes one row per raise, restore step and yield, naming the device;
 * balloon and vCPU rows name none), by reason (policy/io-limit.h). */
static gboolean
load_io (AugurStore *st, AugurReportGuest *g, gint64 from_ms, gint64 to_ms, GError **error)
{
        static const char sql[] =
                "SELECT sum(reason IN ('forecast-burst', 'at-limit')), sum(reason = 'restore'), sum(reason = 'yield') "
                "FROM actuations WHERE domain_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 AND device IS NOT NULL";
        sqlite3_stmt *s = prepare_domain (st, sql, g->domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return FALSE;
        rc = sqlite3_step (s);
        if (rc == SQLITE_ROW) {
                g->io_raised = sqlite3_column_int64 (s, 0);
                g->io_restored = sqlite3_column_int64 (s, 1);
                g->io_yielded = sqlite3_column_int64 (s, 2);
        }
        return finish (st, s, rc, "counting I/O limit actions for the report", error);
}

/* The balloon before augur's first action on the guest (over its whole
 * history), else its first sampled balloon; NAN when neither is known. */
static gboolean
load_initial (AugurStore *st, AugurReportGuest *g, GError **error)
{
        static const char sql[] =
                "SELECT (SELECT mem_alloc_kib FROM decisions WHERE domain_id = ?1 "
                "        AND mem_alloc_kib IS NOT NULL AND mem_action NOT IN ('none', 'hold', 'failed') "
                "        ORDER BY ts_ms, id LIMIT 1), "
                "       (SELECT mem_actual_kib FROM samples WHERE domain_id = ?1 "
                "        AND mem_actual_kib IS NOT NULL ORDER BY ts_ms LIMIT 1)";
        sqlite3_stmt *s = prepare_domain (st, sql, g->domain_id, 0, 0, error);
        int rc;

        if (!s)
                return FALSE;
        rc = sqlite3_step (s);
        if (rc == SQLITE_ROW) {
                double first_alloc_kib = augur_store_column_double_or_nan (s, 0);

                if (!isnan (first_alloc_kib))
                        g->initial_kib = first_alloc_kib;
                else
                        g->initial_kib = augur_store_column_double_or_nan (s, 1);
        }
        return finish (st, s, rc, "reading the first balloon for the report", error);
}

/* OOM kills the guest's kernel counted in the window: the rises of the
 * cumulative oom_kill between consecutive channel reports (the report
 * before the window included, so a kill just before its first report
 * counts); a fall is a guest reboot, and counts nothing. */
static gboolean
load_oom_kills (AugurStore *st, AugurReportGuest *g, gint64 from_ms, gint64 to_ms, GError **error)
{
        static const char sql[] =
                "SELECT coalesce(sum(max(0, k - prev)), 0) FROM ("
                "  SELECT ts_ms, oom_kill AS k, lag(oom_kill) OVER (ORDER BY ts_ms) AS prev "
                "  FROM activity WHERE domain_id = ?1 AND source = 0 AND oom_kill IS NOT NULL "
                "  AND ts_ms <= ?3) "
                "WHERE ts_ms >= ?2 AND prev IS NOT NULL";
        sqlite3_stmt *s = prepare_domain (st, sql, g->domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return FALSE;
        rc = sqlite3_step (s);
        if (rc == SQLITE_ROW)
                g->guest_oom_kills = sqlite3_column_int64 (s, 0);
        return finish (st, s, rc, "counting guest OOM kills for the report", error);
}

/* The event a note names: its "<local time>" after RAN_OUT_PHRASE, up to
 * the " (" before the event's name (transfer full), with *ret_pressure
 * set from the name; NULL when the note names none.  Keyed by the time
 * alone: the guard raises at most one event per lead window, and a note
 * cut off at 255 bytes inside the name must still match the later rows
 * that carry the whole name.  A name cut off is an out-of-memory event. */
static char *
ran_out_key (const char *note, gboolean *ret_pressure)
{
        const char *p = note ? strstr (note, RAN_OUT_PHRASE) : NULL;
        const char *name;

        *ret_pressure = FALSE;
        if (!p)
                return NULL;
        p += strlen (RAN_OUT_PHRASE);
        name = strstr (p, " (");
        if (!name)
                return g_strdup (p);    /* cut off inside the time */
        *ret_pressure = strncmp (name + 2, PRESSURE_EVENT, strlen (PRESSURE_EVENT)) == 0 &&
                        strchr ("):", name[2 + strlen (PRESSURE_EVENT)]) != NULL &&
                        name[2 + strlen (PRESSURE_EVENT)] != '\0';
        return g_strndup (p, name - p);
}

/* The guard's events whose first mention is in the window: counted into
 * g, their times (gint64*) added to event_ms. */
static gboolean
load_guard_events (AugurStore *st, AugurReportGuest *g, gint64 from_ms, gint64 to_ms,
                   GHashTable *event_ms, GError **error)
{
        static const char sql[] =
                "SELECT ts_ms, note FROM decisions WHERE domain_id = ?1 AND ts_ms <= ?3 "
                "AND note LIKE '%" RAN_OUT_PHRASE "%' ORDER BY ts_ms, id";
        g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
        sqlite3_stmt *s = prepare_domain (st, sql, g->domain_id, from_ms, to_ms, error);
        int rc;

        if (!s)
                return FALSE;
        while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
                gint64 ts = sqlite3_column_int64 (s, 0);
                gboolean pressure = FALSE;
                char *key = ran_out_key ((const char *) sqlite3_column_text (s, 1), &pressure);

                if (!key)
                        continue;
                if (!g_hash_table_add (seen, key))
                        continue;               /* a later row of the same hold */
                if (ts < from_ms)
                        continue;
                if (pressure)
                        g->pressure_events++;
                else
                        g->oom_events++;
                g_hash_table_add (event_ms, g_memdup2 (&ts, sizeof ts));
        }
        return finish (st, s, rc, "reading the guard's events for the report", error);
}

static int
cmp_double (const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static int
cmp_tick_part (const void *a, const void *b)
{
        const TickPart *x = a, *y = b;

        return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* Nearest rank: the ceil(p × n)-th smallest (sorts v); NAN when n = 0. */
static double
percentile (double *v, gsize n, double p)
{
        gsize rank;

        if (n == 0)
                return NAN;
        qsort (v, n, sizeof *v, cmp_double);
        /* 1e-9: 0.95 × 20 is 19.000000000000004 in binary, not rank 20. */
        rank = (gsize) ceil (p * n - 1e-9);
        rank = CLAMP (rank, 1, n);
        return v[rank - 1];
}

static void
note_worst (AugurReportGuest *g, double free_kib, gint64 ts_ms, const char *name)
{
        if (isnan (free_kib) || (!isnan (g->worst_free_kib) && free_kib >= g->worst_free_kib))
                return;
        g->worst_free_kib = free_kib;
        g->worst_ms = ts_ms;
        if (name) {
                g_free (g->worst_name);
                g->worst_name = g_strdup (name);
        }
}

/* The median interval between the steps, ms (one tick); -1 with < 2. */
static gint64
median_interval_ms (const GArray *steps)
{
        g_autofree double *v = NULL;
        gsize n;

        if (steps->len < 2)
                return -1;
        n = steps->len - 1;
        v = g_new (double, n);
        for (gsize i = 0; i < n; i++)
                v[i] = (double) (g_array_index (steps, Step, i + 1).ts_ms - g_array_index (steps, Step, i).ts_ms);
        qsort (v, n, sizeof *v, cmp_double);
        return (gint64) v[n / 2];
}

/* The first step at or after ts_ms (binary search); steps->len if none. */
static guint
step_at_or_after (const GArray *steps, gint64 ts_ms)
{
        guint lo = 0, hi = steps->len;

        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;

                if (g_array_index (steps, Step, mid).ts_ms < ts_ms)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Walk the steps and decisions of one guest (store-report.h THE
 * ALLOCATION, THE FIGURES); add its (ts, reclaimed) to ticks. */
static void
walk_guest (AugurReportGuest *g, const GArray *steps, const GArray *decisions,
            GHashTable *event_ms, gint64 from_ms, double margin_frac, GArray *ticks)
{
        g_autofree double *reclaimed = g_new (double, MAX (steps->len, 1));
        gboolean recommending = FALSE;
        double rec_kib = NAN;
        guint d = 0;
        gint64 tick_ms;

        for (guint i = 0; i < steps->len; i++) {
                const Step *x = &g_array_index (steps, Step, i);
                double alloc = x->balloon_kib, base, dt_s = 0;
                gboolean short_step;

                /* A decision takes effect from the step after it: its own
                 * tick's sample was taken before it was made. */
                for (; d < decisions->len && g_array_index (decisions, Decision, d).ts_ms < x->ts_ms; d++) {
                        const Decision *r = &g_array_index (decisions, Decision, d);

                        recommending = r->mode && strcmp (r->mode, "recommend") == 0;
                        if (!recommending)
                                rec_kib = NAN;
                        else if (r->mem_action && g_str_has_prefix (r->mem_action, "recommend-") &&
                                 !isnan (r->mem_target_kib))
                                rec_kib = r->mem_target_kib;
                }
                if (recommending && !isnan (rec_kib)) {
                        alloc = rec_kib;
                        g->recommended_steps++;
                }
                if (i + 1 < steps->len)
                        dt_s = MIN ((g_array_index (steps, Step, i + 1).ts_ms - x->ts_ms) / 1000.0,
                                    AUGUR_MAX_RATE_GAP_S);
                base = g->baseline == AUGUR_REPORT_BASELINE_INITIAL ? g->initial_kib : x->max_kib;
                g->span_s += dt_s;
                g->saved_kib_s += (base - alloc) * dt_s;
                g->saved_vs_max_kib_s += (x->max_kib - alloc) * dt_s;
                reclaimed[i] = x->max_kib - alloc;
                g_array_append_vals (ticks, &(TickPart) { x->ts_ms, reclaimed[i] }, 1);

                short_step = g_hash_table_remove (event_ms, &x->ts_ms);
                if (!isnan (x->used_kib)) {
                        g->used_steps++;
                        if (x->used_kib >= (1 - margin_frac) * alloc)
                                short_step = TRUE;
                }
                if (short_step) {
                        g->shortfall_steps++;
                        note_worst (g, alloc - x->used_kib, x->ts_ms, NULL);
                }
        }
        /* An event at a time with no step (no sample, or one without a
         * balloon) is still a shortfall, of unknown depth. */
        g->shortfall_steps += g_hash_table_size (event_ms);

        g->steps = steps->len;
        if (steps->len > 0) {
                const Step *last = &g_array_index (steps, Step, steps->len - 1);

                g->first_ms = g_array_index (steps, Step, 0).ts_ms;
                g->last_ms = last->ts_ms;
                g->max_kib = last->max_kib;
                g->baseline_kib = g->baseline == AUGUR_REPORT_BASELINE_INITIAL ? g->initial_kib : last->max_kib;
                g->reclaimed_p95_kib = percentile (reclaimed, steps->len, AUGUR_REPORT_PERCENTILE);
                g->reclaimed_peak_kib = reclaimed[steps->len - 1];  /* sorted */
        }

        /* Coverage: the used memory one horizon later against the bound. */
        tick_ms = median_interval_ms (steps);
        for (guint k = 0; tick_ms >= 0 && k < decisions->len; k++) {
                const Decision *r = &g_array_index (decisions, Decision, k);
                gint64 due_ms;
                guint j;
                const Step *y;

                if (r->ts_ms < from_ms || isnan (r->horizon_s) || isnan (r->mem_upper_kib))
                        continue;
                due_ms = r->ts_ms + (gint64) llround (r->horizon_s * 1000);
                j = step_at_or_after (steps, due_ms);
                if (j >= steps->len)
                        continue;
                y = &g_array_index (steps, Step, j);
                if (y->ts_ms - due_ms > tick_ms || isnan (y->used_kib))
                        continue;
                g->coverage_rows++;
                if (y->used_kib <= r->mem_upper_kib)
                        g->coverage_hits++;
        }
}

/* Add guest g into the host's totals (all but the per-tick figures). */
static void
add_to_host (AugurReportGuest *h, const AugurReportGuest *g)
{
        h->modes |= g->modes;
        h->baseline_kib = (isnan (h->baseline_kib) ? 0 : h->baseline_kib) + g->baseline_kib;
        h->max_kib = (isnan (h->max_kib) ? 0 : h->max_kib) + g->max_kib;
        if (h->first_ms < 0 || g->first_ms < h->first_ms)
                h->first_ms = g->first_ms;
        h->last_ms = MAX (h->last_ms, g->last_ms);
        h->steps += g->steps;
        h->recommended_steps += g->recommended_steps;
        h->saved_kib_s += g->saved_kib_s;
        h->saved_vs_max_kib_s += g->saved_vs_max_kib_s;
        h->used_steps += g->used_steps;
        h->shortfall_steps += g->shortfall_steps;
        note_worst (h, g->worst_free_kib, g->worst_ms, g->name);
        h->oom_events += g->oom_events;
        h->pressure_events += g->pressure_events;
        h->guest_oom_kills += g->guest_oom_kills;
        h->mem_taken += g->mem_taken;
        h->mem_recommended += g->mem_recommended;
        h->mem_failed += g->mem_failed;
        h->cpu_taken += g->cpu_taken;
        h->cpu_recommended += g->cpu_recommended;
        h->cpu_failed += g->cpu_failed;
        h->io_raised += g->io_raised;
        h->io_restored += g->io_restored;
        h->io_yielded += g->io_yielded;
        h->coverage_rows += g->coverage_rows;
        h->coverage_hits += g->coverage_hits;
}

/* The host's per-tick figures: sum each time's parts, then peak and p95. */
static void
host_ticks (AugurReportGuest *h, GArray *ticks)
{
        g_autofree double *sums = g_new (double, MAX (ticks->len, 1));
        gsize n = 0;

        g_array_sort (ticks, cmp_tick_part);
        for (guint i = 0; i < ticks->len; i++) {
                const TickPart *t = &g_array_index (ticks, TickPart, i);

                if (i == 0 || t->ts_ms != g_array_index (ticks, TickPart, i - 1).ts_ms)
                        sums[n++] = 0;
                sums[n - 1] += t->reclaimed_kib;
        }
        h->ticks = n;
        h->span_s = h->first_ms >= 0 ? (h->last_ms - h->first_ms) / 1000.0 : 0;
        if (n > 0) {
                h->reclaimed_p95_kib = percentile (sums, n, AUGUR_REPORT_PERCENTILE);
                h->reclaimed_peak_kib = sums[n - 1];
        }
}

AugurReport *
augur_store_report (AugurStore *st, gint64 from_ms, gint64 to_ms, double margin_frac,
                    GError **error)
{
        g_autoptr(AugurReport) r = g_new0 (AugurReport, 1);
        g_autoptr(GPtrArray) doms = NULL;
        g_autoptr(GArray) ticks = g_array_new (FALSE, FALSE, sizeof (TickPart));

        g_return_val_if_fail (st != NULL, NULL);
        g_return_val_if_fail (margin_frac >= 0 && margin_frac <= 1, NULL);

        r->from_ms = from_ms;
        r->to_ms = to_ms;
        r->margin_frac = margin_frac;
        r->guests = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_free);
        guest_init (&r->host);
        r->host.name = g_strdup ("host");

        if (!(doms = augur_store_list_domains (st, error)))
                return NULL;
        for (guint i = 0; i < doms->len; i++) {
                const AugurDomainInfo *info = doms->pdata[i];
                g_autoptr(GArray) steps = NULL, decisions = NULL;
                g_autoptr(GHashTable) event_ms = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
                AugurReportGuest *g;

                if (!(steps = load_steps (st, info->id, from_ms, to_ms, error)))
                        return NULL;
                if (steps->len == 0)
                        continue;               /* not live in the window */
                g = g_new (AugurReportGuest, 1);
                guest_init (g);
                g->domain_id = info->id;
                g->uuid = g_strdup (info->uuid);
                g->name = g_strdup (info->name);
                g_ptr_array_add (r->guests, g);

                if (!(decisions = load_decisions (st, info->id, from_ms, to_ms, error)) ||
                    !load_actions (st, g, from_ms, to_ms, error) ||
                    !load_io (st, g, from_ms, to_ms, error) ||
                    !load_initial (st, g, error) ||
                    !load_oom_kills (st, g, from_ms, to_ms, error) ||
                    !load_guard_events (st, g, from_ms, to_ms, event_ms, error))
                        return NULL;
                /* The baseline: the maximum, unless an admin had the
                 * guest at a smaller balloon before augur acted. */
                if (!isnan (g->initial_kib) &&
                    g->initial_kib < g_array_index (steps, Step, 0).max_kib - AUGUR_REPORT_AT_MAX_KIB)
                        g->baseline = AUGUR_REPORT_BASELINE_INITIAL;
                walk_guest (g, steps, decisions, event_ms, from_ms, margin_frac, ticks);
                add_to_host (&r->host, g);
        }
        host_ticks (&r->host, ticks);
        return g_steal_pointer (&r);
}
