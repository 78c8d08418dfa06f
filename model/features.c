/* features.c — the forecaster's feature vector.  See augur-features.h for the API (not "features.h": that name would shadow glibc's <features.h> under -I model/).
 *
 * FEATURE SET
 * ===========
 * Input: one AugurFeatSample per grid step (step_s, default 300 s), values in
 * trace units.  Signals derived from it (AugurSig):
 *   cpu    cpu_pct                                  percent
 *   mem    100 * mem_used_kib / mem_prov_kib        percent (NAN if prov <= 0)
 *   disk   disk_rd_kibps + disk_wr_kibps            KiB/s (one side missing:
 *   net    net_rx_kibps + net_tx_kibps              the other alone)
 *   input, sessions, proc (activity), load, psi_cpu/mem/io (host context)
 * "u" below is the transformed signal: identity for cpu, mem and PSI, log1p
 * for the rest (rates are heavy-tailed: Bitbrains disk spans 0..1e5 KiB/s).
 * g_mean/g_sd = global norm of u (model file); held = last observed value.
 *
 *  group     feature (per signal)   definition                        window
 *  CORE      {cpu,mem}_avail        1 if observed this step, else 0
 *   (x2)     _lvl                   (held - g_mean) / g_sd
 *            _z                     (held - vm_mean) / vm_sd          running
 *            _vm_mean               (vm_mean - g_mean) / g_sd         running
 *            _vm_sd                 ln(vm_sd / g_sd)                   running
 *            _d1                    (held_t - held_t-1) / g_sd         rate
 *            _mean3, _mean12,       (mean over last W steps - held)/g_sd
 *            _mean72                                                  15 min, 1 h, 6 h
 *            _max3, _max12          (max over last W - held) / g_sd    15 min, 1 h
 *            _med6, _med12          (median over last W - held)/g_sd  30 min, 1 h
 *                                   (robust level: on Bitbrains memory the
 *                                   1-h median beats last value by 13 % MAE
 *                                   at 15 min, and a recurrent net does not
 *                                   easily compute an order statistic)
 *            _cv12                  sd12 / (mean12 + 1 pt), in [0, 4]  burstiness, 1 h
 *            _day1                  (value 287 steps back - held)/g_sd same time
 *            _day12                 (mean of 276..287 back - held)/g_sd yesterday, next hour
 *            _day_avail             1 if a day of history exists
 *  TIME      tod_sin, tod_cos       2*pi * (ts mod 86400) / 86400     UTC
 *            dow_sin, dow_cos       2*pi * day-of-week / 7            UTC, Monday = 0
 *  IO        {disk,net}_avail, _lvl (u), _d1 (u), _mean12 (u, minus u_t)
 *  HOST      host_avail, load_lvl, psi_cpu, psi_mem, psi_io   (normalised u)
 *  ACTIVITY  act_avail, input_lvl, sessions_lvl, proc_lvl (normalised u),
 *            act_since_burst = min(ln(1+steps since burst)/ln(1+2016), 1);
 *            a burst is input >= 30 events/min, proc starts >= 10/min or a
 *            rise in sessions; 1 = none seen in this segment.
 *  BUCKETS   bkt_avail               1 if any bucket column observed this step
 *   (13)     prog_b0..prog_b7        log1p(held cpu_pct) / log1p(100): one
 *                                    busy CPU = 1 (column units: percent of
 *                                    one CPU, common/buckets.h)
 *            user_b0..user_b3        log1p(held sessions) / ln 2: 1 session = 1
 *            Fixed scales, not the global norm: the buckets are not AugurSigs
 *            (no per-signal norm in the model file, which stays compatible),
 *            and their values are already bounded and comparable across VMs.
 *            Held and reset like the activity signals: a bucket never seen in
 *            the segment is 0, as is every bucket of a history without the
 *            columns (bkt_avail = 0 tells the net which zero it is).
 *  RECENCY   rec_input, rec_login,     min(steps since the signal's last burst
 *   (7,      rec_proc, rec_disk        / 36, 1): 0 = this step, 1 = none in
 *   opt-in)                            the last 3 h (or in this segment).
 *            Bursts: input >= 30 events/min, sessions above the previous
 *            step's, proc starts >= 10/min, disk rd + wr >= 8 MiB/s.  One
 *            clock per signal, linear over 3 h (one step = 1/36), so a lag
 *            of 2..30 min after a precursor is one input, not a pattern the
 *            recurrent net has to find across its window (act_since_burst
 *            merges the three activity signals on a log scale over a week).
 *            mem_p6max, mem_p12max,   (max of memory over the hour that
 *            mem_p24max               followed this time 6, 12, 24 h ago
 *                                     - held) / g_sd, 0 without that much
 *                                     history: a job that recurs on a
 *                                     period with a jittered start shows as
 *                                     a bump ahead (mean12/day12 halve it).
 *            Added after the buckets (model file metadata version 4): the
 *            rows of the other groups are unchanged, so older files load.
 *  DAY       cpu_hr1..cpu_hr23,      (mean over hour j back, lags 12j ..
 *   (47,     mem_hr1..mem_hr23         12j + 11, - held) / g_sd; 0 before
 *   opt-in)                            the segment reaches that hour.
 *            day_hours                 whole hours of history / 23, <= 1
 *            A day of context downsampled to hours, next to the fine
 *            window (the forecaster issue's item 6): the recurrent net
 *            sees 12 steps, these give it the shape of the last 24 h in
 *            the same step's vector, from the ring the CORE group already
 *            keeps (hour 0 is _mean12, 24 h back is _day12).  Added after
 *            RECENCY (model file metadata version 6).
 * Every feature is clamped to [-16, 16] (the fixed-point kernel's Q10 input
 * saturates at +-32; this leaves headroom).
 *
 * NORMALISATION
 *   Global: g_mean/g_sd per signal on the training split (norm_fit below),
 *   stored in the model file.  Per VM: decayed sums (half-life ~1 week,
 *   decay 1 - 1/2016 per observed step) of u and u^2, blended with the
 *   global prior at weight NORM_PRIOR_STEPS:
 *     vm_mean = (n0 * g_mean + S1) / (n0 + S0)
 *     vm_var  = (n0 * (g_sd^2 + g_mean^2) + S2) / (n0 + S0) - vm_mean^2
 *   so a VM seen for the first time forecasts with the global norm from its
 *   first sample and drifts to its own over a few hours.  vm_sd is floored
 *   at 0.1 g_sd so an idle VM does not blow its z-score up.  The per-VM
 *   sums survive gaps (they describe the VM, not the segment).
 *
 * GAP RULE (why training windows never span a gap)
 *   A step is observed when cpu or mem is present.  Up to max_fill_steps
 *   unobserved steps in a row are "held" (the last values carry on, *_avail
 *   = 0, a vector is produced).  One more missing step and the state is in
 *   a gap: no vector until the next observation, which starts a new segment
 *   (windows and rolling buffers cleared, age 0, segment counter + 1).
 *   Windows are built only from vectors of one segment (dataset.c), so none
 *   spans a gap.  mom drops samples the same way (Monitor.py:111-114).
 *
 * INCREMENTAL == BATCH
 *   The daemon calls augur_features_update() once per step; a skipped tick
 *   (ts jumps k steps) counts as k-1 missing steps.  The batch path is the
 *   same function run over the grid rows, so the vectors are bit-identical
 *   (tests/test-features.c checks it on a series with holes removed).
 *   Rolling sums are recomputed over the ring each step (<= 100 adds per
 *   signal) instead of kept as running sums: no drift, same bits either way.
 *
 * COST: O(F + 72 + 288/window) per step (+ 552 reads with DAY), all memory in the state (about
 * 3 KiB); no allocation after augur_features_state_new().
 */
