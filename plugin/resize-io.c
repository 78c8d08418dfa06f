/* resize-io.c — the I/O limit loop, disks and interfaces (see resize-io.h). */
#include "config.h"

#include "resize-io.h"
#include "augur-log.h"
#include "io-forecast.h"
#include "io-limit.h"
#include "store-decisions.h"

#include <math.h>
#include <string.h>

#define MIB 1048576.0

/* The two classes of device whose limits move.  Each has its kinds
 * (io-limit.h AugurIoKind, [first, last]), its ceiling (AugurIoGuest
 * ceiling_mib_s[]) and the step its limits are kept in: libvirt keeps
 * <iotune> in bytes/s and <bandwidth> in KiB/s, so a target is rounded
 * down to a whole step (a raise never passes the ceiling, and what is read
 * back is what augur set: no false yield). */
static const struct {
        const char *noun;                    /* "disk", "interface"             */
        AugurIoKind first, last;
        double step_bytes;
} dev_class[AUGUR_IO_DEV_N] = {
        [AUGUR_IO_DEV_DISK] = { "disk", AUGUR_IO_KIND_TOTAL, AUGUR_IO_KIND_WRITE, 1 },
        [AUGUR_IO_DEV_IFACE] = { "interface", AUGUR_IO_KIND_NET_IN, AUGUR_IO_KIND_NET_OUT, 1024 },
};

/* The counters (AugurDevCounters.v bits) whose sum a kind limits. */
static const guint8 kind_counters[AUGUR_IO_KIND_N] = {
        [AUGUR_IO_KIND_TOTAL] = 1u << AUGUR_DISK_RD_BYTES | 1u << AUGUR_DISK_WR_BYTES,
        [AUGUR_IO_KIND_READ] = 1u << AUGUR_DISK_RD_BYTES,
        [AUGUR_IO_KIND_WRITE] = 1u << AUGUR_DISK_WR_BYTES,
        [AUGUR_IO_KIND_NET_IN] = 1u << AUGUR_IFACE_RX_BYTES,
        [AUGUR_IO_KIND_NET_OUT] = 1u << AUGUR_IFACE_TX_BYTES,
};

#define FOR_KINDS(k, cls) for (AugurIoKind k = dev_class[cls].first; k <= dev_class[cls].last; k++)

typedef struct {
        char name[AUGUR_DISK_NAME_LEN];
        AugurIoDev cls;
        AugurDevCounters prev;
        gint64 prev_ms;
        gboolean have_prev;
        double prev_limit[AUGUR_IO_KIND_N];  /* in force over the last interval */
        AugurIoForecast *fc[AUGUR_IO_KIND_N]; /* NULL until the kind has a limit */
        AugurIoLimitState st[AUGUR_IO_KIND_N];
        guint64 seen_tick;                   /* last tick it was in the stats   */
} IoDev;

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        GHashTable *devs[AUGUR_IO_DEV_N];    /* name -> IoDev, per class        */
        gboolean unsupported_said[AUGUR_IO_DEV_N];
        gboolean failed_said;
} IoVm;

struct AugurResizeIo {
        GHashTable *vms;                     /* uuid -> IoVm                    */
        guint64 tick;
};

/* One limit's plan of this tick, for the host budget and the apply. */
typedef struct {
        IoVm *vm;
        IoDev *d;
        AugurIoKind k;
        AugurMode mode;
        int priority;
        double limit_bps, rate_bps, upper_bps;
        AugurIoPlan plan;
} IoWork;

static void
io_dev_free (gpointer p)
{
        IoDev *d = p;

        for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                augur_io_forecast_free (d->fc[k]);
        g_free (d);
}

static void
io_vm_free (gpointer p)
{
        IoVm *vm = p;

        for (int c = 0; c < AUGUR_IO_DEV_N; c++)
                g_hash_table_unref (vm->devs[c]);
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
holds_raise (IoVm *vm, AugurIoDev cls)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->devs[cls]);
        while (g_hash_table_iter_next (&it, NULL, &v))
                FOR_KINDS (k, cls)
                        if (((IoDev *) v)->st[k].set_bps > 0)
                                return TRUE;
        return FALSE;
}

/* The limits in force on device name of class cls, bytes/s (0 = none),
 * into limit[] at the class's kinds. */
