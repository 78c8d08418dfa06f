/* trace.c — trace readers (Bitbrains, Azure, augur CSV, PlanetLab, Alibaba):
 * what each format's rows mean, the cleaning rules, and the dispatch
 * behind augur_trace_read().  See trace.h for the cleaning rules.
 *
 * What it is not: a resampler (readers keep the source's own timestamps;
 * model/dataset.c puts series on a step grid), the reading of files as
 * lines and rows (trace-rows.c), or the writer (trace-write.c).
 *
 * PER-FORMAT NOTES
 *   Bitbrains  separator ";\t" (we split on ';' and trim blanks); columns
 *              found by header name; "Timestamp [ms]" is unix seconds.
 *              VM name "bb-<file id>" (file name up to the first '.').
 *   Azure      "step,<vmid>,...": ts = start_s + 300 s * (step - 1).
 *   augur      RFC 4180: quoted fields may hold ',', '""' and newlines;
 *              columns by header name, unknown ones ignored; "vm", "ts" and
 *              one of cpu_pct / mem_used_kib are required.
 *   PlanetLab  one member per VM-day, 288 lines of integer CPU %, 300 s
 *              apart; the day is the YYYYMMDD found in the member's
 *              directory or the archive name (UTC midnight), shifted so the
 *              earliest day starts at start_s when start_set.  Members with
 *              the same name on several days form one series.
 *   Alibaba    machine_usage v2018, no header: machine_id, time_stamp
 *              (trace-relative s, + start_s), cpu %, mem %, mem_gps, mkpi,
 *              net_in, net_out, disk_io_percent.  Memory is a percentage
 *              only, so it is carried as mem_prov_kib = ALIBABA_MEM_KIB
 *              (a nominal 100 MiB) and mem_used_kib = pct * 1024, which
 *              keeps mem_pct exact.  Net and disk are normalised 0-100
 *              scores, not KiB/s, so they are not mapped.
 */
#include "trace.h"
#include "util.h"
#include "trace-rows.h"
#include "tar.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

G_DEFINE_QUARK (augur-trace-error-quark, augur_trace_error)

#define ALIBABA_MEM_KIB     102400.0f  /* nominal capacity: 100 MiB, so used = pct * 1024 */
#define AZURE_STEP_S        300        /* DataCenterSim doc: 300 s between rows          */
#define PLANETLAB_STEP_S    300        /* CoMon: one value per 5 min                      */
#define PLANETLAB_DAY_ROWS  288        /* 24 h / 5 min                                    */
#define MAX_TS_S            G_GINT64_CONSTANT (4294967295)  /* R1: 2106-02-07 */

const AugurTraceStatInfo augur_trace_stat_info[] = {
        { "files", "files or archive members read", offsetof (AugurTraceStats, files) },
        { "rows_read", "data rows seen", offsetof (AugurTraceStats, rows_read) },
        { "rows_kept", "rows stored in a series", offsetof (AugurTraceStats, rows_kept) },
        { "rows_garbage", "R1 unparsable row or timestamp: row dropped", offsetof (AugurTraceStats, rows_garbage) },
        { "values_nan", "R2 non-numeric/NaN/Inf value: missing", offsetof (AugurTraceStats, values_nan) },
        { "values_negative", "R3 negative value: missing", offsetof (AugurTraceStats, values_negative) },
        { "values_absurd", "R4 value above physical bound: missing", offsetof (AugurTraceStats, values_absurd) },
        { "mem_capacity_zero", "R5 memory capacity 0: memory missing", offsetof (AugurTraceStats, mem_capacity_zero) },
        { "mem_over_capacity", "R6 memory used > capacity: used missing", offsetof (AugurTraceStats, mem_over_capacity) },
        { "rows_duplicate_ts", "R7 duplicate (vm, ts): later row wins", offsetof (AugurTraceStats, rows_duplicate_ts) },
        { "rows_unordered", "R8 row older than the previous one: sorted", offsetof (AugurTraceStats, rows_unordered) },
        { "series_too_short", "R9 series below min rows: dropped", offsetof (AugurTraceStats, series_too_short) },
        { "series", "series returned", offsetof (AugurTraceStats, series) },
        { NULL, NULL, 0 },
};

static const char *const format_names[] = {
        [AUGUR_TRACE_FORMAT_AUTO] = "auto",
        [AUGUR_TRACE_FORMAT_AUGUR] = "augur",
        [AUGUR_TRACE_FORMAT_BITBRAINS] = "bitbrains",
        [AUGUR_TRACE_FORMAT_AZURE] = "azure",
        [AUGUR_TRACE_FORMAT_PLANETLAB] = "planetlab",
        [AUGUR_TRACE_FORMAT_ALIBABA] = "alibaba",
};

