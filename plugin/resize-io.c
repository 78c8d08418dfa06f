/* resize-io.c — the disk I/O limit loop (see resize-io.h). */
#include "config.h"

#include "resize-io.h"
#include "augur-log.h"
#include "io-forecast.h"
#include "io-limit.h"
#include "store-decisions.h"

#include <math.h>
#include <string.h>

#define MIB 1048576.0
/* A rate at or above this share of the limit in force sat at the limit:
 * the demand may have been higher (io-forecast.h CENSORING). */
#define AT_LIMIT_FRAC 0.9

typedef enum {
        KIND_TOTAL,
        KIND_READ,
        KIND_WRITE,
        KIND_N,
} LimitKind;

static const char *const kind_name[KIND_N] = { "io-total", "io-read", "io-write" };
static const char *const kind_words[KIND_N] = { "limit", "read limit", "write limit" };

typedef struct {
        char name[AUGUR_DISK_NAME_LEN];
        AugurDiskCounters prev;
        gint64 prev_ms;
        gboolean have_prev;
        double prev_limit[KIND_N];           /* in force over the last interval */
        AugurIoForecast *fc[KIND_N];         /* NULL until the kind has a limit */
        AugurIoLimitState st[KIND_N];
        guint64 seen_tick;                   /* last tick it was in the stats   */
} IoDisk;

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        GHashTable *disks;                   /* name -> IoDisk                  */
        gboolean unsupported_said;
        gboolean failed_said;
} IoVm;

struct AugurResizeIo {
        GHashTable *vms;                     /* uuid -> IoVm                    */
        guint64 tick;
};

/* One limit's plan of this tick, for the host budget and the apply. */
typedef struct {
        IoVm *vm;
        IoDisk *d;
        LimitKind k;
        AugurMode mode;
        int priority;
        double limit_bps, rate_bps, upper_bps;
        AugurIoPlan plan;
} IoWork;

static void
io_disk_free (gpointer p)
{
        IoDisk *d = p;

        for (int k = 0; k < KIND_N; k++)
                augur_io_forecast_free (d->fc[k]);
        g_free (d);
}

static void
io_vm_free (gpointer p)
{
        IoVm *vm = p;

        g_hash_table_unref (vm->disks);
        g_free (vm->name);
        g_free (vm);
}

AugurResizeIo *
augur_resize_io_new (void)
{
        AugurResizeIo *io = g_new0 (AugurResizeIo, 1);

        io->vms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, io_vm_free);
        return io;
}

void
augur_resize_io_free (AugurResizeIo *io)
{
        if (!io)
                return;
        g_hash_table_unref (io->vms);
        g_free (io);
}

void
augur_resize_io_forget (AugurResizeIo *io, const char *uuid)
{
        g_hash_table_remove (io->vms, uuid);
}

static gboolean
holds_raise (IoVm *vm)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->disks);
        while (g_hash_table_iter_next (&it, NULL, &v))
                for (int k = 0; k < KIND_N; k++)
                        if (((IoDisk *) v)->st[k].set_bps > 0)
                                return TRUE;
        return FALSE;
}

static double
tune_of (const AugurBlockIoTune *t, LimitKind k)
{
        switch (k) {
        case KIND_TOTAL: return (double) t->total_bytes_sec;
        case KIND_READ: return (double) t->read_bytes_sec;
        case KIND_WRITE: return (double) t->write_bytes_sec;
        default: g_assert_not_reached ();
        }
}

/* The rate a limit of kind k limits, from two readings of the disk. */
static double
rate_of (const AugurDiskCounters *prev, const AugurDiskCounters *cur, double dt_s, LimitKind k)
{
        double rd = NAN, wr = NAN;

        if ((prev->present & cur->present & (1u << AUGUR_DISK_RD_BYTES)))
                rd = augur_io_rate (prev->v[AUGUR_DISK_RD_BYTES], cur->v[AUGUR_DISK_RD_BYTES], dt_s, AUGUR_IO_MAX_BPS);
        if ((prev->present & cur->present & (1u << AUGUR_DISK_WR_BYTES)))
                wr = augur_io_rate (prev->v[AUGUR_DISK_WR_BYTES], cur->v[AUGUR_DISK_WR_BYTES], dt_s, AUGUR_IO_MAX_BPS);
        switch (k) {
        case KIND_TOTAL: return rd + wr;        /* NAN when either is */
        case KIND_READ: return rd;
        case KIND_WRITE: return wr;
        default: g_assert_not_reached ();
        }
}

/* The forecast's look-ahead, ticks: the lead margin plus one tick (the
 * limit is set at the tick, the burst may start right after it). */
static guint
lead_ticks (const AugurConfig *config)
{
        double h = ceil ((config->lead_margin_s + config->tick_s) / config->tick_s);

        return (guint) CLAMP (h, 1, AUGUR_IO_FORECAST_MAX_H);
}

