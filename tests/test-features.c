/* test-features.c — the feature vector (model/features.c).
 *
 *   /features/golden            batch features of a synthetic series against
 *                               tests/data/features-golden.txt (rebuild with
 *                               AUGUR_TEST_REGENERATE=1; a mismatch prints the
 *                               first differing row and feature)
 *   /features/batch-incremental the daemon path (one update per received
 *                               sample, missing ticks simply absent) gives
 *                               bit-identical vectors to the batch path
 *   /features/gap-rule          holes <= max_fill are held, longer ones cut
 *                               a segment (no vector inside the gap)
 *   /features/absent-groups     a series without activity / host columns
 *                               yields zeros and availability 0; a feature set
 *                               without the activity group is smaller
 *   /features/buckets           program / user bucket features: units and
 *                               scales, held through missing cells, zero and
 *                               bkt_avail 0 where the history has none, and
 *                               the old (pre-bucket) vector is unchanged
 *   /features/recency           the opt-in recency group: appended after the
 *                               buckets (the default vector is its prefix),
 *                               0 at a burst, + 1/36 a step, 1 = none; the
 *                               period maxima 0 without the history
 *   /features/day               the opt-in day group: appended after the
 *                               default vector (its prefix), cpu_hrJ is the
 *                               mean of hour J back minus held over g_sd,
 *                               checked by hand after the gap; 0 and
 *                               day_hours < 1 while the segment is young
 *   /features/names             names unique, count consistent per mask
 *   /features/new-vm-norm       a VM's first vector uses the global norm
 */
#include "augur-features.h"
#include "buckets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_STEPS 720
#define T0      1372629600   /* 2013-06-30 22:00:00 UTC */

/* Deterministic synthetic VM: daily cpu wave with bursts, noisy memory,
 * I/O, activity and host context; a 2-step hole (held) at 100-101, a
 * 5-step gap (segment cut) at 400-404, memory missing at 250-259.  With
 * activity it also has program / user buckets (an editor while typing, the
 * compiler at process-start bursts, sessions split over two users), with
 * the bucket cells missing at 500-539 (held from 499). */
static AugurSeries *
make_series (gboolean with_activity, gboolean with_host)
{
        AugurSeries *s = augur_series_new ("synthetic");
        guint32 rng = 12345;

        for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                if (with_activity || (c != AUGUR_COL_INPUT_EVENTS_PER_MIN && c != AUGUR_COL_SESSIONS
                                      && c != AUGUR_COL_PROC_STARTS_PER_MIN
                                      && !(c >= AUGUR_COL_PROG_B0 && c <= AUGUR_COL_USER_B3)))
                        augur_series_ensure_col (s, (AugurCol) c);
        if (with_host)
                for (int c = AUGUR_COL_HOST_LOAD1; c <= AUGUR_COL_HOST_PSI_IO; c++)
                        augur_series_ensure_col (s, (AugurCol) c);
        for (int k = 0; k < N_STEPS; k++) {
                gsize i = augur_series_append (s, T0 + (gint64) k * 300);
                double noise;
                gboolean hole = (k >= 100 && k <= 101) || (k >= 400 && k <= 404);

                /* Not testutil's LCG: tests/data/features-golden.txt was
                 * made with this 32-bit one. */
                rng = rng * 1103515245u + 12345u;
                noise = ((rng >> 8) & 0xffff) / 65536.0 - 0.5;
                if (hole)
                        continue;
                s->col[AUGUR_COL_CPU_CORES][i] = 2;
                s->col[AUGUR_COL_CPU_PCT][i] = (float) (20 + 10 * sin (2 * G_PI * k / 288.0) + 4 * noise
                                                        + ((k % 97) < 3 ? 50 : 0));
                s->col[AUGUR_COL_MEM_PROV_KIB][i] = 4194304;
                if (k < 250 || k >= 260)
                        s->col[AUGUR_COL_MEM_USED_KIB][i] = (float) (1048576 * (1.5 + 0.5 * noise + 0.001 * k));
                s->col[AUGUR_COL_DISK_RD_KIBPS][i] = (float) (100 + 90 * noise);
                s->col[AUGUR_COL_DISK_WR_KIBPS][i] = (k % 50) < 5 ? 5000 : 10;
                s->col[AUGUR_COL_NET_RX_KIBPS][i] = (float) (20 + 10 * noise);
                s->col[AUGUR_COL_NET_TX_KIBPS][i] = 5;
                if (with_activity) {
                        s->col[AUGUR_COL_INPUT_EVENTS_PER_MIN][i] = (k % 120) < 10 ? 60 : 0;
                        s->col[AUGUR_COL_SESSIONS][i] = (k % 240) < 120 ? 1 : 2;
                        s->col[AUGUR_COL_PROC_STARTS_PER_MIN][i] = (k % 33) == 0 ? 12 : 1;
                        if (k < 500 || k >= 540) {
                                for (int c = AUGUR_COL_PROG_B0; c <= AUGUR_COL_USER_B3; c++)
                                        s->col[c][i] = 0;
                                s->col[AUGUR_COL_PROG_B0 + 7][i] = (k % 120) < 10 ? 5 : 0.2f;  /* vim */
                                s->col[AUGUR_COL_PROG_B0 + 6][i] = (k % 33) == 0 ? 150 : 0;     /* cc1 */
                                s->col[AUGUR_COL_USER_B0 + 1][i] = 1;                           /* root */
                                s->col[AUGUR_COL_USER_B0 + 3][i] = (k % 240) < 120 ? 0 : 1;     /* alice */
                        }
                }
                if (with_host) {
                        s->col[AUGUR_COL_HOST_LOAD1][i] = (float) (1.0 + noise);
                        s->col[AUGUR_COL_HOST_PSI_CPU][i] = 3;
                        s->col[AUGUR_COL_HOST_PSI_MEM][i] = 0.5f;
                        s->col[AUGUR_COL_HOST_PSI_IO][i] = 1;
                }
        }
        return s;
}