gboolean
augur_trace_format_from_name (const char *name, AugurTraceFormat *ret_fmt, GError **error)
{
        if (name == NULL) {
                *ret_fmt = AUGUR_TRACE_FORMAT_AUTO;
                return TRUE;
        }
        for (guint i = 0; i < G_N_ELEMENTS (format_names); i++) {
                if (g_ascii_strcasecmp (name, format_names[i]) == 0) {
                        *ret_fmt = (AugurTraceFormat) i;
                        return TRUE;
                }
        }
        g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_INVAL,
                     "unknown trace format '%s' (expected auto, augur, bitbrains, azure, planetlab or alibaba)",
                     name);
        return FALSE;
}

const char *
augur_trace_format_name (AugurTraceFormat fmt)
{
        g_return_val_if_fail ((guint) fmt < G_N_ELEMENTS (format_names), NULL);
        return format_names[fmt];
}

char *
augur_trace_stats_format (const AugurTraceStats *st)
{
        GString *s = g_string_new (NULL);

        for (const AugurTraceStatInfo *i = augur_trace_stat_info; i->name; i++) {
                guint64 v = augur_trace_stats_get (st, i);

                if (v == 0)
                        continue;
                g_string_append_printf (s, "  %-18s %10" G_GUINT64_FORMAT "  (%s)\n",
                                        i->name, v, i->rule);
        }
        return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------ cleaning */

static double
col_bound (AugurCol c)
{
        switch (c) {
        case AUGUR_COL_CPU_PCT:
                return AUGUR_TRACE_MAX_CPU_PCT;
        case AUGUR_COL_CPU_CORES:
                return AUGUR_TRACE_MAX_CPU_CORES;
        case AUGUR_COL_MEM_PROV_KIB:
        case AUGUR_COL_MEM_USED_KIB:
                return AUGUR_TRACE_MAX_MEM_KIB;
        case AUGUR_COL_DISK_RD_KIBPS:
        case AUGUR_COL_DISK_WR_KIBPS:
        case AUGUR_COL_NET_RX_KIBPS:
        case AUGUR_COL_NET_TX_KIBPS:
                return AUGUR_TRACE_MAX_IO_KIBPS;
        case AUGUR_COL_HOST_PSI_CPU:
        case AUGUR_COL_HOST_PSI_MEM:
        case AUGUR_COL_HOST_PSI_IO:
                return 100.0;
        default:
                return AUGUR_TRACE_MAX_PER_MIN;
        }
}

/* Rules R2-R4 on one value; returns the cleaned value or NAN. */
static float
clean_number (AugurCol c, double v, AugurTraceStats *st)
{
        if (isnan (v) || isinf (v)) {
                st->values_nan++;
                return NAN;
        }
        if (v < 0) {
                st->values_negative++;
                return NAN;
        }
        if (v > col_bound (c)) {
                st->values_absurd++;
                return NAN;
        }
        return (float) v;
}

/* Parse and clean a cell; an empty cell is missing (not counted). */
static float
clean_cell (AugurCol c, const char *cell, AugurTraceStats *st)
{
        const char *end = NULL;
        double v;

        while (g_ascii_isspace (*cell))
                cell++;
        if (*cell == '\0')
                return NAN;
        /* Decimal only (util.h): no hex ("0x10"), no "inf"/"nan" words. */
        if (!augur_parse_decimal (cell, &v, &end)) {
                st->values_nan++;
                return NAN;
        }
        while (g_ascii_isspace (*end))
                end++;
        if (*end != '\0') {
                st->values_nan++;
                return NAN;
        }
        return clean_number (c, v, st);
}

static gboolean
parse_ts (const char *cell, gint64 *ret_ts)
{
        const char *end = NULL;
        double v;

        while (g_ascii_isspace (*cell))
                cell++;
        if (*cell == '\0' || !augur_parse_decimal (cell, &v, &end))
                return FALSE;
        while (g_ascii_isspace (*end))
                end++;
        if (*end != '\0' || v < 0 || v > (double) MAX_TS_S)
                return FALSE;
        *ret_ts = (gint64) llround (v);
        return TRUE;
}

/* One parsed row before it is stored. */
typedef struct {
        float v[AUGUR_COL_N];
        gboolean has[AUGUR_COL_N];
} Row;

static void
row_reset (Row *r)
{
        for (int c = 0; c < AUGUR_COL_N; c++) {
                r->v[c] = NAN;
                r->has[c] = FALSE;
        }
}

/* Rules R5 and R6. */
static void
row_clean_memory (Row *r, AugurTraceStats *st)
{
        float prov = r->v[AUGUR_COL_MEM_PROV_KIB];
        float used = r->v[AUGUR_COL_MEM_USED_KIB];

        if (!r->has[AUGUR_COL_MEM_PROV_KIB] || isnan (prov))
                return;
        if (prov == 0.0f) {
                st->mem_capacity_zero++;
                r->v[AUGUR_COL_MEM_PROV_KIB] = NAN;
                r->v[AUGUR_COL_MEM_USED_KIB] = NAN;
                return;
        }
        if (!isnan (used) && used > prov) {
                st->mem_over_capacity++;
                r->v[AUGUR_COL_MEM_USED_KIB] = NAN;
        }
}

/* Collects series by VM name; tracks ordering for R8. */
typedef struct {
        GHashTable *by_name;   /* vm → AugurSeries* (owned)      */
        GHashTable *last_ts;   /* vm → gint64* last ts appended  */
} SeriesSet;

static void
series_set_init (SeriesSet *set)
{
        set->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify) augur_series_free);
        set->last_ts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
