/* bench-store.c — what the history store costs: per-tick write time, 1-min
 * history query time and disk bytes per VM-day, measured on the real code.
 *
 * What it is: a benchmark that PRINTS numbers.  It drives the daemon's own
 * data path — augur_collect_parse_params() on synthetic virTypedParameter
 * records, then augur_store_write_tick() — into a temporary database, and
 * reads back with augur_store_history() the way `virt-augur history` does.
 * What it is not: a test.  It asserts nothing about speed, `make check`
 * does not run it, and it exits 0 unless an argument is wrong or the store
 * fails.  Run it on an idle machine; the numbers belong to that machine.
 *
 * THE SYNTHETIC GUESTS
 *   Records are shaped like tests/data/domstats-2guests.txt (libvirt 9.0 /
 *   QEMU 7.2, the same stats groups as AUGUR_COLLECT_STATS), with libvirt's
 *   own typed-parameter types (INT/UINT/ULLONG/STRING).  Domain i has
 *   1 + i % 4 vCPUs (vcpu.N.* per vCPU) and one of three shapes:
 *     i % 20 == 0       'booting': no guest balloon stats yet      (~24 fields)
 *     i % 20 in 1..3    'full' as captured: a NIC with no counters (~34 fields)
 *     otherwise         'full' + one disk (block.0.*) + one NIC    (~58 fields)
 *   Counters advance like a busy-ish guest (cpu.time by 2-60 % of the vCPUs
 *   per second, disk and NIC bytes by KiB-MiB per second); 0.5 % of samples
 *   lose the guest-side balloon stats for one tick (a guest that did not
 *   refresh), and a domain restarts (counters reset) with probability
 *   1/20000 per sample.  Building the records is libvirt's work (RPC decode)
 *   and is not timed; parsing them and storing the tick is.
 *
 * THE THREE MEASUREMENTS (in this order, on one file)
 *   1. tick cost   D domains, W warm-up ticks then T measured ticks at 5 s
 *                  simulated spacing; per tick: parse all D records + one
 *                  augur_store_write_tick() (one transaction, incl. any WAL
 *                  auto-checkpoint it triggers).  mean/p50/p95 per tick and
 *                  per VM, bytes the process wrote (/proc/self/io wchar).
 *   2. disk bytes  the file after part 1, closed (the last close checkpoints
 *                  and removes the WAL), bytes per raw sample and per rollup
 *                  row from the dbstat virtual table, scaled to one VM-day at
 *                  the default 5 s tick: 17280 raw samples, 1440 1-min and
 *                  288 5-min rollup rows.
 *   3. query       25 h more history appended for all D domains at a coarser
 *                  simulated tick (--hist-step, default 60 s: 1-s or 5-s ticks
 *                  would take hours to generate, and the 1-min rollups, which
 *                  are all the query reads, have one row per minute at any
 *                  tick of 60 s or less), then Q queries of the last 24 h at
 *                  AUGUR_RES_1M for random domains on a read-only store, as
 *                  virt-augur opens it.  The DB page cache of the OS is warm.
 *
 * Measuring disk use needs SQL the store has no API for (dbstat); that is
 * the one place this program talks to SQLite directly, read-only, on a
 * closed store.
 *
 * Usage: bench-store [--domains N] [--ticks N] [--db PATH] [--quick]
 *                    [--queries N] [--hist-step S] [--keep]
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "collect.h"
#include "store.h"
#include "util.h"

#define TICK_MS 5000                    /* augurd default tick, ms            */
#define SAMPLES_PER_VM_DAY 17280        /* 86400 s / 5 s                      */
#define ROLLUPS_PER_VM_DAY (1440 + 288) /* 1-min + 5-min buckets per day      */
#define HIST_SPAN_S (25 * 3600)         /* history synthesized for part 3, s  */
#define QUERY_SPAN_S (24 * 3600)        /* history read per query, s          */
#define MAX_PARAMS 96                   /* > the largest shape (58 + vCPUs)   */
#define GOAL_US_PER_VM 20.0             /* tick goal, µs per VM               */
#define GOAL_QUERY_MS 5.0               /* 24 h at 1 min, one VM, ms          */
/* 2026-12-01T00:00:00Z: a round start so buckets line up with the output. */
#define BASE_MS G_GINT64_CONSTANT (1796083200000)

typedef enum {
        SHAPE_BOOTING,                  /* balloon driver not reporting yet    */
        SHAPE_FULL,                     /* as captured: NIC without counters   */
        SHAPE_FULL_DEVICES,             /* + one disk and one NIC with counters */
} Shape;

/* The state of one synthetic guest: what its next record reports. */
typedef struct {
        char name[32];
        char uuid[AUGUR_UUID_STRLEN];
        Shape shape;
        guint vcpus;                    /* online = configured here            */
        guint64 mem_kib;                /* balloon.maximum                     */
        guint64 cur_kib;                /* balloon.current                     */
        guint64 cpu_ns, user_ns, sys_ns;
        guint64 vcpu_ns[4];
        guint64 minor_fault, major_fault;
        guint64 avail_kib, usable_kib, unused_kib, caches_kib, rss_kib;
        guint64 rd_bytes, wr_bytes, rd_reqs, wr_reqs;
        guint64 rx_bytes, tx_bytes, rx_pkts, tx_pkts;
        double load;                    /* share of vCPUs busy, 0..1           */
        virTypedParameter params[MAX_PARAMS];
        int nparams;
} Guest;