static void
make_config (AugurFeatConfig *cfg, guint groups)
{
        static const float mean[AUGUR_SIG_N] = { 10, 30, 4, 3, 1, 0.5f, 0.7f, 0.6f, 2, 1, 1 };
        static const float sd[AUGUR_SIG_N] = { 15, 12, 2, 1.5f, 1.5f, 0.4f, 0.8f, 0.3f, 3, 2, 2 };

        augur_features_config_init (cfg);
        cfg->groups = groups;
        memcpy (cfg->norm.mean, mean, sizeof mean);
        memcpy (cfg->norm.sd, sd, sizeof sd);
}

/* ------------------------------------------------------------- golden */

static GString *
golden_text (const AugurSeries *s, const AugurFeatConfig *cfg)
{
        guint F = augur_features_count (cfg->groups);
        g_autofree float *feat = g_new (float, s->n * F);
        g_autofree guint8 *valid = g_new (guint8, s->n);
        g_autofree guint32 *seg = g_new (guint32, s->n);
        GString *out = g_string_new ("# k valid seg");

        augur_features_batch (cfg, s, feat, valid, seg, NULL);
        for (guint j = 0; j < F; j++)
                g_string_append_printf (out, " %s", augur_features_name (cfg->groups, j));
        g_string_append_c (out, '\n');
        for (gsize k = 0; k < s->n; k++) {
                /* Every 19th row, plus the rows around the holes and the day mark. */
                gboolean pick = (k % 19 == 0) || (k >= 98 && k <= 104) || (k >= 248 && k <= 262)
                                || (k >= 398 && k <= 408) || (k >= 286 && k <= 290)
                                || (k >= 498 && k <= 501) || (k >= 538 && k <= 541);

                if (!pick)
                        continue;
                g_string_append_printf (out, "%" G_GSIZE_FORMAT " %u %u", k, valid[k], seg[k]);
                for (guint j = 0; j < F; j++) {
                        char buf[G_ASCII_DTOSTR_BUF_SIZE];

                        g_string_append_c (out, ' ');
                        g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6g", feat[k * F + j]));
                }
                g_string_append_c (out, '\n');
        }
        return out;
}

/* Compare two golden texts number by number (tolerance 1e-4 absolute or
 * relative: libm's sin/log may differ in the last bits between hosts). */