series_set_clear (SeriesSet *set)
{
        g_clear_pointer (&set->by_name, g_hash_table_unref);
        g_clear_pointer (&set->last_ts, g_hash_table_unref);
}

static AugurSeries *
series_set_get (SeriesSet *set, const char *vm)
{
        AugurSeries *s = g_hash_table_lookup (set->by_name, vm);

        if (!s) {
                s = augur_series_new (vm);
                g_hash_table_insert (set->by_name, s->vm, s);
        }
        return s;
}

static void
series_set_add_row (SeriesSet *set, const char *vm, gint64 ts, const Row *r, AugurTraceStats *st)
{
        AugurSeries *s = series_set_get (set, vm);
        gint64 *last = g_hash_table_lookup (set->last_ts, vm);
        gsize i;

        if (!last) {
                last = g_new (gint64, 1);
                *last = G_MININT64;
                g_hash_table_insert (set->last_ts, g_strdup (vm), last);
        }
        if (ts < *last)
                st->rows_unordered++;
        else
                *last = ts;
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (r->has[c])
                        augur_series_ensure_col (s, (AugurCol) c);
        i = augur_series_append (s, ts);
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (r->has[c])
                        s->col[c][i] = r->v[c];
        st->rows_kept++;
}

/* Sort, merge duplicates (R7) and hand the series over. */
static GPtrArray *
series_set_finish (SeriesSet *set, AugurTraceStats *st)
{
        GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init (&it, set->by_name);
        while (g_hash_table_iter_next (&it, NULL, &value)) {
                AugurSeries *s = value;
                gsize before = s->n;

                g_hash_table_iter_steal (&it);
                augur_series_sort_dedup (s);
                st->rows_duplicate_ts += before - s->n;
                g_ptr_array_add (out, s);
        }
        series_set_clear (set);
        return out;
}

/* ------------------------------------------------------------ bitbrains */

typedef struct {
        const char *header;
        AugurCol col;
} HeaderMap;

static const HeaderMap bitbrains_map[] = {
        { "CPU cores", AUGUR_COL_CPU_CORES },
        { "CPU usage [%]", AUGUR_COL_CPU_PCT },
        { "Memory capacity provisioned [KB]", AUGUR_COL_MEM_PROV_KIB },
        { "Memory usage [KB]", AUGUR_COL_MEM_USED_KIB },
        { "Disk read throughput [KB/s]", AUGUR_COL_DISK_RD_KIBPS },
        { "Disk write throughput [KB/s]", AUGUR_COL_DISK_WR_KIBPS },
        { "Network received throughput [KB/s]", AUGUR_COL_NET_RX_KIBPS },
        { "Network transmitted throughput [KB/s]", AUGUR_COL_NET_TX_KIBPS },
};

#define MAX_FIELDS 64

static char *
file_id (const char *path)
{
        g_autofree char *base = g_path_get_basename (path);
        char *dot = strchr (base, '.');

        if (dot && dot != base)
                *dot = '\0';
        return g_steal_pointer (&base);
}

static gboolean
read_bitbrains_file (const char *path, SeriesSet *set, AugurTraceStats *st, GError **error)
{
        g_auto (AugurTraceRows) rr = { 0 };
        g_autofree char *id = file_id (path);
        g_autofree char *vm = g_strdup_printf ("bb-%s", id);
        char **fields;
        int map[MAX_FIELDS];
        int ts_field = -1;
        guint nhdr, n;

        if (!augur_trace_rows_open (&rr, path, ';', MAX_FIELDS, st, error))
                return FALSE;
        if (!augur_trace_rows_header (&rr, &fields, &nhdr))
                return augur_trace_rows_end (&rr, error);   /* empty file: nothing to add */
        if (nhdr > MAX_FIELDS) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                             "%s: too many columns (%u)", path, nhdr);
                return FALSE;
        }
        for (guint i = 0; i < nhdr; i++) {
                map[i] = -1;
                if (g_str_has_prefix (fields[i], "Timestamp"))
                        ts_field = (int) i;
                for (guint k = 0; k < G_N_ELEMENTS (bitbrains_map); k++)
                        if (g_ascii_strcasecmp (fields[i], bitbrains_map[k].header) == 0)
                                map[i] = (int) bitbrains_map[k].col;
        }
        if (ts_field < 0) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                             "%s: not a Bitbrains file (no \"Timestamp\" column in the header)", path);
                return FALSE;
        }

        while (augur_trace_rows_next (&rr, &fields, &n, NULL)) {
                Row r;
                gint64 ts;

                /* A trailing ';' would add one empty field; accept it.  Only
                 * MAX_FIELDS fields are kept, so with a 64-column header such
                 * a row stays garbage (it always was: the reader used to look
                 * one past its array there). */
                if (n == nhdr + 1 && nhdr < MAX_FIELDS && fields[nhdr][0] == '\0')
                        n = nhdr;
                if (n != nhdr || !parse_ts (fields[ts_field], &ts)) {
                        st->rows_garbage++;
                        continue;
                }
                row_reset (&r);
                for (guint i = 0; i < nhdr; i++) {
                        if (map[i] < 0)
                                continue;
                        r.has[map[i]] = TRUE;
                        r.v[map[i]] = clean_cell ((AugurCol) map[i], fields[i], st);
                }
                row_clean_memory (&r, st);
                series_set_add_row (set, vm, ts, &r, st);
        }
        return augur_trace_rows_end (&rr, error);
}