typedef struct {
        guint n_domains;
        guint warmup;
        guint ticks;
        guint queries;
        guint hist_step_s;
        char *db;
        gboolean keep;
        gboolean quick;
        gboolean skip_query;
} Options;

/* ------------------------------------------------------------ records */

static void
p_set (Guest *g, const char *field, int type, guint64 v)
{
        virTypedParameter *p = &g->params[g->nparams++];

        g_assert (g->nparams <= MAX_PARAMS);
        g_strlcpy (p->field, field, sizeof p->field);
        p->type = type;
        switch (type) {
        case VIR_TYPED_PARAM_INT: p->value.i = (int) v; break;
        case VIR_TYPED_PARAM_UINT: p->value.ui = (unsigned) v; break;
        default: p->value.ul = v; break;
        }
}

static void
p_str (Guest *g, const char *field, const char *s)
{
        virTypedParameter *p = &g->params[g->nparams++];

        g_assert (g->nparams <= MAX_PARAMS);
        g_strlcpy (p->field, field, sizeof p->field);
        p->type = VIR_TYPED_PARAM_STRING;
        p->value.s = (char *) s;        /* the parser never writes to it       */
}

/* Rebuild g->params in libvirt's order for the record at ts_ms. */
static void
guest_build_record (Guest *g, gint64 ts_ms, gboolean balloon_stale)
{
        char f[VIR_TYPED_PARAM_FIELD_LENGTH];
        gboolean guest_stats = g->shape != SHAPE_BOOTING && !balloon_stale;

        g->nparams = 0;
        p_set (g, "state.state", VIR_TYPED_PARAM_INT, 1);
        p_set (g, "state.reason", VIR_TYPED_PARAM_INT, 1);
        p_set (g, "cpu.time", VIR_TYPED_PARAM_ULLONG, g->cpu_ns);
        p_set (g, "cpu.user", VIR_TYPED_PARAM_ULLONG, g->user_ns);
        p_set (g, "cpu.system", VIR_TYPED_PARAM_ULLONG, g->sys_ns);
        p_set (g, "cpu.cache.monitor.count", VIR_TYPED_PARAM_UINT, 0);
        p_set (g, "cpu.haltpoll.success.time", VIR_TYPED_PARAM_ULLONG, 0);
        p_set (g, "cpu.haltpoll.fail.time", VIR_TYPED_PARAM_ULLONG, 0);
        p_set (g, "balloon.current", VIR_TYPED_PARAM_ULLONG, g->cur_kib);
        p_set (g, "balloon.maximum", VIR_TYPED_PARAM_ULLONG, g->mem_kib);
        if (guest_stats) {
                p_set (g, "balloon.swap_in", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "balloon.swap_out", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "balloon.major_fault", VIR_TYPED_PARAM_ULLONG, g->major_fault);
                p_set (g, "balloon.minor_fault", VIR_TYPED_PARAM_ULLONG, g->minor_fault);
                p_set (g, "balloon.unused", VIR_TYPED_PARAM_ULLONG, g->unused_kib);
                p_set (g, "balloon.available", VIR_TYPED_PARAM_ULLONG, g->avail_kib);
                p_set (g, "balloon.usable", VIR_TYPED_PARAM_ULLONG, g->usable_kib);
        }
        p_set (g, "balloon.last-update", VIR_TYPED_PARAM_ULLONG,
               g->shape == SHAPE_BOOTING ? 0 : (guint64) (ts_ms / 1000));
        if (guest_stats) {
                p_set (g, "balloon.disk_caches", VIR_TYPED_PARAM_ULLONG, g->caches_kib);
                p_set (g, "balloon.hugetlb_pgalloc", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "balloon.hugetlb_pgfail", VIR_TYPED_PARAM_ULLONG, 0);
        }
        p_set (g, "balloon.rss", VIR_TYPED_PARAM_ULLONG, g->rss_kib);
        p_set (g, "vcpu.current", VIR_TYPED_PARAM_UINT, g->vcpus);
        p_set (g, "vcpu.maximum", VIR_TYPED_PARAM_UINT, 4);
        for (guint v = 0; v < g->vcpus; v++) {
                g_snprintf (f, sizeof f, "vcpu.%u.state", v);
                p_set (g, f, VIR_TYPED_PARAM_INT, 1);
                g_snprintf (f, sizeof f, "vcpu.%u.time", v);
                p_set (g, f, VIR_TYPED_PARAM_ULLONG, g->vcpu_ns[v]);
                g_snprintf (f, sizeof f, "vcpu.%u.wait", v);
                p_set (g, f, VIR_TYPED_PARAM_ULLONG, 0);
                g_snprintf (f, sizeof f, "vcpu.%u.delay", v);
                p_set (g, f, VIR_TYPED_PARAM_ULLONG, g->vcpu_ns[v] / 4);
        }
        if (g->shape == SHAPE_BOOTING) {
                p_set (g, "net.count", VIR_TYPED_PARAM_UINT, 0);
                p_set (g, "block.count", VIR_TYPED_PARAM_UINT, 0);
                return;
        }
        p_set (g, "net.count", VIR_TYPED_PARAM_UINT, 1);
        if (g->shape == SHAPE_FULL_DEVICES) {
                p_str (g, "net.0.name", "vnet0");
                p_set (g, "net.0.rx.bytes", VIR_TYPED_PARAM_ULLONG, g->rx_bytes);
                p_set (g, "net.0.rx.pkts", VIR_TYPED_PARAM_ULLONG, g->rx_pkts);
                p_set (g, "net.0.rx.errs", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "net.0.rx.drop", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "net.0.tx.bytes", VIR_TYPED_PARAM_ULLONG, g->tx_bytes);
                p_set (g, "net.0.tx.pkts", VIR_TYPED_PARAM_ULLONG, g->tx_pkts);
                p_set (g, "net.0.tx.errs", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "net.0.tx.drop", VIR_TYPED_PARAM_ULLONG, 0);
                p_set (g, "block.count", VIR_TYPED_PARAM_UINT, 1);
                p_str (g, "block.0.name", "vda");
                p_str (g, "block.0.path", "/var/lib/libvirt/images/guest.qcow2");
                p_set (g, "block.0.backingIndex", VIR_TYPED_PARAM_UINT, 1);
                p_set (g, "block.0.rd.reqs", VIR_TYPED_PARAM_ULLONG, g->rd_reqs);
                p_set (g, "block.0.rd.bytes", VIR_TYPED_PARAM_ULLONG, g->rd_bytes);
                p_set (g, "block.0.rd.times", VIR_TYPED_PARAM_ULLONG, g->rd_reqs * 90000);
                p_set (g, "block.0.wr.reqs", VIR_TYPED_PARAM_ULLONG, g->wr_reqs);
                p_set (g, "block.0.wr.bytes", VIR_TYPED_PARAM_ULLONG, g->wr_bytes);
                p_set (g, "block.0.wr.times", VIR_TYPED_PARAM_ULLONG, g->wr_reqs * 150000);
                p_set (g, "block.0.fl.reqs", VIR_TYPED_PARAM_ULLONG, g->wr_reqs / 8);
                p_set (g, "block.0.fl.times", VIR_TYPED_PARAM_ULLONG, g->wr_reqs * 20000);
                p_set (g, "block.0.allocation", VIR_TYPED_PARAM_ULLONG, G_GUINT64_CONSTANT (3) << 30);
                p_set (g, "block.0.capacity", VIR_TYPED_PARAM_ULLONG, G_GUINT64_CONSTANT (20) << 30);
                p_set (g, "block.0.physical", VIR_TYPED_PARAM_ULLONG, G_GUINT64_CONSTANT (3) << 30);
        } else {
                p_set (g, "block.count", VIR_TYPED_PARAM_UINT, 0);
        }
}