#include "augur-features.h"
#include "buckets.h"

#include <math.h>
#include <string.h>

#define HIST_LEN          288      /* one day of 5-min steps: lags 0..287  */
#define IO_HIST_LEN       12       /* 1 h of 5-min steps                    */
#define NORM_DECAY        (1.0 - 1.0 / 2016.0)  /* per observed step, ~1 week */
#define NORM_PRIOR_STEPS  36.0     /* global prior weight: 3 h of samples  */
#define VM_SD_FLOOR       0.1      /* vm_sd >= 0.1 * g_sd                  */
#define CV_OFFSET_PT      1.0      /* cv denominator offset, percent points */
#define CV_MAX            4.0f
#define FEAT_CLAMP        16.0f
#define BURST_INPUT_PER_MIN  30.0f /* an active user types/clicks this much */
#define BURST_PROC_PER_MIN   10.0f /* a job or login starts this many procs  */
#define SINCE_BURST_CAP   2016.0   /* 1 week of steps                       */
#define BKT_PROG_SCALE_PCT 100.0f  /* prog bucket: one busy CPU -> 1         */
#define BURST_DISK_KIBPS  8192.0f  /* a staging burst: 8 MiB/s rd + wr      */
#define REC_SPAN_STEPS    36.0     /* recency scale: 3 h of 5-min steps     */
#define N_REC             4
#define N_PER             3        /* mem_p6max, mem_p12max, mem_p24max     */
#define DAY_SLOT_STEPS    12       /* DAY summaries: 1 h of 5-min steps     */
#define N_DAY_SLOTS       23       /* hours 1..23 back (hour 0 = _mean12)   */

/* The signals of core_hist[0] and [1]. */
static const AugurSig core_sig[2] = { AUGUR_SIG_CPU, AUGUR_SIG_MEM };

static const char *const sig_names[AUGUR_SIG_N] = {
        "cpu", "mem", "disk", "net", "input", "sessions", "proc",
        "load", "psi_cpu", "psi_mem", "psi_io",
};

const char *
augur_sig_name (AugurSig s)
{
        g_return_val_if_fail (s < AUGUR_SIG_N, NULL);
        return sig_names[s];
}

static gboolean
sig_is_log (AugurSig s)
{
        switch (s) {
        case AUGUR_SIG_CPU:
        case AUGUR_SIG_MEM:
        case AUGUR_SIG_PSI_CPU:
        case AUGUR_SIG_PSI_MEM:
        case AUGUR_SIG_PSI_IO:
                return FALSE;
        default:
                return TRUE;
        }
}

static float
sig_transform (AugurSig s, float v)
{
        if (isnan (v))
                return NAN;
        return sig_is_log (s) ? log1pf (MAX (v, 0.0f)) : v;
}

/* ---------------------------------------------------------- the table */

enum {
        /* per core signal, offsets */
        C_AVAIL, C_LVL, C_Z, C_VM_MEAN, C_VM_SD, C_D1, C_MEAN3, C_MEAN12, C_MEAN72,
        C_MAX3, C_MAX12, C_MED6, C_MED12, C_CV12, C_DAY1, C_DAY12, C_DAY_AVAIL, C_N,
};
enum { IO_AVAIL, IO_LVL, IO_D1, IO_MEAN12, IO_N };

#define F_CORE0   0
#define F_TIME0   (2 * C_N)
#define F_IO0     (F_TIME0 + 4)
#define F_HOST0   (F_IO0 + 2 * IO_N)
#define F_ACT0    (F_HOST0 + 5)
#define F_BKT0    (F_ACT0 + 5)
#define N_BKT     (AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS)
#define F_REC0    (F_BKT0 + 1 + N_BKT)
#define F_DAY0    (F_REC0 + N_REC + N_PER)
#define F_FULL    (F_DAY0 + 2 * N_DAY_SLOTS + 1)