/* ---------------------------------------------------------------- azure */

static gboolean
read_azure_file (const char *path, const AugurTraceOpts *opts, SeriesSet *set,
                 AugurTraceStats *st, GError **error)
{
        g_auto (AugurTraceRows) rr = { 0 };
        g_auto (GStrv) names = NULL;
        char **cv;
        guint nvm, n;

        /* The header keeps every field (one per VM); rows as many. */
        if (!augur_trace_rows_open (&rr, path, ',', G_MAXUINT, st, error))
                return FALSE;
        if (!augur_trace_rows_header (&rr, &cv, &nvm))
                return augur_trace_rows_end (&rr, error);
        if (nvm < 2 || g_strcmp0 (cv[0], "step") != 0) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                             "%s: not an Azure matrix CSV (header must start with \"step,\")", path);
                return FALSE;
        }
        for (guint i = 1; i < nvm; i++) {
                if (cv[i][0] == '\0') {
                        g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                                     "%s: empty VM id in header column %u", path, i + 1);
                        return FALSE;
                }
        }
        names = g_new0 (char *, nvm + 1);
        for (guint i = 0; i < nvm; i++)
                names[i] = g_strdup (cv[i]);
        for (guint i = 1; i < nvm; i++)
                augur_series_ensure_col (series_set_get (set, names[i]), AUGUR_COL_CPU_PCT);
        rr.max_fields = nvm;

        while (augur_trace_rows_next (&rr, &cv, &n, NULL)) {
                gint64 step;

                if (n != nvm || !parse_ts (cv[0], &step) || step < 1) {
                        st->rows_garbage++;
                        continue;
                }
                for (guint i = 1; i < nvm; i++) {
                        Row r;

                        row_reset (&r);
                        r.has[AUGUR_COL_CPU_PCT] = TRUE;
                        r.v[AUGUR_COL_CPU_PCT] = clean_cell (AUGUR_COL_CPU_PCT, cv[i], st);
                        series_set_add_row (set, names[i],
                                            opts->start_s + AZURE_STEP_S * (step - 1), &r, st);
                }
                /* rows_kept counts matrix rows, not cells. */
                st->rows_kept -= nvm - 2;
        }
        return augur_trace_rows_end (&rr, error);
}

/* ---------------------------------------------------------------- augur */

static gboolean
read_augur_file (const char *path, SeriesSet *set, AugurTraceStats *st, GError **error)
{
        g_auto (AugurTraceRows) rr = { 0 };
        g_autofree int *map = NULL;
        char **fields;
        int vm_field = -1, ts_field = -1;
        gboolean has_target = FALSE;
        gboolean bad = FALSE;
        guint nhdr, n;

        if (!augur_trace_rows_open (&rr, path, '\0', 0, st, error))
                return FALSE;
        if (!augur_trace_rows_header (&rr, &fields, &nhdr))
                return augur_trace_rows_end (&rr, error);
        map = g_new (int, nhdr);
        for (guint i = 0; i < nhdr; i++) {
                const char *name = fields[i];

                map[i] = -1;
                if (g_strcmp0 (name, "vm") == 0)
                        vm_field = (int) i;
                else if (g_strcmp0 (name, "ts") == 0)
                        ts_field = (int) i;
                else
                        map[i] = augur_col_from_name (name);
                if (map[i] == AUGUR_COL_CPU_PCT || map[i] == AUGUR_COL_MEM_USED_KIB)
                        has_target = TRUE;
        }
        if (vm_field < 0 || ts_field < 0 || !has_target) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                             "%s: augur trace CSV header needs \"vm\", \"ts\" and one of "
                             "\"cpu_pct\" or \"mem_used_kib\"", path);
                return FALSE;
        }

        while (augur_trace_rows_next (&rr, &fields, &n, &bad)) {
                Row r;
                gint64 ts;
                const char *vm;

                if (bad || n != nhdr) {
                        st->rows_garbage++;
                        continue;
                }
                vm = fields[vm_field];
                if (vm[0] == '\0' || !parse_ts (fields[ts_field], &ts)) {
                        st->rows_garbage++;
                        continue;
                }
                row_reset (&r);
                for (guint i = 0; i < nhdr; i++) {
                        if (map[i] < 0)
                                continue;
                        r.has[map[i]] = TRUE;
                        r.v[map[i]] = clean_cell ((AugurCol) map[i], fields[i], st);
                }
                row_clean_memory (&r, st);
                series_set_add_row (set, vm, ts, &r, st);
        }
        return augur_trace_rows_end (&rr, error);
}