static gboolean
golden_equal (const char *want, const char *got, GString *why)
{
        g_auto (GStrv) a = g_strsplit (want, "\n", -1);
        g_auto (GStrv) b = g_strsplit (got, "\n", -1);

        if (g_strv_length (a) != g_strv_length (b)) {
                g_string_printf (why, "line count %u != %u", g_strv_length (a), g_strv_length (b));
                return FALSE;
        }
        for (guint i = 0; a[i]; i++) {
                g_auto (GStrv) x = g_strsplit (a[i], " ", -1);
                g_auto (GStrv) y = g_strsplit (b[i], " ", -1);

                if (a[i][0] == '#') {
                        if (strcmp (a[i], b[i]) != 0) {
                                g_string_printf (why, "header differs:\n  want %s\n  got  %s", a[i], b[i]);
                                return FALSE;
                        }
                        continue;
                }
                if (g_strv_length (x) != g_strv_length (y)) {
                        g_string_printf (why, "line %u: field count differs", i + 1);
                        return FALSE;
                }
                for (guint j = 0; x[j]; j++) {
                        double u = g_ascii_strtod (x[j], NULL), v = g_ascii_strtod (y[j], NULL);

                        if (fabs (u - v) > 1e-4 * MAX (1.0, fabs (u))) {
                                g_string_printf (why, "line %u (step %s), field %u: want %s, got %s",
                                                 i + 1, x[0], j, x[j], y[j]);
                                return FALSE;
                        }
                }
        }
        return TRUE;
}

static void
test_features_golden (void)
{
        g_autoptr (AugurSeries) s = make_series (TRUE, TRUE);
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "features-golden.txt", NULL);
        g_autofree char *want = NULL;
        g_autoptr (GString) got = NULL;
        g_autoptr (GString) why = g_string_new (NULL);
        g_autoptr (GError) error = NULL;
        AugurFeatConfig cfg;

        make_config (&cfg, AUGUR_FEAT_GROUPS_ALL);
        got = golden_text (s, &cfg);
        if (g_getenv ("AUGUR_TEST_REGENERATE")) {
                g_assert_true (g_file_set_contents (path, got->str, (gssize) got->len, &error));
                g_test_message ("regenerated %s", path);
                return;
        }
        if (!g_file_get_contents (path, &want, NULL, &error)) {
                g_test_message ("%s: %s (run with AUGUR_TEST_REGENERATE=1 to create it)", path, error->message);
                g_test_fail ();
                return;
        }
        if (!golden_equal (want, got->str, why)) {
                g_test_message ("features differ from %s: %s\n(if the change is intended, rerun with "
                                "AUGUR_TEST_REGENERATE=1 and review the diff)", path, why->str);
                g_test_fail ();
        }
}

/* ------------------------------------------------- batch == incremental */

static void
test_features_batch_incremental (void)
{
        static const guint masks[] = {
                AUGUR_FEAT_GROUPS_ALL,
                AUGUR_FEAT_GROUPS_KNOWN,
                AUGUR_FEAT_GROUP_CORE,
                AUGUR_FEAT_GROUP_CORE | AUGUR_FEAT_GROUP_TIME | AUGUR_FEAT_GROUP_IO,
        };

        for (guint m = 0; m < G_N_ELEMENTS (masks); m++) {
                g_autoptr (AugurSeries) s = make_series (TRUE, TRUE);
                AugurFeatConfig cfg;
                guint F;
                g_autofree float *feat = NULL;
                g_autofree guint8 *valid = NULL;
                g_autoptr (AugurFeatState) st = NULL;
                guint compared = 0;

                make_config (&cfg, masks[m]);
                F = augur_features_count (cfg.groups);
                feat = g_new (float, s->n * F);
                valid = g_new (guint8, s->n);
                augur_features_batch (&cfg, s, feat, valid, NULL, NULL);

                st = augur_features_state_new (&cfg);
                for (gsize k = 0; k < s->n; k++) {
                        AugurFeatSample x;
                        float vec[AUGUR_FEAT_MAX];
                        gboolean ok;

                        augur_features_sample_from_series (&x, s, k);
                        /* The daemon gets no sample at all for a missed tick. */
                        if (isnan (x.v[AUGUR_COL_CPU_PCT]) && isnan (x.v[AUGUR_COL_MEM_USED_KIB]))
                                continue;
                        ok = augur_features_update (st, &x, vec);
                        if (ok != valid[k] || (ok && memcmp (vec, feat + k * F, F * sizeof (float)) != 0))
                                g_test_message ("mask %x: first mismatch at step %" G_GSIZE_FORMAT, masks[m], k);
                        g_assert_cmpint (ok, ==, valid[k]);
                        if (ok) {
                                g_assert_cmpmem (vec, F * sizeof (float), feat + k * F, F * sizeof (float));
                                compared++;
                        }
                }
                g_assert_cmpuint (compared, >, N_STEPS - 20);
        }
}