static void
guest_init (Guest *g, guint i, GRand *rng)
{
        memset (g, 0, sizeof *g);
        g_snprintf (g->name, sizeof g->name, "bench-%05u", i);
        augur_uuid_v5_from_name (g->name, g->uuid);
        if (i % 20 == 0)
                g->shape = SHAPE_BOOTING;
        else if (i % 20 <= 3)
                g->shape = SHAPE_FULL;
        else
                g->shape = SHAPE_FULL_DEVICES;
        g->vcpus = 1 + i % 4;
        g->mem_kib = (guint64) (1 + i % 8) * 1048576;
        g->cur_kib = g->mem_kib - (i % 3 == 0 ? g->mem_kib / 4 : 0);
        g->avail_kib = g->cur_kib - 80000;
        g->usable_kib = g->avail_kib / 2;
        g->unused_kib = g->usable_kib - 4000;
        g->caches_kib = g->avail_kib / 5;
        g->rss_kib = g->cur_kib / 2;
        g->load = g_rand_double_range (rng, 0.02, 0.6);
}

/* Advance the guest by dt_s seconds of plausible activity. */
static void
guest_advance (Guest *g, double dt_s, GRand *rng)
{
        double busy = g->load * (0.7 + 0.6 * g_rand_double (rng));
        guint64 cpu = (guint64) (busy * g->vcpus * dt_s * 1e9);
        gint64 drift;

        if (g_rand_int_range (rng, 0, 20000) == 0) {
                /* restart: every counter starts again from (almost) zero */
                g->cpu_ns = g->user_ns = g->sys_ns = 0;
                memset (g->vcpu_ns, 0, sizeof g->vcpu_ns);
                g->minor_fault = g->major_fault = 0;
                g->rd_bytes = g->wr_bytes = g->rd_reqs = g->wr_reqs = 0;
                g->rx_bytes = g->tx_bytes = g->rx_pkts = g->tx_pkts = 0;
        }
        g->cpu_ns += cpu;
        g->user_ns += cpu * 3 / 4;
        g->sys_ns += cpu / 4;
        for (guint v = 0; v < g->vcpus; v++)
                g->vcpu_ns[v] += cpu / g->vcpus;
        g->minor_fault += g_rand_int_range (rng, 0, 2000);
        g->major_fault += g_rand_int_range (rng, 0, 3) == 0;
        drift = g_rand_int_range (rng, -4096, 4097);
        if ((gint64) g->usable_kib + drift > 65536 &&
            g->usable_kib + drift + 80000 < g->avail_kib) {
                g->usable_kib += drift;
                g->unused_kib = g->usable_kib - 4000;
        }
        g->rss_kib = MIN (g->cur_kib, g->rss_kib + g_rand_int_range (rng, 0, 64));
        g->rd_reqs += (guint64) (dt_s * g_rand_int_range (rng, 0, 50));
        g->rd_bytes += (guint64) (dt_s * g_rand_int_range (rng, 0, 2 << 20));
        g->wr_reqs += (guint64) (dt_s * g_rand_int_range (rng, 0, 30));
        g->wr_bytes += (guint64) (dt_s * g_rand_int_range (rng, 0, 1 << 20));
        g->rx_pkts += (guint64) (dt_s * g_rand_int_range (rng, 0, 200));
        g->rx_bytes += (guint64) (dt_s * g_rand_int_range (rng, 0, 256 << 10));
        g->tx_pkts += (guint64) (dt_s * g_rand_int_range (rng, 0, 150));
        g->tx_bytes += (guint64) (dt_s * g_rand_int_range (rng, 0, 128 << 10));
}