/* -------------------------------------------------------------- alibaba */

static gboolean
read_alibaba_file (const char *path, const AugurTraceOpts *opts, SeriesSet *set,
                   AugurTraceStats *st, GError **error)
{
        g_auto (AugurTraceRows) rr = { 0 };
        char **fld;
        guint n;

        /* No header: machine_usage.csv starts with data. */
        if (!augur_trace_rows_open (&rr, path, ',', MAX_FIELDS, st, error))
                return FALSE;
        while (augur_trace_rows_next (&rr, &fld, &n, NULL)) {
                Row r;
                gint64 t;
                float pct;

                if (n != 9 || fld[0][0] == '\0' || !parse_ts (fld[1], &t)) {
                        st->rows_garbage++;
                        continue;
                }
                row_reset (&r);
                r.has[AUGUR_COL_CPU_PCT] = TRUE;
                r.v[AUGUR_COL_CPU_PCT] = clean_cell (AUGUR_COL_CPU_PCT, fld[2], st);
                pct = clean_cell (AUGUR_COL_CPU_PCT, fld[3], st);
                r.has[AUGUR_COL_MEM_PROV_KIB] = TRUE;
                r.has[AUGUR_COL_MEM_USED_KIB] = TRUE;
                r.v[AUGUR_COL_MEM_PROV_KIB] = ALIBABA_MEM_KIB;
                r.v[AUGUR_COL_MEM_USED_KIB] = isnan (pct) ? NAN : pct * 1024.0f;
                row_clean_memory (&r, st);
                series_set_add_row (set, fld[0], opts->start_s + t, &r, st);
        }
        return augur_trace_rows_end (&rr, error);
}

/* ------------------------------------------------------------ planetlab */

/* UTC midnight of the first "YYYYMMDD" (8 digits, 1970..2105) in s, or -1. */
static gint64
find_day_s (const char *s)
{
        for (const char *p = s; *p; p++) {
                int y, m, d;
                g_autoptr (GDateTime) dt = NULL;
                gboolean ok = TRUE;

                for (int k = 0; k < 8; k++)
                        if (!g_ascii_isdigit (p[k])) {
                                ok = FALSE;
                                break;
                        }
                if (!ok || g_ascii_isdigit (p[8]) || (p > s && g_ascii_isdigit (p[-1])))
                        continue;
                y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
                m = (p[4] - '0') * 10 + (p[5] - '0');
                d = (p[6] - '0') * 10 + (p[7] - '0');
                if (y < 1970 || y > 2105 || m < 1 || m > 12 || d < 1 || d > 31)
                        continue;
                dt = g_date_time_new_utc (y, m, d, 0, 0, 0);
                if (dt)
                        return g_date_time_to_unix (dt);
        }
        return -1;
}

/* One PlanetLab VM-day in memory, collected before the days are placed. */
typedef struct {
        char *vm;
        gint64 day_s;          /* -1 = unknown */
        float v[PLANETLAB_DAY_ROWS];
        guint n;
} PlDay;

static void
pl_day_free (PlDay *d)
{
        g_free (d->vm);
        g_free (d);
}

/* Read the day file f (a file, or a tar member; taken over) named name
 * into days: one CPU % per line, no header. */
static gboolean
read_planetlab_day (AugurTraceFile *f, const char *name, gint64 day_s, GPtrArray *days,
                    AugurTraceStats *st, GError **error)
{
        g_auto (AugurTraceRows) rr = { 0 };
        PlDay *d = g_new0 (PlDay, 1);
        char **cell;
        guint n;

        d->vm = g_path_get_basename (name);
        d->day_s = day_s;
        augur_trace_rows_init (&rr, f, '\n', 1, st);
        while (augur_trace_rows_next (&rr, &cell, &n, NULL)) {
                if (d->n >= PLANETLAB_DAY_ROWS) {
                        st->rows_garbage++;   /* more than one day of rows */
                        continue;
                }
                d->v[d->n++] = clean_cell (AUGUR_COL_CPU_PCT, cell[0], st);
        }
        if (!augur_trace_rows_end (&rr, error)) {
                pl_day_free (d);
                return FALSE;
        }
        g_ptr_array_add (days, d);
        return TRUE;
}

