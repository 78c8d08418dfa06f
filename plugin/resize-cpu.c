/* resize-cpu.c — the CPU weight loop (see resize-cpu.h). */
#include "config.h"

#include "resize-cpu.h"
#include "augur-log.h"
#include "cpu-weight.h"
#include "store-decisions.h"

#include <math.h>

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        AugurCpuWeightState st;         /* policy/cpu-weight.h                */
        gboolean unsupported_said;      /* the backend cannot: said once      */
        gboolean failed_said;           /* a read failed: warned once         */
} CpuVm;

struct AugurResizeCpu {
        GHashTable *vms;                /* uuid -> CpuVm                      */
};

/* One guest's plan of this tick, for the host budget and the apply. */
typedef struct {
        CpuVm *vm;
        const AugurCpuGuest *gi;
        double shares;                  /* in force, as read                  */
        AugurIoPlan plan;
} CpuWork;

static void
cpu_vm_free (gpointer p)
{
        CpuVm *vm = p;

        g_free (vm->name);
        g_free (vm);
}

AugurResizeCpu *
augur_resize_cpu_new (void)
{
        AugurResizeCpu *rc = g_new0 (AugurResizeCpu, 1);

        rc->vms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cpu_vm_free);
        return rc;
}

void
augur_resize_cpu_free (AugurResizeCpu *rc)
{
        if (!rc)
                return;
        g_hash_table_unref (rc->vms);
        g_free (rc);
}

void
augur_resize_cpu_forget (AugurResizeCpu *rc, const char *uuid)
{
        g_hash_table_remove (rc->vms, uuid);
}

static CpuVm *
get_vm (AugurResizeCpu *rc, const AugurDomainSample *s)
{
        CpuVm *vm = g_hash_table_lookup (rc->vms, s->uuid);

        if (!vm) {
                vm = g_new0 (CpuVm, 1);
                g_strlcpy (vm->uuid, s->uuid, sizeof vm->uuid);
                augur_cpu_weight_state_init (&vm->st);
                g_hash_table_insert (rc->vms, vm->uuid, vm);
        }
        if (g_strcmp0 (vm->name, s->name) != 0) {
                g_free (vm->name);
                vm->name = g_strdup (s->name);
        }
        return vm;
}

/* One guest: its weight, its plan into work.  A backend that cannot is
 * said once (log and one audit row, for explain). */
static void
plan_guest (AugurResizeCpu *rc, AugurHv *hv, AugurStore *store, const AugurCpuGuest *gi, gint64 now_ms,
            GArray *work)
{
        const AugurDomainSample *s = gi->s;
        CpuVm *vm = g_hash_table_lookup (rc->vms, s->uuid);
        g_autoptr(AugurHvGuest) g = NULL;
        g_autoptr(GError) error = NULL;
        gboolean opted = (!isnan (gi->ceiling) && gi->ceiling > 0) || (vm && vm->st.limit.set_bps > 0);
        AugurCpuWeightConfig c;
        guint64 shares = 0;
        CpuWork w = { 0 };

        if (!opted) {
                /* Not opted in: no state, no calls. */
                if (vm)
                        g_hash_table_remove (rc->vms, s->uuid);
                return;
        }
        if (gi->mode == AUGUR_MODE_OBSERVE)
                return;
        vm = get_vm (rc, s);
        if (vm->unsupported_said)
                return;
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g)
                return;
        if (!augur_hv_guest_get_cpu_shares (g, &shares, &error)) {
                if (g_error_matches (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED)) {
                        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "cpu-shares-unsupported", NULL, NAN, NAN,
                                   "%s; its CPU weight stays as it is", error->message);
                        if (store)
                                augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name,
                                                                AUGUR_CPU_SHARES_KIND, NULL, NAN, NAN,
                                                                "unsupported", NULL);
                        vm->unsupported_said = TRUE;
                        return;
                }
                if (!vm->failed_said)
                        g_warning ("guest %s: reading its CPU weight failed: %s, ignoring", vm->name,
                                   error->message);
                vm->failed_said = TRUE;
                return;
        }
        vm->failed_said = FALSE;
        augur_cpu_weight_config_init (&c);
        w.vm = vm;
        w.gi = gi;
        w.shares = (double) shares;
        augur_cpu_weight_plan (&(AugurCpuWeightInput) { .shares = w.shares, .cores_used = gi->cores_used,
                                                        .demand_cores = gi->demand_cores,
                                                        .vcpus_max = gi->vcpus_max, .fresh = gi->fresh,
                                                        .ceiling = gi->ceiling },
                               &c, &vm->st, now_ms / 1000.0, &w.plan);
        vm->st.limit = w.plan.state;
        g_array_append_val (work, w);
}