static void
host_sample_fill (AugurHostSample *h)
{
        memset (h, 0, sizeof *h);
        for (int f = 0; f < AUGUR_HOST_N; f++)
                augur_host_set (h, f, 1000.0 + f);
}

/* ------------------------------------------------------------ helpers */

static int
cmp_double (gconstpointer a, gconstpointer b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Nearest-rank percentile of v[0..n) (sorts v). */
static double
percentile (double *v, gsize n, double pct)
{
        gsize k;

        g_assert (n > 0);
        qsort (v, n, sizeof *v, cmp_double);
        k = (gsize) ceil (pct / 100.0 * n);
        return v[k ? k - 1 : 0];
}

static double
mean (const double *v, gsize n)
{
        double s = 0;

        for (gsize i = 0; i < n; i++)
                s += v[i];
        return n ? s / n : NAN;
}

/* Bytes this process passed to write()/pwrite() so far, or -1. */
static gint64
proc_wchar (void)
{
        g_autofree char *text = NULL;
        const char *p;

        if (!g_file_get_contents ("/proc/self/io", &text, NULL, NULL))
                return -1;
        p = strstr (text, "wchar:");
        return p ? g_ascii_strtoll (p + 6, NULL, 10) : -1;
}

/* CPU time (user + system) of this process so far, µs. */
static gint64
cpu_usec (void)
{
        struct rusage ru;

        getrusage (RUSAGE_SELF, &ru);
        return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC +
               ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static gint64
file_size (const char *path)
{
        struct stat sb;

        return stat (path, &sb) == 0 ? (gint64) sb.st_size : 0;
}

static gint64
db_and_wal_bytes (const char *db)
{
        g_autofree char *wal = g_strconcat (db, "-wal", NULL);

        return file_size (db) + file_size (wal);
}

static char *
cpu_model (void)
{
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
                return g_strdup ("unknown");
        lines = g_strsplit (text, "\n", -1);
        for (int i = 0; lines[i]; i++) {
                char *colon = strchr (lines[i], ':');

                if (g_str_has_prefix (lines[i], "model name") && colon)
                        return g_strstrip (g_strdup (colon + 1));
        }
        return g_strdup ("unknown");
}

static const char *
verdict (gboolean ok)
{
        return ok ? "ok" : "MISSED";
}

/* ------------------------------------------------------------ 1. ticks */

typedef struct {
        double tick_us_mean, tick_us_p50, tick_us_p95, tick_us_max;
        double parse_us_per_vm, store_us_per_vm;
        double cpu_us_per_vm;           /* user + sys over the timed parts     */
        double wchar_per_tick;
        gint64 wal_peak;
        gint64 samples;                 /* raw samples written (incl. warm-up) */
        gint64 next_ms;                 /* simulated time after the last tick  */
} TickResult;

/* Parse every guest's record into samples[] and store the tick.  Returns
 * FALSE (with error) when the store fails. */
static gboolean
run_tick (AugurStore *st, Guest *guests, guint n, AugurDomainSample *samples,
          gint64 ts_ms, const AugurHostSample *host,
          gint64 *ret_parse_us, gint64 *ret_store_us, GError **error)
{
        gint64 t0, t1, t2;

        t0 = g_get_monotonic_time ();
        for (guint i = 0; i < n; i++) {
                AugurDomainSample *s = &samples[i];
                guint rejected = 0;

                /* what the libvirt backend does per record (plugin/hv-libvirt.c) */
                g_strlcpy (s->uuid, guests[i].uuid, sizeof s->uuid);
                s->name = guests[i].name;       /* borrowed, never freed here */
                s->id = (int) i + 1;
                augur_collect_parse_params (guests[i].params, guests[i].nparams, s, &rejected);
                g_assert (rejected == 0);
        }
        t1 = g_get_monotonic_time ();
        if (!augur_store_write_tick (st, ts_ms, samples, n, host, 1234, NULL, error))
                return FALSE;
        t2 = g_get_monotonic_time ();
        *ret_parse_us = t1 - t0;
        *ret_store_us = t2 - t1;
        return TRUE;
}

static void
advance_all (Guest *guests, guint n, gint64 ts_ms, double dt_s, GRand *rng)
{
        for (guint i = 0; i < n; i++) {
                guest_advance (&guests[i], dt_s, rng);
                guest_build_record (&guests[i], ts_ms, g_rand_int_range (rng, 0, 200) == 0);
        }
}

static gboolean
bench_ticks (const Options *o, Guest *guests, GRand *rng, TickResult *ret,
             GError **error)
{
        g_autoptr(AugurStore) st = NULL;
        g_autofree AugurDomainSample *samples = g_new0 (AugurDomainSample, o->n_domains);
        g_autofree double *tick_us = g_new0 (double, o->ticks);
        g_autofree char *wal = g_strconcat (o->db, "-wal", NULL);
        AugurHostSample host;
        gint64 parse_sum = 0, store_sum = 0, cpu_sum = 0, w0, w1;
        gint64 ts_ms = BASE_MS;

        host_sample_fill (&host);
        if (!(st = augur_store_open (o->db, AUGUR_STORE_READ_WRITE, error)))
                return FALSE;
        memset (ret, 0, sizeof *ret);
        for (guint t = 0; t < o->warmup; t++, ts_ms += TICK_MS) {
                gint64 pu, su;

                advance_all (guests, o->n_domains, ts_ms, TICK_MS / 1000.0, rng);
                if (!run_tick (st, guests, o->n_domains, samples, ts_ms, &host, &pu, &su, error))
                        return FALSE;
        }
        w0 = proc_wchar ();
        for (guint t = 0; t < o->ticks; t++, ts_ms += TICK_MS) {
                gint64 pu, su, c0;

                advance_all (guests, o->n_domains, ts_ms, TICK_MS / 1000.0, rng);
                c0 = cpu_usec ();
                if (!run_tick (st, guests, o->n_domains, samples, ts_ms, &host, &pu, &su, error))
                        return FALSE;
                cpu_sum += cpu_usec () - c0;
                tick_us[t] = pu + su;
                parse_sum += pu;
                store_sum += su;
                ret->wal_peak = MAX (ret->wal_peak, file_size (wal));
        }
        w1 = proc_wchar ();
        ret->tick_us_mean = mean (tick_us, o->ticks);
        ret->tick_us_p50 = percentile (tick_us, o->ticks, 50);
        ret->tick_us_p95 = percentile (tick_us, o->ticks, 95);
        ret->tick_us_max = tick_us[o->ticks - 1];
        ret->parse_us_per_vm = (double) parse_sum / o->ticks / o->n_domains;
        ret->store_us_per_vm = (double) store_sum / o->ticks / o->n_domains;
        ret->cpu_us_per_vm = (double) cpu_sum / o->ticks / o->n_domains;
        ret->wchar_per_tick = w0 >= 0 && w1 >= 0 ? (double) (w1 - w0) / o->ticks : NAN;
        ret->samples = (gint64) (o->warmup + o->ticks) * o->n_domains;
        ret->next_ms = ts_ms;
        return TRUE;
}

/* ------------------------------------------------------------ 2. bytes */

typedef struct {
        gint64 file_bytes;              /* db + wal after the closing checkpoint */
        gint64 empty_bytes;             /* a store with the schema only          */
        gint64 page_size;
        gint64 n_samples, n_rollups, n_ticks;
        gint64 samples_bytes;           /* samples_* tables and indexes, pages   */
        gint64 rollups_bytes;
        gint64 ticks_bytes;             /* ticks, host_samples and their indexes */
        gboolean have_dbstat;
} BytesResult;

static gint64
sql_int (sqlite3 *db, const char *sql)
{
        sqlite3_stmt *stmt = NULL;
        gint64 v = -1;

        if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_step (stmt) == SQLITE_ROW)
                v = sqlite3_column_int64 (stmt, 0);
        sqlite3_finalize (stmt);
        return v;
}

static gboolean
bench_bytes (const Options *o, BytesResult *ret, GError **error)
{
        g_autofree char *empty = g_strconcat (o->db, ".empty", NULL);
        g_autofree char *empty_wal = g_strconcat (empty, "-wal", NULL);
        g_autofree char *empty_shm = g_strconcat (empty, "-shm", NULL);
        sqlite3 *db = NULL;

        memset (ret, 0, sizeof *ret);
        {
                g_autoptr(AugurStore) st = augur_store_open (empty, AUGUR_STORE_READ_WRITE, error);

                if (!st)
                        return FALSE;
        }
        ret->empty_bytes = db_and_wal_bytes (empty);
        g_unlink (empty);
        g_unlink (empty_wal);
        g_unlink (empty_shm);

        /* The part-1 store is closed: its WAL was checkpointed and removed. */
        ret->file_bytes = db_and_wal_bytes (o->db);
        if (sqlite3_open_v2 (o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s",
                             o->db, sqlite3_errmsg (db));
                sqlite3_close (db);
                return FALSE;
        }
        ret->page_size = sql_int (db, "PRAGMA page_size");
        ret->n_samples = sql_int (db, "SELECT count(*) FROM samples");
        ret->n_rollups = sql_int (db, "SELECT count(*) FROM rollups");
        ret->n_ticks = sql_int (db, "SELECT count(*) FROM ticks");
        ret->samples_bytes = sql_int (db, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'samples%'");
        ret->have_dbstat = ret->samples_bytes > 0;
        ret->rollups_bytes = sql_int (db, "SELECT sum(pgsize) FROM dbstat WHERE name = 'rollups'");
        ret->ticks_bytes = sql_int (db, "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                                        "('ticks', 'ticks_by_ts', 'host_samples', 'host_samples_by_ts')");
        sqlite3_close (db);
        return TRUE;
}

/* ------------------------------------------------------------ 3. query */

typedef struct {
        double gen_s;                   /* wall time to synthesize the history  */
        guint gen_ticks;
        double hist_p50_ms, hist_p95_ms, hist_max_ms;
        double hist_cpu_p50_ms, hist_cpu_p95_ms;        /* the same calls, CPU time */
        double find_p50_ms, find_p95_ms;        /* augur_store_find_domain()    */
        double cold_p50_ms, cold_p95_ms;        /* open + find + history + close */
        guint rows_min, rows_max;
} QueryResult;

static gboolean
bench_query (const Options *o, Guest *guests, GRand *rng, gint64 start_ms,
             QueryResult *ret, GError **error)
{
        g_autofree AugurDomainSample *samples = g_new0 (AugurDomainSample, o->n_domains);
        g_autofree double *hist_ms = g_new0 (double, o->queries);
        g_autofree double *hist_cpu_ms = g_new0 (double, o->queries);
        g_autofree double *find_ms = g_new0 (double, o->queries);
        g_autofree double *cold_ms = g_new0 (double, o->queries);
        AugurHostSample host;
        gint64 step_ms = (gint64) o->hist_step_s * 1000;
        gint64 ts_ms = start_ms, t0;

        memset (ret, 0, sizeof *ret);
        host_sample_fill (&host);
        t0 = g_get_monotonic_time ();
        {
                g_autoptr(AugurStore) st = augur_store_open (o->db, AUGUR_STORE_READ_WRITE, error);

                if (!st)
                        return FALSE;
                for (gint64 end = start_ms + (gint64) HIST_SPAN_S * 1000; ts_ms < end; ts_ms += step_ms) {
                        gint64 pu, su;

                        advance_all (guests, o->n_domains, ts_ms, o->hist_step_s, rng);
                        if (!run_tick (st, guests, o->n_domains, samples, ts_ms, &host, &pu, &su, error))
                                return FALSE;
                        ret->gen_ticks++;
                }
        }
        ret->gen_s = (g_get_monotonic_time () - t0) / 1e6;
        ret->rows_min = G_MAXUINT;

        {
                g_autoptr(AugurStore) ro = augur_store_open (o->db, AUGUR_STORE_READ_ONLY, error);
                /* the newest bucket and the 1439 before it: 24 h exactly */
                gint64 last_ms = ts_ms - step_ms;
                gint64 from_ms = last_ms / 60000 * 60000 - (gint64) (QUERY_SPAN_S - 60) * 1000;

                if (!ro)
                        return FALSE;
                for (guint q = 0; q < o->queries; q++) {
                        const Guest *g = &guests[g_rand_int_range (rng, 0, o->n_domains)];
                        g_autoptr(AugurDomainInfo) d = NULL;
                        g_autoptr(GArray) rows = NULL;
                        gint64 a, b, c, cpu0;

                        a = g_get_monotonic_time ();
                        d = augur_store_find_domain (ro, g->name, error);
                        b = g_get_monotonic_time ();
                        if (!d)
                                return FALSE;
                        cpu0 = cpu_usec ();
                        rows = augur_store_history (ro, d->id, from_ms, last_ms, AUGUR_RES_1M, error);
                        c = g_get_monotonic_time ();
                        hist_cpu_ms[q] = (cpu_usec () - cpu0) / 1000.0;
                        if (!rows)
                                return FALSE;
                        find_ms[q] = (b - a) / 1000.0;
                        hist_ms[q] = (c - b) / 1000.0;
                        ret->rows_min = MIN (ret->rows_min, rows->len);
                        ret->rows_max = MAX (ret->rows_max, rows->len);
                }
                /* What one `virt-augur history DOM --resolution 1m` costs
                 * in the store: a fresh read-only connection each time. */
                for (guint q = 0; q < o->queries; q++) {
                        const Guest *g = &guests[g_rand_int_range (rng, 0, o->n_domains)];
                        g_autoptr(AugurStore) st = NULL;
                        g_autoptr(AugurDomainInfo) d = NULL;
                        g_autoptr(GArray) rows = NULL;
                        gint64 a = g_get_monotonic_time ();

                        if (!(st = augur_store_open (o->db, AUGUR_STORE_READ_ONLY, error)) ||
                            !(d = augur_store_find_domain (st, g->name, error)) ||
                            !(rows = augur_store_history (st, d->id, from_ms, last_ms, AUGUR_RES_1M, error)))
                                return FALSE;
                        g_clear_pointer (&st, augur_store_close);
                        cold_ms[q] = (g_get_monotonic_time () - a) / 1000.0;
                }
        }
        ret->hist_p95_ms = percentile (hist_ms, o->queries, 95);
        ret->hist_max_ms = hist_ms[o->queries - 1];
        ret->hist_p50_ms = percentile (hist_ms, o->queries, 50);
        ret->hist_cpu_p95_ms = percentile (hist_cpu_ms, o->queries, 95);
        ret->hist_cpu_p50_ms = percentile (hist_cpu_ms, o->queries, 50);
        ret->find_p95_ms = percentile (find_ms, o->queries, 95);
        ret->find_p50_ms = percentile (find_ms, o->queries, 50);
        ret->cold_p95_ms = percentile (cold_ms, o->queries, 95);
        ret->cold_p50_ms = percentile (cold_ms, o->queries, 50);
        return TRUE;
}

/* ------------------------------------------------------------ main */

static void
remove_db (const char *db)
{
        static const char *const suffix[] = { "", "-wal", "-shm" };

        for (gsize i = 0; i < G_N_ELEMENTS (suffix); i++) {
                g_autofree char *p = g_strconcat (db, suffix[i], NULL);

                g_unlink (p);
        }
}

int
main (int argc, char **argv)
{
        gint n_domains = -1, ticks = -1, queries = -1, hist_step = 60;
        g_autofree char *db = NULL;
        gboolean quick = FALSE, keep = FALSE, skip_query = FALSE;
        const GOptionEntry entries[] = {
                { "domains", 0, 0, G_OPTION_ARG_INT, &n_domains, "Synthetic domains (default 1000; --quick 50)", "N" },
                { "ticks", 0, 0, G_OPTION_ARG_INT, &ticks, "Measured 5-s ticks in part 1 (default 240; --quick 40)", "N" },
                { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Database file to create (default $TMPDIR/augur-bench-store-PID.db; must not exist)", "PATH" },
                { "queries", 0, 0, G_OPTION_ARG_INT, &queries, "History queries in part 3 (default 100; --quick 50)", "N" },
                { "hist-step", 0, 0, G_OPTION_ARG_INT, &hist_step, "Simulated tick of the 25-h history, s (default 60, max 60)", "S" },
                { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Small sizes for a smoke run", NULL },
                { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the database file afterwards", NULL },
                { "skip-query", 0, 0, G_OPTION_ARG_NONE, &skip_query, "Only parts 1 and 2 (tick cost, bytes): no 25-h history", NULL },
                { NULL },
        };
        g_autoptr(GOptionContext) ctx = g_option_context_new ("— time augur's history store");
        g_autoptr(GError) error = NULL;
        g_autoptr(GRand) rng = g_rand_new_with_seed (20261201);
        g_autofree Guest *guests = NULL;
        g_autofree char *cpu = cpu_model ();
        Options o = { 0 };
        TickResult tr;
        BytesResult br;
        QueryResult qr = { 0 };
        double us_per_vm, per_sample, per_rollup, raw_day, roll_day, tick_day, total_day;

        g_option_context_add_main_entries (ctx, entries, NULL);
        if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
                g_printerr ("bench-store: %s\n", error->message);
                return 2;
        }
        o.quick = quick;
        o.keep = keep;
        o.skip_query = skip_query;
        o.n_domains = n_domains > 0 ? (guint) n_domains : quick ? 50 : 1000;
        o.ticks = ticks > 0 ? (guint) ticks : quick ? 40 : 240;
        o.warmup = MAX (5u, o.ticks / 10);
        o.queries = queries > 0 ? (guint) queries : quick ? 50 : 100;
        if (hist_step < 1 || hist_step > 60) {
                g_printerr ("bench-store: --hist-step must be 1..60 s (one row per 1-min bucket)\n");
                return 2;
        }
        o.hist_step_s = (guint) hist_step;
        o.db = db ? g_strdup (db)
                  : g_strdup_printf ("%s/augur-bench-store-%d.db", g_get_tmp_dir (), (int) getpid ());
        if (g_file_test (o.db, G_FILE_TEST_EXISTS)) {
                g_printerr ("bench-store: %s exists; give a new --db path\n", o.db);
                return 2;
        }

        guests = g_new (Guest, o.n_domains);
        for (guint i = 0; i < o.n_domains; i++)
                guest_init (&guests[i], i, rng);

        printf ("augur bench-store%s\n", quick ? " (--quick: sizes too small for real numbers)" : "");
        printf ("  machine   %s, nproc %ld\n", cpu, sysconf (_SC_NPROCESSORS_ONLN));
        printf ("  sqlite    %s (library in use)\n", sqlite3_libversion ());
        printf ("  db        %s\n", o.db);
        printf ("  domains   %u synthetic (5%% 'booting', 15%% 'full' as captured, 80%% 'full' + disk + NIC; 1-4 vCPUs)\n",
                o.n_domains);
        fflush (stdout);

        if (!bench_ticks (&o, guests, rng, &tr, &error))
                goto fail;
        if (!bench_bytes (&o, &br, &error))
                goto fail;
        if (!o.skip_query) {
                printf ("  parts 1-2 done; part 3 generates %u h of history at %u-s ticks, this takes a while...\n",
                        HIST_SPAN_S / 3600, o.hist_step_s);
                fflush (stdout);
                if (!bench_query (&o, guests, rng, tr.next_ms, &qr, &error))
                        goto fail;
        }

        us_per_vm = tr.tick_us_mean / o.n_domains;
        printf ("\n1. Tick: parse + store, %u domains, %u ticks at 5 s simulated (after %u warm-up)\n",
                o.n_domains, o.ticks, o.warmup);
        printf ("   %-34s %12s %12s %12s   %s\n", "", "mean", "p50", "p95", "goal");
        printf ("   %-34s %12.1f %12.1f %12.1f\n", "per tick, ms",
                tr.tick_us_mean / 1000, tr.tick_us_p50 / 1000, tr.tick_us_p95 / 1000);
        printf ("   %-34s %12.2f %12.2f %12.2f   <= %.0f µs  %s\n", "per VM, µs",
                us_per_vm, tr.tick_us_p50 / o.n_domains, tr.tick_us_p95 / o.n_domains,
                GOAL_US_PER_VM, verdict (us_per_vm <= GOAL_US_PER_VM));
        printf ("   %-34s %12.2f\n", "  of which parse, µs/VM", tr.parse_us_per_vm);
        printf ("   %-34s %12.2f\n", "  of which store, µs/VM", tr.store_us_per_vm);
        printf ("   %-34s %12.2f   (wall minus CPU = I/O waits + other load)\n",
                "CPU time (user+sys), µs/VM", tr.cpu_us_per_vm);
        printf ("   %-34s %12.2f\n", "bytes written per tick, MiB", tr.wchar_per_tick / 1048576.0);
        printf ("   %-34s %12.0f\n", "bytes written per VM-sample", tr.wchar_per_tick / o.n_domains);
        printf ("   %-34s %12.2f\n", "largest WAL seen, MiB", tr.wal_peak / 1048576.0);

        per_sample = br.have_dbstat ? (double) br.samples_bytes / br.n_samples
                                    : (double) (br.file_bytes - br.empty_bytes) / br.n_samples;
        per_rollup = br.have_dbstat && br.n_rollups > 0 ? (double) br.rollups_bytes / br.n_rollups : NAN;
        raw_day = per_sample * SAMPLES_PER_VM_DAY;
        roll_day = per_rollup * ROLLUPS_PER_VM_DAY;
        tick_day = br.have_dbstat && br.n_ticks > 0
                   ? (double) br.ticks_bytes / br.n_ticks * SAMPLES_PER_VM_DAY / o.n_domains : NAN;
        total_day = (double) (br.file_bytes - br.empty_bytes) / br.n_samples * SAMPLES_PER_VM_DAY;
        printf ("\n2. Disk: the part-1 file (%" G_GINT64_FORMAT " samples, %" G_GINT64_FORMAT
                " rollup rows, %" G_GINT64_FORMAT " ticks), closed; page size %" G_GINT64_FORMAT "\n",
                br.n_samples, br.n_rollups, br.n_ticks, br.page_size);
        printf ("   %-34s %12.2f MiB (empty store %.0f KiB)\n", "db + wal after checkpoint",
                br.file_bytes / 1048576.0, br.empty_bytes / 1024.0);
        printf ("   %-34s %12.0f\n", "whole file, bytes per VM-sample",
                (double) (br.file_bytes - br.empty_bytes) / br.n_samples);
        printf ("   %-34s %12.2f MiB   (file growth x 17280)\n", "per VM-day at 5 s, whole file",
                total_day / 1048576.0);
        if (br.have_dbstat) {
                printf ("   %-34s %12.0f B  -> %7.2f MiB/VM-day (17280 samples)\n",
                        "  raw samples + index, per sample", per_sample, raw_day / 1048576.0);
                printf ("   %-34s %12.0f B  -> %7.2f MiB/VM-day (1440 + 288 rows)\n",
                        "  rollups, per row", per_rollup, roll_day / 1048576.0);
                printf ("   %-34s %12s    -> %7.2f KiB/VM-day (shared by %u VMs)\n",
                        "  ticks + host samples", "", tick_day / 1024.0, o.n_domains);
                printf ("   %-34s %12s       %7.2f GiB for %u VMs: raw 48 h %.2f GiB + rollups 90 d %.2f GiB\n",
                        "at default retention", "",
                        (2 * raw_day + 90 * roll_day + 2 * tick_day) * o.n_domains / 1073741824.0,
                        o.n_domains, 2 * (raw_day + tick_day) * o.n_domains / 1073741824.0,
                        90 * roll_day * o.n_domains / 1073741824.0);
        } else {
                printf ("   (this SQLite has no dbstat table: no per-table breakdown)\n");
        }

        if (o.skip_query)
                goto done;
        printf ("\n3. Query: last 24 h at 1 min, one random VM of %u; history = %u h at %u-s simulated ticks\n"
                "   (%u ticks x %u VMs generated in %.0f s); %u queries, read-only store, OS cache warm\n",
                o.n_domains, HIST_SPAN_S / 3600, o.hist_step_s, qr.gen_ticks, o.n_domains,
                qr.gen_s, o.queries);
        printf ("   %-34s %12s %12s   %s\n", "", "p50", "p95", "goal");
        printf ("   %-34s %12.3f %12.3f   <= %.0f ms  %s\n", "augur_store_history(1M), ms",
                qr.hist_p50_ms, qr.hist_p95_ms, GOAL_QUERY_MS,
                verdict (qr.hist_p95_ms <= GOAL_QUERY_MS));
        printf ("   %-34s %12.3f %12.3f   (CPU time of the same calls)\n", "  of which CPU (user+sys), ms",
                qr.hist_cpu_p50_ms, qr.hist_cpu_p95_ms);
        printf ("   %-34s %12.3f %12.3f\n", "augur_store_find_domain(), ms", qr.find_p50_ms, qr.find_p95_ms);
        printf ("   %-34s %12.3f %12.3f\n", "open + find + history + close, ms", qr.cold_p50_ms, qr.cold_p95_ms);
        printf ("   rows returned per query: %u..%u (1440 expected)\n", qr.rows_min, qr.rows_max);

done:
        if (!o.keep)
                remove_db (o.db);
        return 0;

fail:
        g_printerr ("bench-store: %s\n", error->message);
        if (!o.keep)
                remove_db (o.db);
        return 1;
}