/* One PlanetLab archive being read: its members are day files. */
typedef struct {
        GPtrArray *days;
        AugurTraceStats *st;
        gint64 archive_day;          /* day in the archive's name, -1 = none */
} PlTar;

static gboolean
pl_tar_member (const char *name, const char *data, gsize size, gpointer user_data, GError **error)
{
        PlTar *t = user_data;
        gint64 day = find_day_s (name);

        return read_planetlab_day (augur_trace_file_new_memory (name, data, size), name,
                                   day >= 0 ? day : t->archive_day, t->days, t->st, error);
}

static gboolean
read_planetlab_tar (const char *path, GPtrArray *days, AugurTraceStats *st, GError **error)
{
        g_autofree char *what = g_strdup_printf ("a PlanetLab day file (288 values; limit %d bytes)",
                                                 AUGUR_TRACE_MAX_DAY_BYTES);
        PlTar t = { days, st, find_day_s (path) };
        GError *local = NULL;

        if (augur_tar_read (path, AUGUR_TRACE_MAX_DAY_BYTES, what, pl_tar_member, &t, &local))
                return TRUE;
        /* The archive's errors in this module's domain (trace.h codes). */
        if (local->domain == AUGUR_TAR_ERROR) {
                switch (local->code) {
                case AUGUR_TAR_ERROR_FORMAT:
                        local->code = AUGUR_TRACE_ERROR_FORMAT;
                        break;
                case AUGUR_TAR_ERROR_TOO_BIG:
                        local->code = AUGUR_TRACE_ERROR_TOO_LONG;
                        break;
                default:
                        local->code = AUGUR_TRACE_ERROR_IO;
                        break;
                }
                local->domain = AUGUR_TRACE_ERROR;
        }
        g_propagate_error (error, local);
        return FALSE;
}

static void
stats_add (AugurTraceStats *to, const AugurTraceStats *from)
{
        for (const AugurTraceStatInfo *i = augur_trace_stat_info; i->name; i++)
                *(guint64 *) ((char *) to + i->offset) += augur_trace_stats_get (from, i);
}

static gboolean
read_planetlab_plain (const char *path, GPtrArray *days, AugurTraceStats *st, GError **error)
{
        AugurTraceFile *f = augur_trace_file_open (path, error);
        AugurTraceStats day = { 0 };

        if (!f)
                return FALSE;
        f->max_bytes = AUGUR_TRACE_MAX_DAY_BYTES;
        f->too_big_for = "a PlanetLab day file (288 values)";
        /* Counted once the whole file is read, like a tar member: a file
         * that fails its limit or its read adds nothing to the stats. */
        if (!read_planetlab_day (f, path, find_day_s (path), days, &day, error))
                return FALSE;
        stats_add (st, &day);
        return TRUE;
}

static gboolean
is_tar_name (const char *path)
{
        return g_str_has_suffix (path, ".tar.gz") || g_str_has_suffix (path, ".tgz")
               || g_str_has_suffix (path, ".tar");
}

static int
cmp_pl_day (gconstpointer a, gconstpointer b)
{
        const PlDay *x = *(PlDay *const *) a, *y = *(PlDay *const *) b;
        int c = g_strcmp0 (x->vm, y->vm);

        if (c != 0)
                return c;
        return (x->day_s > y->day_s) - (x->day_s < y->day_s);
}

/* Place collected PlanetLab days on the time axis (see the header). */
static void
planetlab_place_days (GPtrArray *days, const AugurTraceOpts *opts, SeriesSet *set,
                      AugurTraceStats *st)
{
        gint64 first_day = G_MAXINT64;
        gint64 shift;

        for (guint i = 0; i < days->len; i++) {
                const PlDay *d = g_ptr_array_index (days, i);

                if (d->day_s >= 0)
                        first_day = MIN (first_day, d->day_s);
        }
        if (first_day == G_MAXINT64)
                first_day = 0;
        shift = opts->start_set ? opts->start_s - first_day : 0;
        g_ptr_array_sort (days, cmp_pl_day);
        for (guint i = 0; i < days->len; i++) {
                const PlDay *d = g_ptr_array_index (days, i);
                gint64 t0 = (d->day_s >= 0 ? d->day_s + shift : opts->start_s);

                for (guint k = 0; k < d->n; k++) {
                        Row r;

                        row_reset (&r);
                        r.has[AUGUR_COL_CPU_PCT] = TRUE;
                        r.v[AUGUR_COL_CPU_PCT] = d->v[k];
                        series_set_add_row (set, d->vm, t0 + (gint64) k * PLANETLAB_STEP_S, &r, st);
                }
        }
}

/* ------------------------------------------------------------- dispatch */