static gboolean
read_limits (AugurHvGuest *g, AugurIoDev cls, const char *name, double *limit, GError **error)
{
        AugurBlockIoTune t = { 0 };
        AugurIfaceBandwidth b = { 0 };

        if (cls == AUGUR_IO_DEV_DISK) {
                if (!augur_hv_guest_get_block_iotune (g, name, &t, error))
                        return FALSE;
                limit[AUGUR_IO_KIND_TOTAL] = (double) t.total_bytes_sec;
                limit[AUGUR_IO_KIND_READ] = (double) t.read_bytes_sec;
                limit[AUGUR_IO_KIND_WRITE] = (double) t.write_bytes_sec;
                return TRUE;
        }
        if (!augur_hv_guest_get_iface_bandwidth (g, name, &b, error))
                return FALSE;
        limit[AUGUR_IO_KIND_NET_IN] = (double) b.inbound_kib_s * dev_class[cls].step_bytes;
        limit[AUGUR_IO_KIND_NET_OUT] = (double) b.outbound_kib_s * dev_class[cls].step_bytes;
        return TRUE;
}

/* Set the one limit of kind k on device name to to_bps (a whole step). */
static gboolean
write_limit (AugurHvGuest *g, AugurIoDev cls, const char *name, AugurIoKind k, double to_bps, GError **error)
{
        AugurBlockIoTune t = { 0 };
        AugurIfaceBandwidth b = { 0 };
        guint64 v = (guint64) (to_bps / dev_class[cls].step_bytes);

        switch (k) {
        case AUGUR_IO_KIND_TOTAL: t.total_bytes_sec = v; break;
        case AUGUR_IO_KIND_READ: t.read_bytes_sec = v; break;
        case AUGUR_IO_KIND_WRITE: t.write_bytes_sec = v; break;
        case AUGUR_IO_KIND_NET_IN: b.inbound_kib_s = v; break;
        case AUGUR_IO_KIND_NET_OUT: b.outbound_kib_s = v; break;
        default: g_assert_not_reached ();
        }
        if (cls == AUGUR_IO_DEV_DISK)
                return augur_hv_guest_set_block_iotune (g, name, &t, error);
        return augur_hv_guest_set_iface_bandwidth (g, name, &b, error);
}

/* The rate a limit of kind k limits, from two readings of the device:
 * the sum of its counters, NAN when one is missing or absurd. */
static double
rate_of (const AugurDevCounters *prev, const AugurDevCounters *cur, double dt_s, AugurIoKind k)
{
        double sum = 0;

        for (int c = 0; c < AUGUR_DISK_N; c++) {
                if (!(kind_counters[k] & (1u << c)))
                        continue;
                if (!(prev->present & cur->present & (1u << c)))
                        return NAN;
                sum += augur_io_rate (prev->v[c], cur->v[c], dt_s, AUGUR_IO_MAX_BPS);
        }
        return sum;
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
                for (int c = 0; c < AUGUR_IO_DEV_N; c++)
                        vm->devs[c] = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, io_dev_free);
                g_hash_table_insert (io->vms, vm->uuid, vm);
        }
        if (g_strcmp0 (vm->name, s->name) != 0) {
                g_free (vm->name);
                vm->name = g_strdup (s->name);
        }
        return vm;
}

/* Devices of vm's class cls not in this tick's stats: gone (hot-unplug).
 * Said once, when augur held a raise on it; nothing to give back. */
static void
drop_vanished (AugurResizeIo *io, IoVm *vm, AugurIoDev cls)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->devs[cls]);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                IoDev *d = v;

                if (d->seen_tick == io->tick)
                        continue;
                FOR_KINDS (k, cls)
                        if (d->st[k].set_bps > 0)
                                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-vanished", "vanished",
                                           d->st[k].set_bps, NAN,
                                           "guest %s: %s %s is gone (hot-unplug?) while augur held its %s "
                                           "at %.1f MiB/s; forgetting it", vm->name, dev_class[cls].noun, d->name,
                                           augur_io_kind_info[k].words, d->st[k].set_bps / MIB);
                g_hash_table_iter_remove (&it);
        }
}

/* One device: its limits, rates, forecasts and plans into work.  FALSE
 * when the backend cannot do this class at all (said once). */