/* ------------------------------------------------------------ gap rule */

static void
test_features_gap_rule (void)
{
        g_autoptr (AugurSeries) s = make_series (FALSE, FALSE);
        AugurFeatConfig cfg;
        guint F;
        g_autofree float *feat = NULL;
        g_autofree guint8 *valid = NULL;
        g_autofree guint32 *seg = NULL;
        guint avail;

        make_config (&cfg, AUGUR_FEAT_GROUPS_ALL);
        F = augur_features_count (cfg.groups);
        feat = g_new (float, s->n * F);
        valid = g_new (guint8, s->n);
        seg = g_new (guint32, s->n);
        augur_features_batch (&cfg, s, feat, valid, seg, NULL);
        /* Boundaries in threes: 99 observed, 100-101 held (max_fill = 2). */
        g_assert_true (valid[99] && valid[100] && valid[101] && valid[102]);
        g_assert_cmpuint (seg[99], ==, seg[102]);
        avail = 0;   /* cpu_avail is feature 0 */
        g_assert_cmpfloat (feat[99 * F + avail], ==, 1.0f);
        g_assert_cmpfloat (feat[100 * F + avail], ==, 0.0f);
        g_assert_cmpfloat (feat[102 * F + avail], ==, 1.0f);
        /* 400-404: the first two held, then a gap; 405 starts a new segment. */
        g_assert_true (valid[400] && valid[401]);
        g_assert_false (valid[402] || valid[403] || valid[404]);
        g_assert_true (valid[405]);
        g_assert_cmpuint (seg[405], ==, seg[399] + 1);
        /* The new segment has no history: rate of change 0, no yesterday. */
        g_assert_cmpfloat (feat[405 * F + 5], ==, 0.0f);   /* cpu_d1 */
}

/* ------------------------------------------------------ absent groups */

static void
test_features_absent_groups (void)
{
        g_autoptr (AugurSeries) s = make_series (FALSE, FALSE);
        AugurFeatConfig cfg;
        guint F, F_noact, act0 = G_MAXUINT, host0 = G_MAXUINT;
        g_autofree float *feat = NULL;
        g_autofree guint8 *valid = NULL;

        make_config (&cfg, AUGUR_FEAT_GROUPS_ALL);
        F = augur_features_count (cfg.groups);
        F_noact = augur_features_count (cfg.groups & ~(guint) AUGUR_FEAT_GROUP_ACTIVITY);
        g_assert_cmpuint (F_noact, ==, F - 5);
        for (guint j = 0; j < F; j++) {
                if (g_strcmp0 (augur_features_name (cfg.groups, j), "act_avail") == 0)
                        act0 = j;
                if (g_strcmp0 (augur_features_name (cfg.groups, j), "host_avail") == 0)
                        host0 = j;
        }
        g_assert_cmpuint (act0, <, F);
        g_assert_cmpuint (host0, <, F);
        feat = g_new (float, s->n * F);
        valid = g_new (guint8, s->n);
        augur_features_batch (&cfg, s, feat, valid, NULL, NULL);
        for (gsize k = 0; k < s->n; k += 13) {
                if (!valid[k])
                        continue;   /* inside the gap: no vector */
                for (guint j = 0; j < 4; j++)   /* act_avail, input, sessions, proc */
                        g_assert_cmpfloat (feat[k * F + act0 + j], ==, 0.0f);
                g_assert_cmpfloat (feat[k * F + act0 + 4], ==, 1.0f);   /* no burst seen */
                for (guint j = 0; j < 5; j++)
                        g_assert_cmpfloat (feat[k * F + host0 + j], ==, 0.0f);
        }
}