G_STATIC_ASSERT (F_FULL <= AUGUR_FEAT_MAX);

typedef struct {
        const char *name;
        guint group;
} FeatInfo;

static const FeatInfo feat_info[F_FULL] = {
#define CORE(p) \
        { p "_avail", AUGUR_FEAT_GROUP_CORE }, { p "_lvl", AUGUR_FEAT_GROUP_CORE }, \
        { p "_z", AUGUR_FEAT_GROUP_CORE }, { p "_vm_mean", AUGUR_FEAT_GROUP_CORE }, \
        { p "_vm_sd", AUGUR_FEAT_GROUP_CORE }, { p "_d1", AUGUR_FEAT_GROUP_CORE }, \
        { p "_mean3", AUGUR_FEAT_GROUP_CORE }, { p "_mean12", AUGUR_FEAT_GROUP_CORE }, \
        { p "_mean72", AUGUR_FEAT_GROUP_CORE }, { p "_max3", AUGUR_FEAT_GROUP_CORE }, \
        { p "_max12", AUGUR_FEAT_GROUP_CORE }, { p "_med6", AUGUR_FEAT_GROUP_CORE }, \
        { p "_med12", AUGUR_FEAT_GROUP_CORE }, { p "_cv12", AUGUR_FEAT_GROUP_CORE }, \
        { p "_day1", AUGUR_FEAT_GROUP_CORE }, { p "_day12", AUGUR_FEAT_GROUP_CORE }, \
        { p "_day_avail", AUGUR_FEAT_GROUP_CORE }
        CORE ("cpu"),
        CORE ("mem"),
#undef CORE
        { "tod_sin", AUGUR_FEAT_GROUP_TIME }, { "tod_cos", AUGUR_FEAT_GROUP_TIME },
        { "dow_sin", AUGUR_FEAT_GROUP_TIME }, { "dow_cos", AUGUR_FEAT_GROUP_TIME },
#define IO(p) \
        { p "_avail", AUGUR_FEAT_GROUP_IO }, { p "_lvl", AUGUR_FEAT_GROUP_IO }, \
        { p "_d1", AUGUR_FEAT_GROUP_IO }, { p "_mean12", AUGUR_FEAT_GROUP_IO }
        IO ("disk"),
        IO ("net"),
#undef IO
        { "host_avail", AUGUR_FEAT_GROUP_HOST }, { "load_lvl", AUGUR_FEAT_GROUP_HOST },
        { "psi_cpu", AUGUR_FEAT_GROUP_HOST }, { "psi_mem", AUGUR_FEAT_GROUP_HOST },
        { "psi_io", AUGUR_FEAT_GROUP_HOST },
        { "act_avail", AUGUR_FEAT_GROUP_ACTIVITY }, { "input_lvl", AUGUR_FEAT_GROUP_ACTIVITY },
        { "sessions_lvl", AUGUR_FEAT_GROUP_ACTIVITY }, { "proc_lvl", AUGUR_FEAT_GROUP_ACTIVITY },
        { "act_since_burst", AUGUR_FEAT_GROUP_ACTIVITY },
        { "bkt_avail", AUGUR_FEAT_GROUP_BUCKETS },
        { "prog_b0", AUGUR_FEAT_GROUP_BUCKETS }, { "prog_b1", AUGUR_FEAT_GROUP_BUCKETS },
        { "prog_b2", AUGUR_FEAT_GROUP_BUCKETS }, { "prog_b3", AUGUR_FEAT_GROUP_BUCKETS },
        { "prog_b4", AUGUR_FEAT_GROUP_BUCKETS }, { "prog_b5", AUGUR_FEAT_GROUP_BUCKETS },
        { "prog_b6", AUGUR_FEAT_GROUP_BUCKETS }, { "prog_b7", AUGUR_FEAT_GROUP_BUCKETS },
        { "user_b0", AUGUR_FEAT_GROUP_BUCKETS }, { "user_b1", AUGUR_FEAT_GROUP_BUCKETS },
        { "user_b2", AUGUR_FEAT_GROUP_BUCKETS }, { "user_b3", AUGUR_FEAT_GROUP_BUCKETS },
        { "rec_input", AUGUR_FEAT_GROUP_RECENCY }, { "rec_login", AUGUR_FEAT_GROUP_RECENCY },
        { "rec_proc", AUGUR_FEAT_GROUP_RECENCY }, { "rec_disk", AUGUR_FEAT_GROUP_RECENCY },
        { "mem_p6max", AUGUR_FEAT_GROUP_RECENCY }, { "mem_p12max", AUGUR_FEAT_GROUP_RECENCY },
        { "mem_p24max", AUGUR_FEAT_GROUP_RECENCY },
#define HR(p, n) { p "_hr" #n, AUGUR_FEAT_GROUP_DAY }
#define HRS(p) \
        HR (p, 1), HR (p, 2), HR (p, 3), HR (p, 4), HR (p, 5), HR (p, 6), HR (p, 7), \
        HR (p, 8), HR (p, 9), HR (p, 10), HR (p, 11), HR (p, 12), HR (p, 13), HR (p, 14), \
        HR (p, 15), HR (p, 16), HR (p, 17), HR (p, 18), HR (p, 19), HR (p, 20), HR (p, 21), \
        HR (p, 22), HR (p, 23)
        HRS ("cpu"),
        HRS ("mem"),
#undef HRS
#undef HR
        { "day_hours", AUGUR_FEAT_GROUP_DAY },
};
G_STATIC_ASSERT (AUGUR_COL_USER_B0 == AUGUR_COL_PROG_B0 + AUGUR_PROG_BUCKETS);
G_STATIC_ASSERT (AUGUR_COL_USER_B3 + 1 == AUGUR_COL_PROG_B0 + N_BKT);