static gboolean
plan_device (AugurResizeIo *io, IoVm *vm, AugurHvGuest *g, const AugurConfig *config, const AugurIoGuest *gi,
             AugurIoDev cls, const AugurDevCounters *c, gint64 now_ms, GArray *work)
{
        g_autoptr(GError) error = NULL;
        double limits[AUGUR_IO_KIND_N] = { 0 };
        double ceiling = gi->ceiling_mib_s[cls];
        gboolean has_ceiling = !isnan (ceiling) && ceiling > 0;
        AugurIoPlanConfig pc;
        guint h = lead_ticks (config);
        IoDev *d;
        double dt_s;

        if (!read_limits (g, cls, c->name, limits, &error)) {
                if (g_error_matches (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED)) {
                        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-unsupported", NULL, NAN, NAN,
                                   "guest %s: %s; its %s limits stay as they are", vm->name, error->message,
                                   dev_class[cls].noun);
                        vm->unsupported_said[cls] = TRUE;
                        return FALSE;
                }
                if (!vm->failed_said)
                        g_warning ("guest %s: reading %s %s's limits failed: %s, ignoring", vm->name,
                                   dev_class[cls].noun, c->name, error->message);
                vm->failed_said = TRUE;
                return TRUE;
        }
        vm->failed_said = FALSE;
        augur_io_plan_config_init (&pc);
        d = g_hash_table_lookup (vm->devs[cls], c->name);
        if (!d) {
                d = g_new0 (IoDev, 1);
                g_strlcpy (d->name, c->name, sizeof d->name);
                d->cls = cls;
                for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                        augur_io_limit_state_init (&d->st[k]);
                g_hash_table_insert (vm->devs[cls], d->name, d);
        }
        d->seen_tick = io->tick;
        dt_s = d->have_prev ? (now_ms - d->prev_ms) / 1000.0 : 0;
        FOR_KINDS (k, cls) {
                double limit = limits[k];
                double rate = d->have_prev ? rate_of (&d->prev, c, dt_s, k) : NAN;
                double in_force = d->have_prev && d->prev_limit[k] > 0 ? d->prev_limit[k] : limit;
                IoWork w = { .vm = vm, .d = d, .k = k, .mode = gi->mode, .priority = gi->priority,
                             .limit_bps = limit, .rate_bps = rate, .upper_bps = NAN };
                AugurIoLimitInput in = { .limit_bps = limit, .rate_bps = rate, .upper_bps = NAN,
                                         .ceiling_bps = has_ceiling ? ceiling * MIB : NAN };
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
                        augur_io_forecast_push (d->fc[k], rate, in_force > 0 && rate >= AUGUR_IO_AT_LIMIT_FRAC * in_force,
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
        return TRUE;
}

/* One guest: per class of device it opted in for (a ceiling, or a raise
 * still held), read the devices' limits, forecast, plan; plans into work. */
static void
plan_guest (AugurResizeIo *io, AugurHv *hv, const AugurConfig *config, const AugurIoGuest *gi,
            gint64 now_ms, GArray *work)
{
        const AugurDomainSample *s = gi->s;
        IoVm *vm = g_hash_table_lookup (io->vms, s->uuid);
        g_autoptr(AugurHvGuest) g = NULL;
        gboolean want[AUGUR_IO_DEV_N], any = FALSE;
        const AugurDevCounters *devs[AUGUR_IO_DEV_N] = { s->disk, s->iface };
        const guint n_devs[AUGUR_IO_DEV_N] = { s->n_disks, s->n_ifaces };

        for (int c = 0; c < AUGUR_IO_DEV_N; c++) {
                double ceiling = gi->ceiling_mib_s[c];

                want[c] = (!isnan (ceiling) && ceiling > 0) || (vm && holds_raise (vm, c));
                if (!want[c] && vm)
                        g_hash_table_remove_all (vm->devs[c]);  /* not opted in: no state */
                any |= want[c];
        }
        if (!any) {
                /* Not opted in: no state, no calls. */
                if (vm)
                        g_hash_table_remove (io->vms, s->uuid);
                return;
        }
        if (gi->mode == AUGUR_MODE_OBSERVE)
                return;
        vm = get_vm (io, s);
        for (int c = 0; c < AUGUR_IO_DEV_N; c++) {
                if (!want[c] || vm->unsupported_said[c])
                        continue;
                if (!g && !(g = augur_hv_lookup_guest (hv, vm->uuid, NULL)))
                        return;
                for (guint i = 0; i < n_devs[c]; i++)
                        if (devs[c][i].name[0] &&
                            !plan_device (io, vm, g, config, gi, c, &devs[c][i], now_ms, work))
                                break;
                drop_vanished (io, vm, c);
        }
}

static void
apply (AugurHv *hv, AugurStore *store, IoWork *w, gint64 now_ms)
{
        IoVm *vm = w->vm;
        IoDev *d = w->d;
        AugurIoPlan *p = &w->plan;
        double step = dev_class[d->cls].step_bytes;
        double to = floor (p->target_bps / step) * step;
        const char *noun = dev_class[d->cls].noun, *words = augur_io_kind_info[w->k].words;
        const char *kind = augur_io_kind_info[w->k].name;
        g_autoptr(AugurHvGuest) g = NULL;
        g_autoptr(GError) error = NULL;
        const char *reason = augur_io_reason_name (p->reason);

        if (p->yielded) {
                /* Rule 1: once per change (the plan fires once). */
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-yield", reason, NAN, w->limit_bps,
                           "guest %s: %s %s's %s was changed to %.1f MiB/s by someone else; augur keeps "
                           "it as the floor and does not set its own value back", vm->name, noun, d->name,
                           words, w->limit_bps / MIB);
                if (store)
                        augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind, d->name,
                                                        NAN, w->limit_bps, reason, NULL);
                return;
        }
        if (p->reason != AUGUR_IO_REASON_FORECAST_BURST && p->reason != AUGUR_IO_REASON_RESTORE)
                return;
        if (fabs (to - w->limit_bps) < step)
                return;
        if (w->mode != AUGUR_MODE_ACT) {
                g_debug ("guest %s: %s %s %s %.1f -> %.1f MiB/s recommended (%s, %s mode)", vm->name, noun,
                         d->name, words, w->limit_bps / MIB, to / MIB, reason, augur_mode_to_string (w->mode));
                return;
        }
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g || !write_limit (g, d->cls, d->name, w->k, to, &error)) {
                g_warning ("guest %s: %s %s %s %.1f -> %.1f MiB/s failed: %s, ignoring", vm->name, noun, d->name,
                           words, w->limit_bps / MIB, to / MIB, error ? error->message : "guest gone");
                return;
        }
        augur_io_limit_applied (&d->st[w->k], to, now_ms / 1000.0);
        d->prev_limit[w->k] = to;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, kind, reason, w->limit_bps, to,
                   "guest %s: %s %s %s %.1f -> %.1f MiB/s (%s%s; rate %.1f MiB/s, forecast upper %.1f MiB/s, "
                   "admin's %.1f MiB/s)", vm->name, noun, d->name, words, w->limit_bps / MIB, to / MIB, reason,
                   p->veto == AUGUR_IO_VETO_BUDGET ? ", cut by the host budget" : "", w->rate_bps / MIB,
                   w->upper_bps / MIB, d->st[w->k].floor_bps / MIB);
        if (store)
                augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind, d->name,
                                                w->limit_bps, to, reason, NULL);
}

void
augur_resize_io_tick (AugurResizeIo *io, AugurHv *hv, AugurStore *store, AugurMetrics *metrics,
                      const AugurConfig *config, const AugurIoGuest *guests, gsize n, gint64 now_ms)
{
        g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (IoWork));
        g_autofree AugurIoPlan *plans = NULL;
        g_autofree int *prio = NULL;

        io->tick++;
        for (gsize i = 0; i < n; i++) {
                plan_guest (io, hv, config, &guests[i], now_ms, work);
                if (metrics)
                        augur_metrics_clear_io (metrics, guests[i].s->uuid);
        }
        for (guint i = 0; metrics && i < work->len; i++) {
                const IoWork *w = &g_array_index (work, IoWork, i);

                augur_metrics_set_io (metrics, w->vm->uuid, w->vm->name, w->d->name, augur_io_kind_info[w->k].name,
                                      w->limit_bps, w->plan.state.floor_bps, w->upper_bps);
        }
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