/* ------------------------------------------------------------ buckets */

static guint
feat_index (guint groups, const char *name)
{
        for (guint j = 0; j < augur_features_count (groups); j++)
                if (g_strcmp0 (augur_features_name (groups, j), name) == 0)
                        return j;
        g_assert_not_reached ();
}

static void
test_features_buckets (void)
{
        g_autoptr (AugurSeries) s = make_series (TRUE, TRUE);
        g_autoptr (AugurSeries) bare = make_series (FALSE, FALSE);
        const guint all = AUGUR_FEAT_GROUPS_ALL;
        const guint old = AUGUR_FEAT_GROUPS_ALL & ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
        AugurFeatConfig cfg, cfg_old;
        guint F = augur_features_count (all), F_old = augur_features_count (old);
        guint avail = feat_index (all, "bkt_avail"), p6 = feat_index (all, "prog_b6");
        guint p7 = feat_index (all, "prog_b7"), u1 = feat_index (all, "user_b1");
        guint u3 = feat_index (all, "user_b3");
        g_autofree float *feat = g_new (float, s->n * F);
        g_autofree float *feat_old = g_new (float, s->n * F_old);
        g_autofree guint8 *valid = g_new (guint8, s->n);

        /* 13 features, appended after every older one: an old model's
         * vector is the prefix of the new one. */
        g_assert_cmpuint (F, ==, F_old + 1 + AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS);
        g_assert_cmpuint (avail, ==, F_old);
        g_assert_cmpuint (u3, ==, F - 1);
        make_config (&cfg, all);
        make_config (&cfg_old, old);
        augur_features_batch (&cfg, s, feat, valid, NULL, NULL);
        augur_features_batch (&cfg_old, s, feat_old, NULL, NULL, NULL);
        for (gsize k = 0; k < s->n; k++)
                g_assert_cmpmem (feat + k * F, F_old * sizeof (float), feat_old + k * F_old, F_old * sizeof (float));

        /* Units: prog in percent of one CPU, 100 % -> 1; users in sessions,
         * 1 -> 1.  Step 33: cc1 at 150 %, vim idle at 0.2 %, root alone. */
        g_assert_true (valid[33]);
        g_assert_cmpfloat (feat[33 * F + avail], ==, 1.0f);
        g_assert_cmpfloat_with_epsilon (feat[33 * F + p6], log1pf (150) / log1pf (100), 1e-6);
        g_assert_cmpfloat_with_epsilon (feat[33 * F + p7], log1pf (0.2f) / log1pf (100), 1e-6);
        g_assert_cmpfloat_with_epsilon (feat[33 * F + u1], 1.0, 1e-6);
        g_assert_cmpfloat (feat[33 * F + u3], ==, 0.0f);
        /* Boundaries in threes around the missing bucket cells 500-539:
         * 499 observed, 500 and 539 held (bkt_avail 0, values of 499),
         * 540 observed again. */
        g_assert_cmpfloat (feat[499 * F + avail], ==, 1.0f);
        for (gsize k = 500; k < 540; k++) {
                g_assert_cmpfloat (feat[k * F + avail], ==, 0.0f);
                for (guint j = 1; j <= AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS; j++)
                        g_assert_cmpfloat (feat[k * F + avail + j], ==, feat[499 * F + avail + j]);
        }
        g_assert_cmpfloat (feat[540 * F + avail], ==, 1.0f);
        g_assert_cmpfloat_with_epsilon (feat[130 * F + u3], 1.0, 1e-6);  /* alice in */
        g_assert_cmpfloat (feat[540 * F + u3], ==, 0.0f);                /* ... out  */

        /* No bucket columns in the history: all 13 are 0. */
        augur_features_batch (&cfg, bare, feat, valid, NULL, NULL);
        for (gsize k = 0; k < bare->n; k++) {
                if (!valid[k])
                        continue;
                for (guint j = 0; j <= AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS; j++)
                        g_assert_cmpfloat (feat[k * F + avail + j], ==, 0.0f);
        }
}