static void
apply (AugurHv *hv, AugurStore *store, AugurMetrics *metrics, CpuWork *w, gint64 now_ms)
{
        CpuVm *vm = w->vm;
        AugurIoPlan *p = &w->plan;
        double to = p->target_bps;
        const char *reason = augur_io_reason_name (p->reason);
        g_autoptr(AugurHvGuest) g = NULL;
        g_autoptr(GError) error = NULL;

        if (p->yielded) {
                /* Once per change (the plan fires once). */
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "cpu-shares-yield", reason, NAN, w->shares,
                           "guest %s: its CPU weight was changed to %.0f shares by someone else; augur keeps "
                           "it as the floor and does not set its own value back", vm->name, w->shares);
                if (store)
                        augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, AUGUR_CPU_SHARES_KIND,
                                                        NULL, NAN, w->shares, reason, NULL);
                return;
        }
        if (!augur_io_plan_moves (p))
                return;
        if (isnan (to) || fabs (to - w->shares) < 1)
                return;
        if (w->gi->mode != AUGUR_MODE_ACT) {
                g_debug ("guest %s: CPU weight %.0f -> %.0f shares recommended (%s, %s mode)", vm->name,
                         w->shares, to, reason, augur_mode_to_string (w->gi->mode));
                return;
        }
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g || !augur_hv_guest_set_cpu_shares (g, (guint64) to, &error)) {
                g_warning ("guest %s: CPU weight %.0f -> %.0f shares failed: %s, ignoring", vm->name, w->shares,
                           to, error ? error->message : "guest gone");
                return;
        }
        augur_io_limit_applied (&vm->st.limit, to, now_ms / 1000.0);
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, AUGUR_CPU_SHARES_KIND, reason, w->shares, to,
                   "guest %s: CPU weight %.0f -> %.0f shares (%s%s; using %.2f cores, forecast %.2f cores, "
                   "admin's %.0f, ceiling %.0f)", vm->name, w->shares, to, reason,
                   p->veto == AUGUR_IO_VETO_BUDGET ? ", cut by the host budget" : "", w->gi->cores_used,
                   w->gi->demand_cores, vm->st.limit.floor_bps, w->gi->ceiling);
        if (store)
                augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, AUGUR_CPU_SHARES_KIND, NULL,
                                                w->shares, to, reason, NULL);
        if (metrics) {
                augur_metrics_count_action (metrics, vm->uuid, vm->name, "cpu-shares",
                                            to > w->shares ? "raise" : "restore", reason);
                augur_metrics_set_cpu_shares (metrics, vm->uuid, vm->name, to, vm->st.limit.floor_bps);
        }
}

void
augur_resize_cpu_tick (AugurResizeCpu *rc, AugurHv *hv, AugurStore *store, AugurMetrics *metrics,
                       const AugurConfig *config, const AugurCpuGuest *guests, gsize n, gint64 now_ms)
{
        g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (CpuWork));
        g_autofree AugurIoPlan *plans = NULL;
        g_autofree int *prio = NULL;

        for (gsize i = 0; i < n; i++) {
                guint before = work->len;

                plan_guest (rc, hv, store, &guests[i], now_ms, work);
                if (metrics && work->len == before)
                        augur_metrics_set_cpu_shares (metrics, guests[i].s->uuid, guests[i].s->name, NAN, NAN);
        }
        if (work->len == 0)
                return;
        /* The host budget over every guest that plans (cpu-weight.h THE HOST). */
        plans = g_new (AugurIoPlan, work->len);
        prio = g_new (int, work->len);
        for (guint i = 0; i < work->len; i++) {
                CpuWork *w = &g_array_index (work, CpuWork, i);

                plans[i] = w->plan;
                prio[i] = w->gi->priority;
                if (metrics)
                        augur_metrics_set_cpu_shares (metrics, w->vm->uuid, w->vm->name, w->shares,
                                                      w->plan.state.floor_bps);
        }
        augur_io_arbitrate (plans, prio, work->len, config->cpu_weight_budget);
        for (guint i = 0; i < work->len; i++) {
                CpuWork *w = &g_array_index (work, CpuWork, i);

                w->plan = plans[i];
                w->plan.target_bps = floor (w->plan.target_bps);
                apply (hv, store, metrics, w, now_ms);
        }
}