guint
augur_features_count (guint groups)
{
        guint n = 0;

        groups |= AUGUR_FEAT_GROUP_CORE;
        for (guint k = 0; k < F_FULL; k++)
                if (feat_info[k].group & groups)
                        n++;
        return n;
}

const char *
augur_features_name (guint groups, guint k)
{
        guint n = 0;

        groups |= AUGUR_FEAT_GROUP_CORE;
        for (guint j = 0; j < F_FULL; j++) {
                if (!(feat_info[j].group & groups))
                        continue;
                if (n++ == k)
                        return feat_info[j].name;
        }
        return NULL;
}

void
augur_features_config_init (AugurFeatConfig *cfg)
{
        memset (cfg, 0, sizeof *cfg);
        cfg->step_s = AUGUR_FEAT_DEFAULT_STEP_S;
        cfg->groups = AUGUR_FEAT_GROUPS_ALL;
        cfg->max_fill_steps = AUGUR_FEAT_DEFAULT_MAX_FILL;
        for (int s = 0; s < AUGUR_SIG_N; s++) {
                cfg->norm.mean[s] = 0.0f;
                cfg->norm.sd[s] = 1.0f;
        }
}

/* ------------------------------------------------------------ samples */

void
augur_features_sample_from_series (AugurFeatSample *s, const AugurSeries *series, gsize i)
{
        s->ts = series->ts[i];
        for (int c = 0; c < AUGUR_COL_N; c++)
                s->v[c] = series->col[c] ? series->col[c][i] : NAN;
}

static float
sum_pair (float a, float b)
{
        if (isnan (a))
                return b;
        if (isnan (b))
                return a;
        return a + b;
}

float
augur_features_signal (const AugurFeatSample *s, AugurSig sig)
{
        float used, prov;

        switch (sig) {
        case AUGUR_SIG_CPU:
                return s->v[AUGUR_COL_CPU_PCT];
        case AUGUR_SIG_MEM:
                used = s->v[AUGUR_COL_MEM_USED_KIB];
                prov = s->v[AUGUR_COL_MEM_PROV_KIB];
                if (isnan (used) || isnan (prov) || prov <= 0.0f)
                        return NAN;
                return 100.0f * used / prov;
        case AUGUR_SIG_DISK:
                return sum_pair (s->v[AUGUR_COL_DISK_RD_KIBPS], s->v[AUGUR_COL_DISK_WR_KIBPS]);
        case AUGUR_SIG_NET:
                return sum_pair (s->v[AUGUR_COL_NET_RX_KIBPS], s->v[AUGUR_COL_NET_TX_KIBPS]);
        case AUGUR_SIG_INPUT:
                return s->v[AUGUR_COL_INPUT_EVENTS_PER_MIN];
        case AUGUR_SIG_SESSIONS:
                return s->v[AUGUR_COL_SESSIONS];
        case AUGUR_SIG_PROC:
                return s->v[AUGUR_COL_PROC_STARTS_PER_MIN];
        case AUGUR_SIG_LOAD:
                return s->v[AUGUR_COL_HOST_LOAD1];
        case AUGUR_SIG_PSI_CPU:
                return s->v[AUGUR_COL_HOST_PSI_CPU];
        case AUGUR_SIG_PSI_MEM:
                return s->v[AUGUR_COL_HOST_PSI_MEM];
        case AUGUR_SIG_PSI_IO:
                return s->v[AUGUR_COL_HOST_PSI_IO];
        default:
                g_return_val_if_reached (NAN);
        }
}

/* -------------------------------------------------------------- state */

struct AugurFeatState {
        AugurFeatConfig cfg;
        guint F;                         /* features for cfg.groups         */
        guint8 sel[F_FULL];              /* 1 = feature k is in the mask    */
        gboolean started;                /* observed at least once          */
        gboolean in_gap;                 /* > max_fill missing in a row     */
        gint64 last_ts;                  /* ts of the last step, s          */
        guint missing_run;               /* unobserved steps in a row       */
        guint age;                       /* steps since segment start       */
        guint seg;                       /* segment counter                 */
        float held[AUGUR_SIG_N];         /* last observed value (untransf.) */
        guint8 obs[AUGUR_SIG_N];         /* observed in the current step    */
        float core_hist[2][HIST_LEN];    /* (2, 288) held u, ring by age    */
        float io_hist[2][IO_HIST_LEN];   /* (2, 12) held u, ring by age     */
        double s0[AUGUR_SIG_N];          /* decayed count (per-VM norm)     */
        double s1[AUGUR_SIG_N];          /* decayed sum of u                */
        double s2[AUGUR_SIG_N];          /* decayed sum of u^2              */
        guint since_burst;               /* steps since activity burst      */
        gboolean burst_seen;
        guint rec_since[N_REC];          /* steps since each signal's burst */
        gboolean rec_seen[N_REC];
        float bkt_held[N_BKT];           /* last observed bucket values     */
        gboolean bkt_obs;                /* any bucket observed this step   */
        float full[F_FULL];              /* scratch: every feature          */
};

static void
state_segment_reset (AugurFeatState *st)
{
        st->age = 0;
        st->missing_run = 0;
        st->in_gap = FALSE;
        for (int s = 0; s < AUGUR_SIG_N; s++) {
                st->held[s] = NAN;
                st->obs[s] = 0;
        }
        for (int k = 0; k < 2; k++) {
                for (int i = 0; i < HIST_LEN; i++)
                        st->core_hist[k][i] = NAN;
                for (int i = 0; i < IO_HIST_LEN; i++)
                        st->io_hist[k][i] = NAN;
        }
        st->since_burst = 0;
        st->burst_seen = FALSE;
        for (int j = 0; j < N_REC; j++) {
                st->rec_since[j] = 0;
                st->rec_seen[j] = FALSE;
        }
        for (int b = 0; b < N_BKT; b++)
                st->bkt_held[b] = NAN;
        st->bkt_obs = FALSE;
}