static void
test_features_recency (void)
{
        g_autoptr (AugurSeries) s = make_series (TRUE, TRUE);
        const guint all = AUGUR_FEAT_GROUPS_ALL, rec = all | AUGUR_FEAT_GROUP_RECENCY;
        AugurFeatConfig cfg, cfg_all;
        guint F = augur_features_count (rec), F_all = augur_features_count (all);
        guint rp = feat_index (rec, "rec_proc"), ri = feat_index (rec, "rec_input");
        g_autofree float *feat = g_new (float, s->n * F);
        g_autofree float *feat_all = g_new (float, s->n * F_all);
        g_autofree guint8 *valid = g_new (guint8, s->n);
        g_autofree guint32 *seg = g_new (guint32, s->n);
        guint bursts = 0, counted = 0;

        g_assert_cmpuint (F, ==, F_all + 7);
        g_assert_cmpuint (ri, ==, F_all);
        g_assert_cmpuint (feat_index (rec, "mem_p24max"), ==, F - 1);
        make_config (&cfg, rec);
        make_config (&cfg_all, all);
        augur_features_batch (&cfg, s, feat, valid, seg, NULL);
        augur_features_batch (&cfg_all, s, feat_all, NULL, NULL, NULL);
        for (gsize k = 0; k < s->n; k++) {
                float p = s->col[AUGUR_COL_PROC_STARTS_PER_MIN][k];

                g_assert_cmpmem (feat + k * F, F_all * sizeof (float), feat_all + k * F_all, F_all * sizeof (float));
                if (!valid[k])
                        continue;
                for (guint j = ri; j < ri + 4; j++) {
                        g_assert_cmpfloat (feat[k * F + j], >=, 0.0f);
                        g_assert_cmpfloat (feat[k * F + j], <=, 1.0f);
                }
                /* no 6 h of history in the segment: the period maxima are 0 */
                if (k < 72)
                        for (guint j = ri + 4; j < F; j++)
                                g_assert_cmpfloat (feat[k * F + j], ==, 0.0f);
                if (!isnan (p) && p >= 10.0f) {
                        g_assert_cmpfloat (feat[k * F + rp], ==, 0.0f);
                        bursts++;
                } else if (k > 0 && valid[k - 1] && seg[k - 1] == seg[k] && feat[(k - 1) * F + rp] < 1.0f) {
                        g_assert_cmpfloat_with_epsilon (feat[k * F + rp],
                                                        MIN (feat[(k - 1) * F + rp] + 1.0f / 36.0f, 1.0f), 1e-5);
                        counted++;
                }
        }
        g_assert_cmpuint (bursts, >, 0);
        g_assert_cmpuint (counted, >, 0);
}

static void
test_features_day (void)
{
        g_autoptr (AugurSeries) s = make_series (TRUE, TRUE);
        const guint all = AUGUR_FEAT_GROUPS_ALL, day = all | AUGUR_FEAT_GROUP_DAY;
        AugurFeatConfig cfg, cfg_all;
        guint F = augur_features_count (day), F_all = augur_features_count (all);
        guint h1 = feat_index (day, "cpu_hr1"), hours = feat_index (day, "day_hours");
        g_autofree float *feat = g_new (float, s->n * F);
        g_autofree float *feat_all = g_new (float, s->n * F_all);
        g_autofree guint8 *valid = g_new (guint8, s->n);
        guint checked = 0;
        const gsize seg0 = 405;   /* the first step after the 5-step gap */

        g_assert_cmpuint (F, ==, F_all + 47);
        g_assert_cmpuint (h1, ==, F_all);
        g_assert_cmpuint (hours, ==, F - 1);
        g_assert_cmpuint (feat_index (day, "mem_hr23"), ==, F - 2);
        make_config (&cfg, day);
        make_config (&cfg_all, all);
        augur_features_batch (&cfg, s, feat, valid, NULL, NULL);
        augur_features_batch (&cfg_all, s, feat_all, NULL, NULL, NULL);
        for (gsize k = seg0; k < s->n; k++) {
                gsize age = k - seg0;
                float held = s->col[AUGUR_COL_CPU_PCT][k];

                g_assert_true (valid[k]);
                g_assert_cmpmem (feat + k * F, F_all * sizeof (float), feat_all + k * F_all, F_all * sizeof (float));
                g_assert_cmpfloat_with_epsilon (feat[k * F + hours], MIN (age / 12, 23) / 23.0f, 1e-6);
                for (guint j = 1; j <= 23; j++) {
                        float got = feat[k * F + h1 + j - 1];
                        double sum = 0;

                        if (age < 12 * j + 11 || isnan (held)) {
                                g_assert_cmpfloat (got, ==, 0.0f);
                                continue;
                        }
                        for (gsize l = 12 * j; l < 12 * j + 12; l++)
                                sum += s->col[AUGUR_COL_CPU_PCT][k - l];
                        g_assert_cmpfloat_with_epsilon (got, MAX (MIN ((sum / 12 - held) / 15.0, 16.0), -16.0), 1e-4);
                        checked++;
                }
        }
        g_assert_cmpuint (checked, >, 23 * 20);
}