static IoVm *
get_vm (AugurResizeIo *io, const AugurDomainSample *s)
{
        IoVm *vm = g_hash_table_lookup (io->vms, s->uuid);

        if (!vm) {
                vm = g_new0 (IoVm, 1);
                g_strlcpy (vm->uuid, s->uuid, sizeof vm->uuid);
                vm->disks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, io_disk_free);
                g_hash_table_insert (io->vms, vm->uuid, vm);
        }
        if (g_strcmp0 (vm->name, s->name) != 0) {
                g_free (vm->name);
                vm->name = g_strdup (s->name);
        }
        return vm;
}

/* Disks of vm not in this tick's stats: gone (hot-unplug).  Said once,
 * when augur held a raise on it; nothing to give back. */
static void
drop_vanished (AugurResizeIo *io, IoVm *vm)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->disks);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                IoDisk *d = v;

                if (d->seen_tick == io->tick)
                        continue;
                for (int k = 0; k < KIND_N; k++)
                        if (d->st[k].set_bps > 0)
                                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-vanished", "vanished",
                                           d->st[k].set_bps, NAN,
                                           "guest %s: disk %s is gone (hot-unplug?) while augur held its %s "
                                           "at %.1f MiB/s; forgetting it", vm->name, d->name, kind_words[k],
                                           d->st[k].set_bps / MIB);
                g_hash_table_iter_remove (&it);
        }
}

/* One guest: read its disks' limits, forecast, plan; plans into work. */
static void
plan_guest (AugurResizeIo *io, AugurHv *hv, const AugurConfig *config, const AugurIoGuest *gi,
            gint64 now_ms, GArray *work)
{
        const AugurDomainSample *s = gi->s;
        IoVm *vm = g_hash_table_lookup (io->vms, s->uuid);
        gboolean ceiling = !isnan (gi->ceiling_mib_s) && gi->ceiling_mib_s > 0;
        g_autoptr(AugurHvGuest) g = NULL;
        AugurIoPlanConfig pc;
        guint h = lead_ticks (config);

        if (!ceiling && (!vm || !holds_raise (vm))) {
                /* Not opted in: no state, no calls. */
                if (vm)
                        g_hash_table_remove (io->vms, s->uuid);
                return;
        }
        if (gi->mode == AUGUR_MODE_OBSERVE)
                return;
        vm = get_vm (io, s);
        if (vm->unsupported_said)
                return;
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g)
                return;
        augur_io_plan_config_init (&pc);
        for (guint i = 0; i < s->n_disks; i++) {
                const AugurDiskCounters *c = &s->disk[i];
                g_autoptr(GError) error = NULL;
                AugurBlockIoTune tune = { 0 };
                IoDisk *d;
                double dt_s;

                if (!c->name[0])
                        continue;
                if (!augur_hv_guest_get_block_iotune (g, c->name, &tune, &error)) {
                        if (g_error_matches (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED)) {
                                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-unsupported", NULL, NAN, NAN,
                                           "guest %s: %s; its disk limits stay as they are", vm->name,
                                           error->message);
                                vm->unsupported_said = TRUE;
                                return;
                        }
                        if (!vm->failed_said)
                                g_warning ("guest %s: reading disk %s's limits failed: %s, ignoring",
                                           vm->name, c->name, error->message);
                        vm->failed_said = TRUE;
                        continue;
                }
                vm->failed_said = FALSE;
                d = g_hash_table_lookup (vm->disks, c->name);
                if (!d) {
                        d = g_new0 (IoDisk, 1);
                        g_strlcpy (d->name, c->name, sizeof d->name);
                        for (int k = 0; k < KIND_N; k++)
                                augur_io_limit_state_init (&d->st[k]);
                        g_hash_table_insert (vm->disks, d->name, d);
                }
                d->seen_tick = io->tick;
                dt_s = d->have_prev ? (now_ms - d->prev_ms) / 1000.0 : 0;
                for (int k = 0; k < KIND_N; k++) {
                        double limit = tune_of (&tune, k);
                        double rate = d->have_prev ? rate_of (&d->prev, c, dt_s, k) : NAN;
                        double in_force = d->have_prev && d->prev_limit[k] > 0 ? d->prev_limit[k] : limit;
                        IoWork w = { .vm = vm, .d = d, .k = k, .mode = gi->mode, .priority = gi->priority,
                                     .limit_bps = limit,
                                     .rate_bps = rate, .upper_bps = NAN };
                        AugurIoLimitInput in = { .limit_bps = limit, .rate_bps = rate, .upper_bps = NAN,
                                                 .ceiling_bps = ceiling ? gi->ceiling_mib_s * MIB : NAN };
                        double p50, up;
                        gboolean cens = FALSE;

                        if (limit <= 0 && !d->st[k].seen)
                                continue;       /* no limit of this kind: never one */
                        if (!d->fc[k]) {
                                AugurIoForecastConfig fcc;

                                augur_io_forecast_config_init (&fcc);
                                d->fc[k] = augur_io_forecast_new (&fcc);
                        }
                        if (d->have_prev)
                                augur_io_forecast_push (d->fc[k], rate,
                                                        in_force > 0 && rate >= AT_LIMIT_FRAC * in_force,
                                                        (guint) MAX (1, lround (dt_s / config->tick_s)));
                        if (augur_io_forecast_upper (d->fc[k], h, &p50, &up, &cens)) {
                                in.upper_bps = up;
                                in.censored = cens;
                                w.upper_bps = up;
                        }
                        augur_io_plan (&in, &pc, &d->st[k], now_ms / 1000.0, &w.plan);
                        d->st[k] = w.plan.state;
                        d->prev_limit[k] = limit;
                        g_array_append_val (work, w);
                }
                d->prev = *c;
                d->prev_ms = now_ms;
                d->have_prev = TRUE;
        }
        drop_vanished (io, vm);
}