void
augur_features_state_reset (AugurFeatState *st)
{
        g_return_if_fail (st != NULL);
        st->started = FALSE;
        st->seg = 0;
        st->last_ts = 0;
        memset (st->s0, 0, sizeof st->s0);
        memset (st->s1, 0, sizeof st->s1);
        memset (st->s2, 0, sizeof st->s2);
        state_segment_reset (st);
}

AugurFeatState *
augur_features_state_new (const AugurFeatConfig *cfg)
{
        AugurFeatState *st;

        g_return_val_if_fail (cfg != NULL && cfg->step_s > 0, NULL);
        st = g_new0 (AugurFeatState, 1);
        st->cfg = *cfg;
        st->cfg.groups |= AUGUR_FEAT_GROUP_CORE;
        for (guint k = 0; k < F_FULL; k++) {
                st->sel[k] = (feat_info[k].group & st->cfg.groups) != 0;
                st->F += st->sel[k];
        }
        for (int s = 0; s < AUGUR_SIG_N; s++)
                if (!(st->cfg.norm.sd[s] >= AUGUR_FEAT_SD_FLOOR))
                        st->cfg.norm.sd[s] = AUGUR_FEAT_SD_FLOOR;
        augur_features_state_reset (st);
        return st;
}

void
augur_features_state_free (AugurFeatState *st)
{
        g_free (st);
}

guint
augur_features_state_age (const AugurFeatState *st)
{
        return st->age;
}

guint
augur_features_state_segment (const AugurFeatState *st)
{
        return st->seg;
}

float
augur_features_state_held (const AugurFeatState *st, AugurSig sig)
{
        g_return_val_if_fail (sig < AUGUR_SIG_N, NAN);
        return st->held[sig];
}

static float
clampf (float v, float lo, float hi)
{
        if (isnan (v))
                return 0.0f;
        return v < lo ? lo : (v > hi ? hi : v);
}

/* Value at lag L (0 = this step) of a ring indexed by age; NAN if before
 * the segment start. */
static float
ring_at (const float *ring, guint len, guint age, guint lag)
{
        if (lag > age || lag >= len)
                return NAN;
        return ring[(age - lag) % len];
}

/* Mean / max / sd over lags [lag0, lag1] of non-NAN entries. */
static void
ring_stats (const float *ring, guint len, guint age, guint lag0, guint lag1,
            float *ret_mean, float *ret_max, float *ret_sd)
{
        double sum = 0, sum2 = 0;
        float mx = -INFINITY;
        guint n = 0;

        for (guint l = lag0; l <= lag1; l++) {
                float v = ring_at (ring, len, age, l);

                if (isnan (v))
                        continue;
                sum += v;
                sum2 += (double) v * v;
                mx = MAX (mx, v);
                n++;
        }
        if (n == 0) {
                *ret_mean = NAN;
                if (ret_max)
                        *ret_max = NAN;
                if (ret_sd)
                        *ret_sd = NAN;
                return;
        }
        *ret_mean = (float) (sum / n);
        if (ret_max)
                *ret_max = mx;
        if (ret_sd) {
                double var = sum2 / n - (sum / n) * (sum / n);

                *ret_sd = (float) sqrt (MAX (var, 0.0));
        }
}

/* Median of the non-NAN values at lags [0, W) (W <= 12); NAN if none.
 * Insertion sort of at most 12 values. */