static int
cmp_str_ptr (gconstpointer a, gconstpointer b)
{
        return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Regular files of a directory in name order (transfer full), or of the
 * single file path. */
static GPtrArray *
list_inputs (const char *path, GError **error)
{
        g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
        g_autoptr (GDir) dir = NULL;
        const char *name;

        if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_IO,
                             "'%s': no such file or directory", path);
                return NULL;
        }
        if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
                g_ptr_array_add (files, g_strdup (path));
                return g_steal_pointer (&files);
        }
        dir = g_dir_open (path, 0, error);
        if (!dir) {
                g_prefix_error (error, "cannot list '%s': ", path);
                if (error && *error) {
                        (*error)->domain = AUGUR_TRACE_ERROR;
                        (*error)->code = AUGUR_TRACE_ERROR_IO;
                }
                return NULL;
        }
        while ((name = g_dir_read_name (dir))) {
                char *full;

                if (name[0] == '.' || g_str_has_suffix (name, ".md") || g_str_has_suffix (name, ".txt"))
                        continue;   /* PROVENANCE.md, README.txt, dot files */
                full = g_build_filename (path, name, NULL);
                if (!g_file_test (full, G_FILE_TEST_IS_REGULAR)) {
                        g_free (full);
                        continue;
                }
                g_ptr_array_add (files, full);
        }
        g_ptr_array_sort (files, cmp_str_ptr);
        return g_steal_pointer (&files);
}

typedef gboolean (*FileReader) (const char *path, const AugurTraceOpts *opts, SeriesSet *set,
                                AugurTraceStats *st, GError **error);

static gboolean
reader_bitbrains (const char *p, const AugurTraceOpts *o, SeriesSet *s, AugurTraceStats *st, GError **e)
{
        return read_bitbrains_file (p, s, st, e);
}

static gboolean
reader_augur (const char *p, const AugurTraceOpts *o, SeriesSet *s, AugurTraceStats *st, GError **e)
{
        return read_augur_file (p, s, st, e);
}

static GPtrArray *
read_files_with (const char *path, FileReader reader, const AugurTraceOpts *opts,
                 AugurTraceStats *st, GError **error)
{
        g_autoptr (GPtrArray) files = list_inputs (path, error);
        SeriesSet set;

        if (!files)
                return NULL;
        series_set_init (&set);
        for (guint i = 0; i < files->len; i++) {
                if (opts->max_series && g_hash_table_size (set.by_name) >= opts->max_series)
                        break;
                if (!reader (g_ptr_array_index (files, i), opts, &set, st, error)) {
                        series_set_clear (&set);
                        return NULL;
                }
        }
        return series_set_finish (&set, st);
}

static const AugurTraceOpts default_opts = { 0, FALSE, 0, 0 };

GPtrArray *
augur_trace_read_bitbrains (const char *path, const AugurTraceOpts *opts,
                            AugurTraceStats *stats, GError **error)
{
        return read_files_with (path, reader_bitbrains, opts ? opts : &default_opts, stats, error);
}

GPtrArray *
augur_trace_read_augur (const char *path, const AugurTraceOpts *opts,
                        AugurTraceStats *stats, GError **error)
{
        return read_files_with (path, reader_augur, opts ? opts : &default_opts, stats, error);
}

GPtrArray *
augur_trace_read_azure (const char *path, const AugurTraceOpts *opts,
                        AugurTraceStats *stats, GError **error)
{
        return read_files_with (path, read_azure_file, opts ? opts : &default_opts, stats, error);
}

GPtrArray *
augur_trace_read_alibaba (const char *path, const AugurTraceOpts *opts,
                          AugurTraceStats *stats, GError **error)
{
        return read_files_with (path, read_alibaba_file, opts ? opts : &default_opts, stats, error);
}

GPtrArray *
augur_trace_read_planetlab (const char *path, const AugurTraceOpts *opts,
                            AugurTraceStats *stats, GError **error)
{
        g_autoptr (GPtrArray) files = list_inputs (path, error);
        g_autoptr (GPtrArray) days = NULL;
        SeriesSet set;

        if (!opts)
                opts = &default_opts;
        if (!files)
                return NULL;
        days = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_day_free);
        for (guint i = 0; i < files->len; i++) {
                const char *f = g_ptr_array_index (files, i);
                gboolean ok;

                if (is_tar_name (f))
                        ok = read_planetlab_tar (f, days, stats, error);
                else
                        ok = read_planetlab_plain (f, days, stats, error);
                if (!ok)
                        return NULL;
        }
        series_set_init (&set);
        planetlab_place_days (days, opts, &set, stats);
        return series_set_finish (&set, stats);
}

