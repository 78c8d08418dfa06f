/* series.c — AugurSeries storage: allocation, columns, ordering.
 * See series.h for the layout.  Nothing here parses or resamples. */
#include "series.h"

#include <math.h>
#include <string.h>

static const char *const col_names[AUGUR_COL_N] = {
        [AUGUR_COL_CPU_CORES] = "cpu_cores",
        [AUGUR_COL_CPU_PCT] = "cpu_pct",
        [AUGUR_COL_MEM_PROV_KIB] = "mem_prov_kib",
        [AUGUR_COL_MEM_USED_KIB] = "mem_used_kib",
        [AUGUR_COL_DISK_RD_KIBPS] = "disk_rd_kibps",
        [AUGUR_COL_DISK_WR_KIBPS] = "disk_wr_kibps",
        [AUGUR_COL_NET_RX_KIBPS] = "net_rx_kibps",
        [AUGUR_COL_NET_TX_KIBPS] = "net_tx_kibps",
        [AUGUR_COL_INPUT_EVENTS_PER_MIN] = "input_events_per_min",
        [AUGUR_COL_SESSIONS] = "sessions",
        [AUGUR_COL_PROC_STARTS_PER_MIN] = "proc_starts_per_min",
        [AUGUR_COL_PROG_B0 + 0] = "prog_b0", [AUGUR_COL_PROG_B0 + 1] = "prog_b1",
        [AUGUR_COL_PROG_B0 + 2] = "prog_b2", [AUGUR_COL_PROG_B0 + 3] = "prog_b3",
        [AUGUR_COL_PROG_B0 + 4] = "prog_b4", [AUGUR_COL_PROG_B0 + 5] = "prog_b5",
        [AUGUR_COL_PROG_B0 + 6] = "prog_b6", [AUGUR_COL_PROG_B0 + 7] = "prog_b7",
        [AUGUR_COL_USER_B0 + 0] = "user_b0", [AUGUR_COL_USER_B0 + 1] = "user_b1",
        [AUGUR_COL_USER_B0 + 2] = "user_b2", [AUGUR_COL_USER_B0 + 3] = "user_b3",
        [AUGUR_COL_HOST_LOAD1] = "host_load1",
        [AUGUR_COL_HOST_PSI_CPU] = "host_psi_cpu",
        [AUGUR_COL_HOST_PSI_MEM] = "host_psi_mem",
        [AUGUR_COL_HOST_PSI_IO] = "host_psi_io",
};

const char *
augur_col_name (AugurCol c)
{
        g_return_val_if_fail (c < AUGUR_COL_N, NULL);
        return col_names[c];
}

int
augur_col_from_name (const char *name)
{
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (g_strcmp0 (col_names[c], name) == 0)
                        return c;
        return -1;
}

AugurSeries *
augur_series_new (const char *vm)
{
        AugurSeries *s = g_new0 (AugurSeries, 1);

        s->vm = g_strdup (vm);
        return s;
}

void
augur_series_free (AugurSeries *s)
{
        if (!s)
                return;
        g_free (s->vm);
        g_free (s->uuid);
        g_free (s->ts);
        for (int c = 0; c < AUGUR_COL_N; c++)
                g_free (s->col[c]);
        g_free (s);
}

void
augur_series_ensure_col (AugurSeries *s, AugurCol c)
{
        if (s->col[c])
                return;
        s->col[c] = g_new (float, MAX (s->cap, 1));
        for (gsize i = 0; i < s->n; i++)
                s->col[c][i] = NAN;
}

gsize
augur_series_append (AugurSeries *s, gint64 ts)
{
        if (s->n == s->cap) {
                s->cap = MAX (64, s->cap * 2);
                s->ts = g_renew (gint64, s->ts, s->cap);
                for (int c = 0; c < AUGUR_COL_N; c++)
                        if (s->col[c])
                                s->col[c] = g_renew (float, s->col[c], s->cap);
        }
        s->ts[s->n] = ts;
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (s->col[c])
                        s->col[c][s->n] = NAN;
        return s->n++;
}

static int
cmp_idx_by_ts (gconstpointer a, gconstpointer b, gpointer user_data)
{
        const gint64 *ts = user_data;
        gint64 x = ts[*(const gsize *) a], y = ts[*(const gsize *) b];

        if (x != y)
                return x < y ? -1 : 1;
        /* Stable on equal ts: earlier row first, so later rows win below. */
        return *(const gsize *) a < *(const gsize *) b ? -1 : 1;
}

void
augur_series_sort_dedup (AugurSeries *s)
{
        g_autofree gsize *idx = NULL;
        g_autofree gint64 *ts = NULL;
        gsize out = 0;

        if (s->n < 2)
                return;
        idx = g_new (gsize, s->n);
        for (gsize i = 0; i < s->n; i++)
                idx[i] = i;
        g_qsort_with_data (idx, (gint) s->n, sizeof *idx, cmp_idx_by_ts, s->ts);

        ts = g_new (gint64, s->cap);
        for (gsize i = 0; i < s->n; i++) {
                if (out > 0 && ts[out - 1] == s->ts[idx[i]])
                        continue;
                ts[out++] = s->ts[idx[i]];
        }
        for (int c = 0; c < AUGUR_COL_N; c++) {
                g_autofree float *v = NULL;
                gsize o = 0;

                if (!s->col[c])
                        continue;
                v = g_new (float, s->cap);
                for (gsize i = 0; i < s->n; i++) {
                        float x = s->col[c][idx[i]];

                        if (i > 0 && s->ts[idx[i]] == s->ts[idx[i - 1]]) {
                                if (!isnan (x))
                                        v[o - 1] = x;
                                continue;
                        }
                        v[o++] = x;
                }
                g_free (s->col[c]);
                s->col[c] = g_steal_pointer (&v);
        }
        g_free (s->ts);
        s->ts = g_steal_pointer (&ts);
        s->n = out;
}

int
augur_series_cmp_vm (gconstpointer a, gconstpointer b)
{
        const AugurSeries *x = *(AugurSeries *const *) a, *y = *(AugurSeries *const *) b;

        return g_strcmp0 (x->vm, y->vm);
}