static float
ring_median (const float *ring, guint len, guint age, guint W)
{
        float v[12];
        guint n = 0;

        g_assert (W <= G_N_ELEMENTS (v));
        for (guint l = 0; l < W; l++) {
                float x = ring_at (ring, len, age, l);
                guint j;

                if (isnan (x))
                        continue;
                for (j = n; j > 0 && v[j - 1] > x; j--)
                        v[j] = v[j - 1];
                v[j] = x;
                n++;
        }
        if (n == 0)
                return NAN;
        return (n & 1) ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

/* Per-VM running norm of signal s, blended with the global prior. */
static void
vm_norm (const AugurFeatState *st, AugurSig s, float *ret_mean, float *ret_sd)
{
        double gm = st->cfg.norm.mean[s], gs = st->cfg.norm.sd[s];
        double n0 = NORM_PRIOR_STEPS;
        double m = (n0 * gm + st->s1[s]) / (n0 + st->s0[s]);
        double ex2 = (n0 * (gs * gs + gm * gm) + st->s2[s]) / (n0 + st->s0[s]);
        double sd = sqrt (MAX (ex2 - m * m, 0.0));

        *ret_mean = (float) m;
        *ret_sd = (float) MAX (sd, VM_SD_FLOOR * gs);
}

static float
norm_u (const AugurFeatState *st, AugurSig s, float u)
{
        if (isnan (u))
                return 0.0f;
        return (u - st->cfg.norm.mean[s]) / st->cfg.norm.sd[s];
}

static void
fill_core (AugurFeatState *st, int k, AugurSig s, float *f)
{
        const float *ring = st->core_hist[k];
        float gsd = st->cfg.norm.sd[s];
        float u = sig_transform (s, st->held[s]);
        float vm_mean, vm_sd, m3, m12, m72, mx3, mx12, sd12, prev, d1v, d12, md6, md12;

        memset (f, 0, C_N * sizeof *f);
        if (isnan (u))
                return;   /* signal never seen in this segment: all zero */
        vm_norm (st, s, &vm_mean, &vm_sd);
        ring_stats (ring, HIST_LEN, st->age, 0, 2, &m3, &mx3, NULL);
        ring_stats (ring, HIST_LEN, st->age, 0, 11, &m12, &mx12, &sd12);
        ring_stats (ring, HIST_LEN, st->age, 0, 71, &m72, NULL, NULL);
        md6 = ring_median (ring, HIST_LEN, st->age, 6);
        md12 = ring_median (ring, HIST_LEN, st->age, 12);
        prev = ring_at (ring, HIST_LEN, st->age, 1);
        d1v = ring_at (ring, HIST_LEN, st->age, HIST_LEN - 1);
        ring_stats (ring, HIST_LEN, st->age, HIST_LEN - 12, HIST_LEN - 1, &d12, NULL, NULL);

        f[C_AVAIL] = st->obs[s] ? 1.0f : 0.0f;
        f[C_LVL] = norm_u (st, s, u);
        f[C_Z] = (u - vm_mean) / vm_sd;
        f[C_VM_MEAN] = (vm_mean - st->cfg.norm.mean[s]) / gsd;
        f[C_VM_SD] = logf (vm_sd / gsd);
        f[C_D1] = isnan (prev) ? 0.0f : (u - prev) / gsd;
        f[C_MEAN3] = (m3 - u) / gsd;
        f[C_MEAN12] = (m12 - u) / gsd;
        f[C_MEAN72] = (m72 - u) / gsd;
        f[C_MAX3] = (mx3 - u) / gsd;
        f[C_MAX12] = (mx12 - u) / gsd;
        f[C_MED6] = (md6 - u) / gsd;
        f[C_MED12] = (md12 - u) / gsd;
        f[C_CV12] = clampf ((float) (sd12 / (fabsf (m12) + CV_OFFSET_PT)), 0.0f, CV_MAX);
        f[C_DAY1] = isnan (d1v) ? 0.0f : (d1v - u) / gsd;
        f[C_DAY12] = isnan (d12) ? 0.0f : (d12 - u) / gsd;
        f[C_DAY_AVAIL] = isnan (d1v) ? 0.0f : 1.0f;
}

static void
fill_io (AugurFeatState *st, int k, AugurSig s, float *f)
{
        const float *ring = st->io_hist[k];
        float u = sig_transform (s, st->held[s]);
        float prev, m12;

        memset (f, 0, IO_N * sizeof *f);
        if (isnan (u))
                return;
        prev = ring_at (ring, IO_HIST_LEN, st->age, 1);
        ring_stats (ring, IO_HIST_LEN, st->age, 0, IO_HIST_LEN - 1, &m12, NULL, NULL);
        f[IO_AVAIL] = st->obs[s] ? 1.0f : 0.0f;
        f[IO_LVL] = norm_u (st, s, u);
        f[IO_D1] = isnan (prev) ? 0.0f : (u - prev) / st->cfg.norm.sd[s];
        f[IO_MEAN12] = (m12 - u) / st->cfg.norm.sd[s];
}

/* DAY: the mean of each whole hour 1..23 back (lags 12j .. 12j + 11), minus
 * held, over g_sd; 0 for an hour before the segment start. */
static void
fill_day (const AugurFeatState *st, int k, AugurSig s, float *f)
{
        float u = sig_transform (s, st->held[s]);

        for (guint j = 1; j <= N_DAY_SLOTS; j++) {
                guint lag0 = j * DAY_SLOT_STEPS, lag1 = lag0 + DAY_SLOT_STEPS - 1;
                float m = NAN;

                f[j - 1] = 0.0f;
                if (isnan (u) || st->age < lag1)
                        continue;
                ring_stats (st->core_hist[k], HIST_LEN, st->age, lag0, lag1, &m, NULL, NULL);
                if (!isnan (m))
                        f[j - 1] = (m - u) / st->cfg.norm.sd[s];
        }
}

/* Advance by one step whose signal values are in vals (NAN = missing) and
 * bucket values in bkt (N_BKT, NAN = missing); observed says whether the
 * step counts as observed. */
static void
state_advance (AugurFeatState *st, const float *vals, const float *bkt, gboolean observed)
{
        static const AugurSig io[2] = { AUGUR_SIG_DISK, AUGUR_SIG_NET };
        float prev_sessions = st->held[AUGUR_SIG_SESSIONS];
        gboolean burst = FALSE;

        if (observed && (!st->started || st->in_gap)) {
                if (st->started)
                        st->seg++;
                state_segment_reset (st);
                st->started = TRUE;
        } else {
                st->age++;
        }
        st->missing_run = observed ? 0 : st->missing_run + 1;

        for (int s = 0; s < AUGUR_SIG_N; s++) {
                st->obs[s] = !isnan (vals[s]);
                if (st->obs[s]) {
                        double u = sig_transform ((AugurSig) s, vals[s]);

                        st->held[s] = vals[s];
                        st->s0[s] = NORM_DECAY * st->s0[s] + 1.0;
                        st->s1[s] = NORM_DECAY * st->s1[s] + u;
                        st->s2[s] = NORM_DECAY * st->s2[s] + u * u;
                }
        }
        st->bkt_obs = FALSE;
        for (int b = 0; b < N_BKT; b++) {
                if (isnan (bkt[b]))
                        continue;
                st->bkt_held[b] = bkt[b];
                st->bkt_obs = TRUE;
        }
        for (int k = 0; k < 2; k++) {
                st->core_hist[k][st->age % HIST_LEN] = sig_transform (core_sig[k], st->held[core_sig[k]]);
                st->io_hist[k][st->age % IO_HIST_LEN] = sig_transform (io[k], st->held[io[k]]);
        }

        if (st->obs[AUGUR_SIG_INPUT] && vals[AUGUR_SIG_INPUT] >= BURST_INPUT_PER_MIN)
                burst = TRUE;
        if (st->obs[AUGUR_SIG_PROC] && vals[AUGUR_SIG_PROC] >= BURST_PROC_PER_MIN)
                burst = TRUE;
        if (st->obs[AUGUR_SIG_SESSIONS] && !isnan (prev_sessions)
            && vals[AUGUR_SIG_SESSIONS] > prev_sessions)
                burst = TRUE;
        if (burst) {
                st->burst_seen = TRUE;
                st->since_burst = 0;
        } else if (st->since_burst < G_MAXUINT / 2) {
                st->since_burst++;
        }

        {
                gboolean rb[N_REC] = {
                        st->obs[AUGUR_SIG_INPUT] && vals[AUGUR_SIG_INPUT] >= BURST_INPUT_PER_MIN,
                        st->obs[AUGUR_SIG_SESSIONS] && !isnan (prev_sessions)
                                && vals[AUGUR_SIG_SESSIONS] > prev_sessions,
                        st->obs[AUGUR_SIG_PROC] && vals[AUGUR_SIG_PROC] >= BURST_PROC_PER_MIN,
                        st->obs[AUGUR_SIG_DISK] && vals[AUGUR_SIG_DISK] >= BURST_DISK_KIBPS,
                };

                for (int j = 0; j < N_REC; j++) {
                        if (rb[j]) {
                                st->rec_seen[j] = TRUE;
                                st->rec_since[j] = 0;
                        } else if (st->rec_since[j] < G_MAXUINT / 2) {
                                st->rec_since[j]++;
                        }
                }
        }
}

static void
state_emit (AugurFeatState *st, gint64 ts, float *ret_vec)
{
        float *f = st->full;
        gint64 tod_s, days;
        double tod, dow;
        gboolean any;
        guint o = 0;

        for (int k = 0; k < 2; k++)
                fill_core (st, k, core_sig[k], f + F_CORE0 + k * C_N);

        tod_s = ((ts % 86400) + 86400) % 86400;
        days = (ts - tod_s) / 86400;
        tod = 2.0 * G_PI * (double) tod_s / 86400.0;
        dow = 2.0 * G_PI * (double) (((days + 3) % 7 + 7) % 7) / 7.0;  /* 1970-01-01 was a Thursday */
        f[F_TIME0 + 0] = (float) sin (tod);
        f[F_TIME0 + 1] = (float) cos (tod);
        f[F_TIME0 + 2] = (float) sin (dow);
        f[F_TIME0 + 3] = (float) cos (dow);

        fill_io (st, 0, AUGUR_SIG_DISK, f + F_IO0);
        fill_io (st, 1, AUGUR_SIG_NET, f + F_IO0 + IO_N);

        any = st->obs[AUGUR_SIG_LOAD] || st->obs[AUGUR_SIG_PSI_CPU]
              || st->obs[AUGUR_SIG_PSI_MEM] || st->obs[AUGUR_SIG_PSI_IO];
        f[F_HOST0 + 0] = any ? 1.0f : 0.0f;
        f[F_HOST0 + 1] = norm_u (st, AUGUR_SIG_LOAD, sig_transform (AUGUR_SIG_LOAD, st->held[AUGUR_SIG_LOAD]));
        f[F_HOST0 + 2] = norm_u (st, AUGUR_SIG_PSI_CPU, st->held[AUGUR_SIG_PSI_CPU]);
        f[F_HOST0 + 3] = norm_u (st, AUGUR_SIG_PSI_MEM, st->held[AUGUR_SIG_PSI_MEM]);
        f[F_HOST0 + 4] = norm_u (st, AUGUR_SIG_PSI_IO, st->held[AUGUR_SIG_PSI_IO]);

        any = st->obs[AUGUR_SIG_INPUT] || st->obs[AUGUR_SIG_SESSIONS] || st->obs[AUGUR_SIG_PROC];
        f[F_ACT0 + 0] = any ? 1.0f : 0.0f;
        f[F_ACT0 + 1] = norm_u (st, AUGUR_SIG_INPUT, sig_transform (AUGUR_SIG_INPUT, st->held[AUGUR_SIG_INPUT]));
        f[F_ACT0 + 2] = norm_u (st, AUGUR_SIG_SESSIONS, sig_transform (AUGUR_SIG_SESSIONS, st->held[AUGUR_SIG_SESSIONS]));
        f[F_ACT0 + 3] = norm_u (st, AUGUR_SIG_PROC, sig_transform (AUGUR_SIG_PROC, st->held[AUGUR_SIG_PROC]));
        if (st->burst_seen)
                f[F_ACT0 + 4] = (float) MIN (log1p ((double) st->since_burst) / log1p (SINCE_BURST_CAP), 1.0);
        else
                f[F_ACT0 + 4] = 1.0f;

        f[F_BKT0] = st->bkt_obs ? 1.0f : 0.0f;
        for (int b = 0; b < N_BKT; b++) {
                float v = st->bkt_held[b];

                if (isnan (v) || v <= 0.0f)
                        f[F_BKT0 + 1 + b] = 0.0f;
                else if (b < AUGUR_PROG_BUCKETS)
                        f[F_BKT0 + 1 + b] = log1pf (v) / log1pf (BKT_PROG_SCALE_PCT);
                else
                        f[F_BKT0 + 1 + b] = log1pf (v) / (float) G_LN2;
        }

        for (int j = 0; j < N_REC; j++)
                f[F_REC0 + j] = st->rec_seen[j]
                        ? (float) MIN ((double) st->rec_since[j] / REC_SPAN_STEPS, 1.0) : 1.0f;
        {
                static const guint lag_end[N_PER] = { 72, 144, HIST_LEN - 1 };
                float u = sig_transform (AUGUR_SIG_MEM, st->held[AUGUR_SIG_MEM]);

                for (int j = 0; j < N_PER; j++) {
                        float m, mx = NAN;

                        f[F_REC0 + N_REC + j] = 0.0f;
                        if (isnan (u) || st->age < lag_end[j])
                                continue;
                        ring_stats (st->core_hist[1], HIST_LEN, st->age, lag_end[j] - 11, lag_end[j], &m, &mx, NULL);
                        if (!isnan (mx))
                                f[F_REC0 + N_REC + j] = (mx - u) / st->cfg.norm.sd[AUGUR_SIG_MEM];
                }
        }

        if (st->cfg.groups & AUGUR_FEAT_GROUP_DAY) {   /* 552 ring reads: only when emitted */
                for (int k = 0; k < 2; k++)
                        fill_day (st, k, core_sig[k], f + F_DAY0 + k * N_DAY_SLOTS);
                f[F_DAY0 + 2 * N_DAY_SLOTS] = (float) MIN (st->age / DAY_SLOT_STEPS, N_DAY_SLOTS) / N_DAY_SLOTS;
        }

        for (guint k = 0; k < F_FULL; k++)
                if (st->sel[k])
                        ret_vec[o++] = clampf (f[k], -FEAT_CLAMP, FEAT_CLAMP);
}

/* One missing step (no sample at all). */
static void
state_missing (AugurFeatState *st)
{
        float vals[AUGUR_SIG_N], bkt[N_BKT];

        if (!st->started || st->in_gap)
                return;
        if (st->missing_run + 1 > st->cfg.max_fill_steps) {
                st->in_gap = TRUE;
                st->missing_run++;
                return;
        }
        for (int s = 0; s < AUGUR_SIG_N; s++)
                vals[s] = NAN;
        for (int b = 0; b < N_BKT; b++)
                bkt[b] = NAN;
        state_advance (st, vals, bkt, FALSE);
}

gboolean
augur_features_update (AugurFeatState *st, const AugurFeatSample *x, float *ret_vec)
{
        float vals[AUGUR_SIG_N];
        gboolean observed;

        g_return_val_if_fail (st != NULL && x != NULL && ret_vec != NULL, FALSE);

        if (st->started) {
                gint64 dt = x->ts - st->last_ts;
                gint64 k = (dt + st->cfg.step_s / 2) / st->cfg.step_s;

                if (k <= 0)
                        return FALSE;   /* not later than the last step: ignored */
                /* k - 1 skipped steps are missing; past max_fill it is a gap
                 * whatever its length, so the loop is bounded. */
                for (gint64 j = 1; j < k && !st->in_gap; j++)
                        state_missing (st);
        }
        for (int s = 0; s < AUGUR_SIG_N; s++)
                vals[s] = augur_features_signal (x, (AugurSig) s);
        observed = !isnan (vals[AUGUR_SIG_CPU]) || !isnan (vals[AUGUR_SIG_MEM]);
        if (!observed) {
                if (!st->started)
                        return FALSE;
                st->last_ts = x->ts;
                state_missing (st);
                if (st->in_gap)
                        return FALSE;
                state_emit (st, x->ts, ret_vec);
                return TRUE;
        }
        st->last_ts = x->ts;
        state_advance (st, vals, x->v + AUGUR_COL_PROG_B0, TRUE);
        state_emit (st, x->ts, ret_vec);
        return TRUE;
}

/* -------------------------------------------------------------- batch */

void
augur_features_batch (const AugurFeatConfig *cfg, const AugurSeries *grid,
                      float *ret_feat, guint8 *ret_valid, guint32 *ret_seg,
                      float *ret_held)
{
        g_autoptr (AugurFeatState) st = augur_features_state_new (cfg);
        float vec[AUGUR_FEAT_MAX];
        guint F = st->F;

        for (gsize i = 0; i < grid->n; i++) {
                AugurFeatSample x;
                gboolean ok;

                augur_features_sample_from_series (&x, grid, i);
                ok = augur_features_update (st, &x, vec);
                if (ret_feat) {
                        if (ok)
                                memcpy (ret_feat + i * F, vec, F * sizeof *vec);
                        else
                                memset (ret_feat + i * F, 0, F * sizeof *vec);
                }
                if (ret_valid)
                        ret_valid[i] = ok ? 1 : 0;
                if (ret_seg)
                        ret_seg[i] = st->seg;
                if (ret_held)
                        for (int s = 0; s < AUGUR_SIG_N; s++)
                                ret_held[i * AUGUR_SIG_N + s] = ok ? st->held[s] : NAN;
        }
}

void
augur_features_norm_fit (AugurFeatNorm *ret_norm, const GPtrArray *grids,
                         const gsize *from, const gsize *to)
{
        double sum[AUGUR_SIG_N] = { 0 }, sum2[AUGUR_SIG_N] = { 0 };
        guint64 n[AUGUR_SIG_N] = { 0 };

        for (guint g = 0; g < grids->len; g++) {
                const AugurSeries *s = g_ptr_array_index (grids, g);
                gsize a = from ? from[g] : 0, b = to ? to[g] : s->n;

                for (gsize i = a; i < b && i < s->n; i++) {
                        AugurFeatSample x;

                        augur_features_sample_from_series (&x, s, i);
                        for (int k = 0; k < AUGUR_SIG_N; k++) {
                                float u = sig_transform ((AugurSig) k, augur_features_signal (&x, (AugurSig) k));

                                if (isnan (u))
                                        continue;
                                sum[k] += u;
                                sum2[k] += (double) u * u;
                                n[k]++;
                        }
                }
        }
        for (int k = 0; k < AUGUR_SIG_N; k++) {
                double m = n[k] ? sum[k] / n[k] : 0.0;
                double var = n[k] ? sum2[k] / n[k] - m * m : 1.0;

                ret_norm->mean[k] = (float) m;
                ret_norm->sd[k] = (float) MAX (sqrt (MAX (var, 0.0)), AUGUR_FEAT_SD_FLOOR);
        }
}