/* Guess the format from the first file's name and first line. */
static gboolean
guess_format (const char *path, AugurTraceFormat *ret_fmt, GError **error)
{
        g_autoptr (GPtrArray) files = list_inputs (path, error);
        g_autoptr (AugurTraceFile) f = NULL;
        g_autoptr (GString) line = g_string_new (NULL);
        const char *first;
        GError *local = NULL;

        if (!files)
                return FALSE;
        if (files->len == 0) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_EMPTY,
                             "'%s': directory holds no trace files", path);
                return FALSE;
        }
        first = g_ptr_array_index (files, 0);
        if (is_tar_name (first)) {
                *ret_fmt = AUGUR_TRACE_FORMAT_PLANETLAB;
                return TRUE;
        }
        f = augur_trace_file_open (first, error);
        if (!f)
                return FALSE;
        if (!augur_trace_file_read_line (f, line, &local)) {
                if (local) {
                        g_propagate_error (error, local);
                        return FALSE;
                }
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_EMPTY, "'%s' is empty", first);
                return FALSE;
        }
        if (g_str_has_prefix (line->str, "Timestamp")) {
                *ret_fmt = AUGUR_TRACE_FORMAT_BITBRAINS;
        } else if (g_str_has_prefix (line->str, "step,")) {
                *ret_fmt = AUGUR_TRACE_FORMAT_AZURE;
        } else if (g_str_has_prefix (line->str, "m_")) {
                *ret_fmt = AUGUR_TRACE_FORMAT_ALIBABA;
        } else if (strstr (line->str, "vm") && strstr (line->str, "ts")) {
                *ret_fmt = AUGUR_TRACE_FORMAT_AUGUR;
        } else {
                char *end = NULL;

                g_ascii_strtoll (line->str, &end, 10);
                if (end != line->str && *end == '\0') {
                        *ret_fmt = AUGUR_TRACE_FORMAT_PLANETLAB;
                        return TRUE;
                }
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_FORMAT,
                             "cannot tell the format of '%s'; pass --format", first);
                return FALSE;
        }
        return TRUE;
}

static gsize
count_target_rows (const AugurSeries *s)
{
        gsize n = 0;

        for (gsize i = 0; i < s->n; i++) {
                gboolean cpu = s->col[AUGUR_COL_CPU_PCT] && !isnan (s->col[AUGUR_COL_CPU_PCT][i]);
                gboolean mem = s->col[AUGUR_COL_MEM_USED_KIB] && !isnan (s->col[AUGUR_COL_MEM_USED_KIB][i]);

                if (cpu || mem)
                        n++;
        }
        return n;
}

GPtrArray *
augur_trace_read (const char *path, AugurTraceFormat fmt, const AugurTraceOpts *opts,
                  AugurTraceStats *ret_stats, GError **error)
{
        AugurTraceStats st = { 0 };
        g_autoptr (GPtrArray) out = NULL;
        gsize min_rows;

        g_return_val_if_fail (path != NULL, NULL);
        if (!opts)
                opts = &default_opts;
        min_rows = opts->min_rows ? opts->min_rows : AUGUR_TRACE_DEFAULT_MIN_ROWS;

        if (fmt == AUGUR_TRACE_FORMAT_AUTO && !guess_format (path, &fmt, error)) {
                if (ret_stats)
                        *ret_stats = st;
                return NULL;
        }
        switch (fmt) {
        case AUGUR_TRACE_FORMAT_AUGUR:
                out = augur_trace_read_augur (path, opts, &st, error);
                break;
        case AUGUR_TRACE_FORMAT_BITBRAINS:
                out = augur_trace_read_bitbrains (path, opts, &st, error);
                break;
        case AUGUR_TRACE_FORMAT_AZURE:
                out = augur_trace_read_azure (path, opts, &st, error);
                break;
        case AUGUR_TRACE_FORMAT_PLANETLAB:
                out = augur_trace_read_planetlab (path, opts, &st, error);
                break;
        case AUGUR_TRACE_FORMAT_ALIBABA:
                out = augur_trace_read_alibaba (path, opts, &st, error);
                break;
        case AUGUR_TRACE_FORMAT_AUTO:
        default:
                g_assert_not_reached ();
        }
        if (!out) {
                if (ret_stats)
                        *ret_stats = st;
                return NULL;
        }

        /* R9 */
        for (guint i = out->len; i-- > 0;) {
                const AugurSeries *s = g_ptr_array_index (out, i);

                if (count_target_rows (s) < min_rows) {
                        st.series_too_short++;
                        g_ptr_array_remove_index_fast (out, i);
                }
        }
        g_ptr_array_sort (out, augur_series_cmp_vm);
        if (opts->max_series && out->len > opts->max_series)
                g_ptr_array_set_size (out, opts->max_series);
        st.series = out->len;
        if (ret_stats)
                *ret_stats = st;
        if (out->len == 0) {
                if (st.rows_kept == 0)
                        g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_EMPTY,
                                     "'%s': no usable data rows (%" G_GUINT64_FORMAT " read, %"
                                     G_GUINT64_FORMAT " garbage)", path, st.rows_read, st.rows_garbage);
                else
                        g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_SHORT,
                                     "'%s': every series has fewer than %" G_GSIZE_FORMAT
                                     " rows with cpu_pct or mem_used_kib (%" G_GUINT64_FORMAT
                                     " series dropped)", path, min_rows, st.series_too_short);
                return NULL;
        }
        return g_steal_pointer (&out);
}