static void
test_features_names (void)
{
        static const guint masks[] = {
                AUGUR_FEAT_GROUP_CORE, AUGUR_FEAT_GROUPS_ALL, AUGUR_FEAT_GROUPS_KNOWN,
                AUGUR_FEAT_GROUP_CORE | AUGUR_FEAT_GROUP_ACTIVITY, 0,
        };

        for (guint m = 0; m < G_N_ELEMENTS (masks); m++) {
                g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
                guint F = augur_features_count (masks[m]);

                g_assert_cmpuint (F, <=, AUGUR_FEAT_MAX);
                for (guint j = 0; j < F; j++) {
                        const char *n = augur_features_name (masks[m], j);

                        g_assert_nonnull (n);
                        g_assert_false (g_hash_table_contains (seen, n));
                        g_hash_table_add (seen, (gpointer) n);
                }
                g_assert_null (augur_features_name (masks[m], F));
        }
        /* CORE is always on. */
        g_assert_cmpuint (augur_features_count (0), ==, augur_features_count (AUGUR_FEAT_GROUP_CORE));
}

static void
test_features_new_vm_norm (void)
{
        AugurFeatConfig cfg;
        g_autoptr (AugurFeatState) st = NULL;
        AugurFeatSample x;
        float vec[AUGUR_FEAT_MAX];

        make_config (&cfg, AUGUR_FEAT_GROUP_CORE);
        st = augur_features_state_new (&cfg);
        for (int c = 0; c < AUGUR_COL_N; c++)
                x.v[c] = NAN;
        x.ts = T0;
        x.v[AUGUR_COL_CPU_PCT] = 40;     /* (40 - 10) / 15 = 2 */
        g_assert_true (augur_features_update (st, &x, vec));
        g_assert_cmpfloat_with_epsilon (vec[1], 2.0, 1e-6);        /* cpu_lvl */
        g_assert_cmpfloat (vec[3], >, 0.0f);                       /* vm mean moved up ... */
        g_assert_cmpfloat (vec[3], <, 0.1f);                       /* ... by one sample's weight */
        g_assert_cmpuint (augur_features_state_age (st), ==, 0);
        g_assert_cmpfloat (augur_features_state_held (st, AUGUR_SIG_CPU), ==, 40.0f);
        g_assert_true (isnan (augur_features_state_held (st, AUGUR_SIG_MEM)));
        /* A sample that is not later is ignored. */
        g_assert_false (augur_features_update (st, &x, vec));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/features/golden", test_features_golden);
        g_test_add_func ("/features/batch-incremental", test_features_batch_incremental);
        g_test_add_func ("/features/gap-rule", test_features_gap_rule);
        g_test_add_func ("/features/absent-groups", test_features_absent_groups);
        g_test_add_func ("/features/buckets", test_features_buckets);
        g_test_add_func ("/features/recency", test_features_recency);
        g_test_add_func ("/features/day", test_features_day);
        g_test_add_func ("/features/names", test_features_names);
        g_test_add_func ("/features/new-vm-norm", test_features_new_vm_norm);
        return g_test_run ();
}