static void
apply (AugurHv *hv, AugurStore *store, IoWork *w, gint64 now_ms)
{
        IoVm *vm = w->vm;
        IoDisk *d = w->d;
        AugurIoPlan *p = &w->plan;
        double to = floor (p->target_bps);
        AugurBlockIoTune t = { 0 };
        g_autoptr(AugurHvGuest) g = NULL;
        g_autoptr(GError) error = NULL;
        const char *reason = augur_io_reason_name (p->reason);

        if (p->yielded) {
                /* Rule 1: once per change (the plan fires once). */
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-yield", reason, NAN, w->limit_bps,
                           "guest %s: disk %s's %s was changed to %.1f MiB/s by someone else; augur keeps "
                           "it as the floor and does not set its own value back", vm->name, d->name,
                           kind_words[w->k], w->limit_bps / MIB);
                if (store)
                        augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind_name[w->k], d->name,
                                                        NAN, w->limit_bps, reason, NULL);
                return;
        }
        if (p->reason != AUGUR_IO_REASON_FORECAST_BURST && p->reason != AUGUR_IO_REASON_RESTORE)
                return;
        if (fabs (to - w->limit_bps) < 1)
                return;
        if (w->mode != AUGUR_MODE_ACT) {
                g_debug ("guest %s: disk %s %s %.1f -> %.1f MiB/s recommended (%s, %s mode)", vm->name, d->name,
                         kind_words[w->k], w->limit_bps / MIB, to / MIB, reason, augur_mode_to_string (w->mode));
                return;
        }
        switch (w->k) {
        case KIND_TOTAL: t.total_bytes_sec = (guint64) to; break;
        case KIND_READ: t.read_bytes_sec = (guint64) to; break;
        case KIND_WRITE: t.write_bytes_sec = (guint64) to; break;
        default: g_assert_not_reached ();
        }
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g || !augur_hv_guest_set_block_iotune (g, d->name, &t, &error)) {
                g_warning ("guest %s: disk %s %s %.1f -> %.1f MiB/s failed: %s, ignoring", vm->name, d->name,
                           kind_words[w->k], w->limit_bps / MIB, to / MIB, error ? error->message : "guest gone");
                return;
        }
        augur_io_limit_applied (&d->st[w->k], to, now_ms / 1000.0);
        d->prev_limit[w->k] = to;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, kind_name[w->k], reason, w->limit_bps, to,
                   "guest %s: disk %s %s %.1f -> %.1f MiB/s (%s%s; rate %.1f MiB/s, forecast upper %.1f MiB/s, "
                   "admin's %.1f MiB/s)", vm->name, d->name, kind_words[w->k], w->limit_bps / MIB, to / MIB, reason,
                   p->veto == AUGUR_IO_VETO_BUDGET ? ", cut by the host budget" : "", w->rate_bps / MIB,
                   w->upper_bps / MIB, d->st[w->k].floor_bps / MIB);
        if (store)
                augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind_name[w->k], d->name,
                                                w->limit_bps, to, reason, NULL);
}

void
augur_resize_io_tick (AugurResizeIo *io, AugurHv *hv, AugurStore *store, const AugurConfig *config,
                      const AugurIoGuest *guests, gsize n, gint64 now_ms)
{
        g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (IoWork));
        g_autofree AugurIoPlan *plans = NULL;
        g_autofree int *prio = NULL;

        io->tick++;
        for (gsize i = 0; i < n; i++)
                plan_guest (io, hv, config, &guests[i], now_ms, work);
        if (work->len == 0)
                return;
        /* The host budget over every limit that plans (io-limit.h). */
        plans = g_new (AugurIoPlan, work->len);
        prio = g_new (int, work->len);
        for (guint i = 0; i < work->len; i++) {
                IoWork *w = &g_array_index (work, IoWork, i);

                plans[i] = w->plan;
                prio[i] = w->priority;
        }
        augur_io_arbitrate (plans, prio, work->len, config->io_budget_mib_s * MIB);
        for (guint i = 0; i < work->len; i++) {
                IoWork *w = &g_array_index (work, IoWork, i);

                w->plan = plans[i];
                apply (hv, store, w, now_ms);
        }
}
