/* test-resize.c — augurd's decision core (plugin/resize.c: prepare → plan →
 * arbitrate → fill row → apply) driven through the fake hypervisor
 * (fake-hv.h), as augurd drives it through libvirt: the same
 * augur_resize_tick() and augur_resize_event(), the same store, a clock
 * the test moves, every hypervisor call recorded.
 *
 * Guests are made from the records captured from real TCG guests in
 * data/domstats-2guests.txt ('full': 512 MiB, 1 of 4 vCPUs, ~35 MiB used
 * plus ~54 MiB the kernel reserves) and replayed from
 * data/domstats-pressure-oom.txt (a real OOM kill).  The forecaster is a
 * stand-in that says what each test sets: these tests are about what the
 * loop does with a forecast, not about the forecast.
 *
 * Each case names the rule it proves; each was checked to fail with the
 * rule broken in resize.c or resize-controller.c (the mutation is named in
 * the case).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "collect.h"
#include "fake-hv.h"
#include "host-plan.h"
#include "metrics.h"
#include "resize.h"
#include "store-decisions.h"
#include "vm.h"

#define T0_MS G_GINT64_CONSTANT (1800000000000)  /* the fake's start, unix ms */
#define TICK_MS 5000
#define MIB 1024.0

typedef struct {
        double mem_kib;                 /* used memory forecast (model terms), NAN = none */
        double cpu_cores;
} StandIn;

typedef struct {
        char *dir;
        AugurStore *store;
        AugurFake *fake;
        AugurHv *hv;
        AugurResize *r;
        AugurConfig *config;
        AugurHostSample host;
        GHashTable *fc;                 /* guest name -> StandIn              */
} Fx;

/* ---- the stand-in forecaster (resize.h AugurForecastHooks) ---- */

static gboolean
standin_forecast (gpointer ctx, const char *uuid, const char *name, const AugurDerived *d,
                  const AugurHostSample *host, double now_s, AugurForecast *ret)
{
        Fx *fx = ctx;
        const StandIn *s = g_hash_table_lookup (fx->fc, name);

        if (!s || isnan (s->mem_kib))
                return FALSE;
        memset (ret, 0, sizeof *ret);
        ret->H = 12;
        ret->step_s = TICK_MS / 1000.0;
        for (guint h = 0; h < ret->H; h++) {
                ret->mem_p50_kib[h] = ret->mem_upper_kib[h] = (float) s->mem_kib;
                ret->cpu_p50_cores[h] = ret->cpu_upper_cores[h] = (float) s->cpu_cores;
        }
        ret->model = "stand-in";
        return TRUE;
}

static void
forecast (Fx *fx, const char *name, double mem_kib, double cpu_cores)
{
        StandIn *s = g_new0 (StandIn, 1);

        s->mem_kib = mem_kib;
        s->cpu_cores = cpu_cores;
        g_hash_table_replace (fx->fc, g_strdup (name), s);
}

/* ---- the fixture: what daemon.c does around the loop ---- */

static void
on_event (AugurHv *hv, AugurHvGuest *g, const AugurHvEvent *e, gpointer data)
{
        Fx *fx = data;

        augur_resize_event (fx->r, fx->store, augur_hv_guest_get_uuid (g), e, augur_fake_now_ms (fx->fake));
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *db = NULL;
        AugurForecastHooks hooks = { .forecast = standin_forecast, .ctx = fx };
        const AugurHvCallbacks cb = { .event = on_event };

        fx->dir = g_dir_make_tmp ("augur-resize-XXXXXX", &error);
        g_assert_no_error (error);
        db = g_build_filename (fx->dir, "augur.db", NULL);
        fx->store = augur_store_open (db, AUGUR_STORE_READ_WRITE, &error);
        g_assert_no_error (error);
        fx->fake = augur_fake_new (T0_MS);
        fx->hv = augur_fake_open (fx->fake, &cb, fx);
        fx->r = augur_resize_new (&hooks);
        augur_resize_set_guest_report (fx->r, augur_fake_guest_report, fx->fake);
        fx->config = augur_config_new_default ();
        fx->config->mode = AUGUR_MODE_ACT;
        fx->config->tick_s = TICK_MS / 1000.0;
        fx->config->shrink_sustain_s = 0;
        fx->config->shrink_cooldown_s = 0;
        memset (&fx->host, 0, sizeof fx->host);        /* host unknown: tight */
        fx->fc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
        g_autofree char *db = g_build_filename (fx->dir, "augur.db", NULL);
        g_autofree char *wal = g_strconcat (db, "-wal", NULL);
        g_autofree char *shm = g_strconcat (db, "-shm", NULL);

        augur_resize_free (fx->r);
        augur_hv_close (fx->hv);
        augur_fake_free (fx->fake);
        augur_store_close (fx->store);
        augur_config_free (fx->config);
        g_hash_table_unref (fx->fc);
        g_unlink (db);
        g_unlink (wal);
        g_unlink (shm);
        g_rmdir (fx->dir);
        g_free (fx->dir);
}

/* A modelled guest named name, from the captured record 'full'. */
static AugurFakeGuest *
add_full (Fx *fx, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "domstats-2guests.txt", NULL);
        g_autofree char *text = NULL;
        g_autoptr(GArray) a = NULL;

        g_assert_true (g_file_get_contents (path, &text, NULL, &error));
        a = augur_collect_parse_domstats_text (text, &error);
        g_assert_no_error (error);
        for (guint i = 0; i < a->len; i++) {
                const AugurDomainSample *s = &g_array_index (a, AugurDomainSample, i);

                if (strcmp (s->name, "full") == 0)
                        return augur_fake_add_guest (fx->fake, name, s);
        }
        g_assert_not_reached ();
}

/* One tick as daemon.c runs it: the stats call, the tick's transaction,
 * the loop, the commit. */
static void
tick (Fx *fx)
{
        g_autoptr(GArray) samples = NULL;
        g_autoptr(GError) error = NULL;
        gint64 now = augur_fake_now_ms (fx->fake);

        g_assert_true (augur_hv_guests_with_stats (fx->hv, NULL, NULL, &samples, &error));
        g_assert_no_error (error);
        g_assert_true (augur_store_tick_begin (fx->store, now, (AugurDomainSample *) samples->data, samples->len,
                                               &fx->host, 0, NULL, &error));
        augur_resize_tick (fx->r, fx->hv, fx->store, fx->config, (AugurDomainSample *) samples->data,
                           samples->len, &fx->host, now);
        g_assert_true (augur_store_tick_commit (fx->store, &error));
}

/* n ticks, one every TICK_MS. */
static void
run (Fx *fx, guint n)
{
        for (guint i = 0; i < n; i++) {
                augur_fake_advance (fx->fake, TICK_MS);
                tick (fx);
        }
}

/* Every audit row of guest name so far, oldest first. */
static GArray *
rows_of (Fx *fx, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GArray) all = augur_store_decisions (fx->store, -1, 0, G_MAXINT64, 0, &error);
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurDecisionRow));

        g_assert_no_error (error);
        for (guint i = 0; i < all->len; i++) {
                const AugurDecisionRow *row = &g_array_index (all, AugurDecisionRow, i);

                if (strcmp (row->name, name) == 0)
                        g_array_append_val (out, *row);
        }
        return out;
}

static AugurDecisionRow
last_row (Fx *fx, const char *name)
{
        g_autoptr(GArray) rows = rows_of (fx, name);

        g_assert_cmpuint (rows->len, >, 0);
        return g_array_index (rows, AugurDecisionRow, rows->len - 1);
}

/* The actuations of guest name so far (AugurActuationRow). */
static GArray *
actuations_of (Fx *fx, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurDomainInfo) d = augur_store_find_domain (fx->store, name, &error);
        GArray *a;

        g_assert_no_error (error);
        a = augur_store_actuations (fx->store, d->id, 0, G_MAXINT64, 0, &error);
        g_assert_no_error (error);
        return a;
}

/* The smallest balloon target set on name since call index `from`, and
 * how many were set; G_MAXINT64 when none. */
static gint64
min_balloon_set (Fx *fx, const char *name, guint from, guint *ret_n)
{
        const GArray *calls = augur_fake_calls (fx->fake);
        gint64 lo = G_MAXINT64;
        guint n = 0;

        for (guint i = from; i < calls->len; i++) {
                const AugurFakeCall *c = &g_array_index (calls, AugurFakeCall, i);

                if (c->kind == AUGUR_FAKE_CALL_SET_BALLOON && strcmp (c->guest, name) == 0) {
                        lo = MIN (lo, c->value);
                        n++;
                }
        }
        if (ret_n)
                *ret_n = n;
        return lo;
}

static void
set_policy (Fx *fx, AugurFakeGuest *g, const char *inner)
{
        g_autofree char *xml = g_strdup_printf ("<policy xmlns=\"%s\">%s</policy>", AUGUR_POLICY_NS_URI, inner);

        augur_fake_guest_set_metadata (fx->fake, g, AUGUR_POLICY_NS_URI, xml);
}

/* ---- modes ---- */

/* resize.h "Modes": only act actuates; recommend plans and audits;
 * observe does neither.  A forecast of 450 MiB on a 256 MiB balloon and of
 * 2.5 cores on 1 vCPU asks for a grow and a hotplug.
 * Mutation tried: act_memory()/act_vcpus() without the mode check (every
 * mode actuates): /resize/mode/recommend and /resize/mode/observe fail. */
static void
test_mode (Fx *fx, gconstpointer data)
{
        AugurMode mode = GPOINTER_TO_INT (data);
        AugurFakeGuest *g = add_full (fx, "vm");
        g_autoptr(GArray) rows = NULL;

        fx->config->mode = mode;
        augur_fake_guest_set_balloon (g, 256 * MIB);
        forecast (fx, "vm", 450 * MIB, 2.5);
        run (fx, 4);
        rows = rows_of (fx, "vm");
        switch (mode) {
        case AUGUR_MODE_ACT:
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), >=, 1);
                g_assert_cmpint (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value, >, 256 * MIB);
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, "vm"), >=, 1);
                g_assert_cmpint (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, "vm")->method, ==,
                                 AUGUR_HV_VCPUS_HOTPLUG);
                g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 4);
                g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), >, 256 * MIB);
                g_assert_cmpstr (last_row (fx, "vm").mode, ==, "act");
                break;
        case AUGUR_MODE_RECOMMEND:
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL), ==, 0);
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, NULL), ==, 0);
                g_assert_cmpstr (last_row (fx, "vm").mode, ==, "recommend");
                g_assert_cmpstr (last_row (fx, "vm").mem_action, ==, "recommend-grow");
                g_assert_cmpstr (last_row (fx, "vm").cpu_action, ==, "recommend-up");
                g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), ==, 256 * MIB);
                break;
        case AUGUR_MODE_OBSERVE:
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL), ==, 0);
                g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, NULL), ==, 0);
                g_assert_cmpuint (rows->len, ==, 0);
                break;
        default:
                g_assert_not_reached ();
        }
}

/* A balloon another controller moves by design (AugurHvDevices.
 * balloon_owner: Proxmox's pvestatd on a guest without shares: 0) is never
 * moved by augur, whatever the forecast; its vCPUs still are.  When the
 * owner goes (a METADATA event after `qm set --shares 0`) the balloon is
 * augur's again.
 * Mutation tried: augur_resize_hold_for_other_controller() without the
 * balloon_owner branch: fails (the balloon grown to 450 MiB). */
static void
test_balloon_owner (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");

        augur_fake_guest_set_balloon_owner (g, "a test's other controller");
        augur_fake_guest_set_balloon (g, 256 * MIB);
        forecast (fx, "vm", 450 * MIB, 2.5);
        run (fx, 4);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 0);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), ==, 256 * MIB);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, ==, "balloon-owned");
        g_assert_nonnull (strstr (last_row (fx, "vm").note, "a test's other controller"));
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 4);

        augur_fake_guest_set_balloon_owner (g, NULL);
        set_policy (fx, g, "<mode>act</mode>");          /* the METADATA event */
        run (fx, 4);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), >=, 1);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), >, 256 * MIB);
}

/* ---- stale data ---- */

/* resize.h "Safety": a VM whose stats stopped (balloon.last-update frozen
 * for more than three stats periods / ticks) is never shrunk, whatever the
 * forecast; once they move again the same forecast shrinks it (so the
 * scenario does shrink on fresh data).
 * Mutation tried: build_input() with mem_stats_fresh always TRUE: fails
 * (a shrink to 447 MiB on frozen stats). */
static void
test_stale_frozen (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        guint from, n;
        g_autoptr(GArray) rows = NULL;

        forecast (fx, "vm", 420 * MIB, 0.1);    /* about what it has: holds */
        run (fx, 4);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 0);
        /* The guest's stats stop; three ticks later augurd knows. */
        augur_fake_guest_set_stale (g, TRUE);
        run (fx, 4);
        forecast (fx, "vm", 20 * MIB, 0.1);
        from = augur_fake_calls (fx->fake)->len;
        run (fx, 12);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 0);
        rows = rows_of (fx, "vm");
        g_assert_cmpstr (g_array_index (rows, AugurDecisionRow, rows->len - 1).mem_veto, ==, "stale-stats");
        /* Fresh again: the same forecast shrinks it. */
        augur_fake_guest_set_stale (g, FALSE);
        run (fx, 4);
        g_assert_cmpint (min_balloon_set (fx, "vm", from, &n), <, 511 * MIB);
        g_assert_cmpuint (n, >=, 1);
}

/* The same rule for fields missing: without balloon.usable augurd cannot
 * read used memory and never shrinks; a guest whose balloon driver never
 * reported (the captured 'booting' record, loaded as a dump) neither.
 * Mutation tried: as above (mem_stats_fresh always TRUE) together with
 * used taken as 0 when unknown: fails. */
static void
test_stale_missing (Fx *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "domstats-2guests.txt", NULL);
        AugurFakeGuest *g;

        g_assert_true (augur_fake_load (fx->fake, path, &error));
        g_assert_no_error (error);
        g = augur_fake_guest (fx->fake, "full");
        augur_fake_guest_set_stat (g, AUGUR_STAT_BALLOON_USABLE_KIB, -1);
        forecast (fx, "full", 20 * MIB, 0.1);
        forecast (fx, "booting", 20 * MIB, 0.1);
        run (fx, 12);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL), ==, 0);
        g_assert_cmpstr (last_row (fx, "full").mem_veto, ==, "stale-stats");
        g_assert_cmpstr (last_row (fx, "booting").mem_veto, ==, "stale-stats");
        /* the control: with the field back, 'full' shrinks */
        augur_fake_guest_set_stat (g, AUGUR_STAT_BALLOON_USABLE_KIB, 0);
        augur_fake_guest_set_used (g, 35 * MIB);
        run (fx, 6);
        g_assert_cmpint (min_balloon_set (fx, "full", 0, NULL), <, 511 * MIB);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "booting"), ==, 0);
}

/* ---- the agent guard ---- */

/* actuate.h: vCPUs are given back only through the guest agent, never by
 * live unplug.  Without the agent: no vCPU call at all, the row says
 * no-agent; once the agent connects (its event makes the next tick probe
 * again), one vCPU goes, offlined through it.
 * Mutation tried: build_input() with can_offline_vcpus = TRUE (the plan
 * ignores the agent): fails (cpu_veto none, and the actuation fails). */
static void
test_agent_guard (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        const AugurFakeCall *c;

        augur_fake_guest_set_vcpus (g, 4, 4);
        augur_fake_guest_set_agent (fx->fake, g, FALSE);
        forecast (fx, "vm", 600 * MIB, 0.05);
        run (fx, 8);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, NULL), ==, 0);
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 4);
        g_assert_cmpstr (last_row (fx, "vm").cpu_veto, ==, "no-agent");
        g_assert_cmpstr (last_row (fx, "vm").cpu_action, ==, "none");

        augur_fake_guest_set_agent (fx->fake, g, TRUE);
        run (fx, 1);
        c = augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, "vm");
        g_assert_nonnull (c);
        g_assert_cmpint (c->method, ==, AUGUR_HV_VCPUS_AGENT);
        g_assert_cmpint (c->value, ==, 3);
        g_assert_true (c->ok);
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 3);
        /* and never a live unplug, however long it runs */
        run (fx, 10);
        for (guint i = 0; i < augur_fake_calls (fx->fake)->len; i++) {
                c = &g_array_index (augur_fake_calls (fx->fake), AugurFakeCall, i);
                g_assert_false (c->kind == AUGUR_FAKE_CALL_SET_VCPUS && c->method == AUGUR_HV_VCPUS_HOTPLUG);
        }
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 1);
}

/* ---- arbitration under [host] mem_budget_mib ---- */

/* resize.c apply_grants(): two guests that want more than the budget get
 * what arbitration grants, by priority (per-VM metadata), and the row
 * says so; a grow takes only what is free now, and the row says the rest
 * waits.  The balloons' targets never add up past the budget.
 * Mutation tried: apply_grants() skipped: fails (no note, targets past
 * the budget). */
static void
test_arbitration (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *a = add_full (fx, "a"), *b = add_full (fx, "b");
        AugurDecisionRow ra, rb;

        fx->config->host_budget_kib = 700 * MIB;
        augur_fake_guest_set_balloon (a, 200 * MIB);
        augur_fake_guest_set_balloon (b, 300 * MIB);
        set_policy (fx, b, "<priority>3000</priority>");
        forecast (fx, "a", 420 * MIB, 0.1);
        forecast (fx, "b", 420 * MIB, 0.1);
        run (fx, 2);
        ra = last_row (fx, "a");
        rb = last_row (fx, "b");
        g_test_message ("a: %s | b: %s", ra.note, rb.note);
        g_assert_nonnull (strstr (ra.note, "arbitration: granted"));
        g_assert_nonnull (strstr (ra.note, "priority 1000, host budget 700 MiB"));
        g_assert_nonnull (strstr (rb.note, "priority 3000, host budget 700 MiB"));
        g_assert_cmpfloat (rb.mem_target_kib - 300 * MIB, >, ra.mem_target_kib - 200 * MIB);
        /* The instant check: both grow at once by what is free now (200 MiB
         * between them), the rest waits. */
        g_assert_nonnull (strstr (ra.note, "the rest waits for other guests' balloons"));
        g_assert_cmpfloat (ra.mem_target_kib + rb.mem_target_kib, <=, 700 * MIB);
        run (fx, 6);
        ra = last_row (fx, "a");
        rb = last_row (fx, "b");
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (a) + augur_fake_guest_balloon_kib (b), <=, 700 * MIB);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (b), >, augur_fake_guest_balloon_kib (a));
        g_assert_nonnull (strstr (ra.note, "arbitration: granted"));
}

/* plan_vm(): a guest whose stats augurd cannot read is not squeezed by
 * arbitration either, however tight the budget: it keeps its balloon
 * while the other gets only what is left.
 * Mutation tried: plan_vm() without the "never shrunk on data augurd could
 * not read" clamp of mem_need_kib: fails (the stale guest is cut). */
static void
test_arbitration_stale (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *a = add_full (fx, "a"), *b = add_full (fx, "b");

        fx->config->host_budget_kib = 800 * MIB;
        augur_fake_guest_set_balloon (a, 450 * MIB);
        augur_fake_guest_set_balloon (b, 300 * MIB);
        forecast (fx, "a", 20 * MIB, 0.1);
        forecast (fx, "b", 440 * MIB, 0.1);
        augur_fake_guest_set_stale (a, TRUE);
        run (fx, 10);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a"), ==, 0);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (a), ==, 450 * MIB);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (b), <=, 350 * MIB);
        g_assert_nonnull (strstr (last_row (fx, "b").note, "arbitration: granted"));
}

/* ---- actuation latency ---- */

/* resize.h "Lead time": a balloon actuation is timed until the BALLOON
 * event reports its target, a vCPU one until the probe sees the count;
 * both go into the actuations table, and the EWMA of the balloon's
 * (0.7 × 2 s + 0.3 × measured) into the policy's look-ahead: the row's
 * horizon is that plus lead_margin (5 s).
 * Mutation tried: balloon_changed() not recording: fails (latency -1,
 * horizon 7.0). */
static void
test_latency (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        g_autoptr(GArray) acts = NULL;
        gboolean balloon = FALSE, vcpus = FALSE;

        augur_fake_guest_set_balloon (g, 256 * MIB);
        augur_fake_guest_set_balloon_latency (g, 2300);
        forecast (fx, "vm", 450 * MIB, 2.5);
        run (fx, 2);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 1);
        g_assert_cmpfloat (last_row (fx, "vm").horizon_s, ==, 7.0);
        run (fx, 1);
        acts = actuations_of (fx, "vm");
        for (guint i = 0; i < acts->len; i++) {
                const AugurActuationRow *a = &g_array_index (acts, AugurActuationRow, i);

                if (strcmp (a->kind, "balloon") == 0) {
                        g_assert_cmpint (a->latency_ms, ==, 2300);
                        balloon = TRUE;
                } else {
                        g_assert_cmpint (a->latency_ms, ==, TICK_MS);   /* seen at the next probe */
                        vcpus = TRUE;
                }
        }
        g_assert_true (balloon && vcpus);
        /* The vCPU latency (5 s) is the larger now: 0.7 × 2 + 0.3 × 5. */
        g_assert_cmpfloat_with_epsilon (last_row (fx, "vm").horizon_s, 5 + 0.7 * 2.0 + 0.3 * 5.0, 1e-9);
}

/* A balloon that stops short of its target (another size reported) is
 * not counted as landed.
 * Mutation tried: balloon_changed() without the "reached the target"
 * check: fails (latency recorded). */
static void
test_latency_short (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        g_autoptr(GArray) acts = NULL;
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_BALLOON, .balloon_kib = 260 * 1024 };

        augur_fake_guest_set_balloon (g, 256 * MIB);
        augur_fake_guest_set_balloon_latency (g, 60000);       /* lands after the test */
        forecast (fx, "vm", 450 * MIB, 0.1);
        run (fx, 2);
        augur_fake_advance (fx->fake, 1000);
        augur_resize_event (fx->r, fx->store, augur_fake_guest_uuid (g), &e, augur_fake_now_ms (fx->fake));
        acts = actuations_of (fx, "vm");
        g_assert_cmpuint (acts->len, ==, 1);
        g_assert_cmpint (g_array_index (acts, AugurActuationRow, 0).latency_ms, ==, -1);
}

/* ---- per-VM metadata ---- */

/* vm.h: the per-VM policy is read once, and again after the domain's
 * <metadata> changed (its METADATA event), not every tick; what it says
 * takes effect at the next tick: here the mode (recommend, then act) and
 * the memory maximum.
 * Mutation tried: metadata_changed() not clearing meta_loaded: fails
 * (one read only, still recommending). */
static void
test_metadata_reload (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");

        augur_fake_guest_set_balloon (g, 256 * MIB);
        set_policy (fx, g, "<mode>recommend</mode>");
        forecast (fx, "vm", 450 * MIB, 0.1);
        run (fx, 6);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_READ_METADATA, "vm"), ==, 1);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL), ==, 0);
        g_assert_cmpstr (last_row (fx, "vm").mode, ==, "recommend");

        set_policy (fx, g, "<mode>act</mode><mem_max_mib>300</mem_max_mib>");
        run (fx, 1);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_READ_METADATA, "vm"), ==, 2);
        g_assert_cmpstr (last_row (fx, "vm").mode, ==, "act");
        g_assert_cmpint (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value, ==, 300 * 1024);
        run (fx, 4);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_READ_METADATA, "vm"), ==, 2);
}

/* ---- the memory guard at the resize level (policy/mem-guard.h) ---- */

/* Rule 1, the cushion: a new guest keeps half its <memory> maximum (at
 * least 256 MiB, fading out over its first hour) above its used memory,
 * plus the reserve, however low the forecast: it shrinks, in shrink_step
 * steps, to there and no further.
 * Mutation tried: plan_vm() passing no cushion (mem_cushion_kib NAN):
 * fails (shrunk toward used + reserve, 153 MiB). */
static void
test_guard_cushion (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        /* used in balloon terms: MemTotal − MemAvailable + the reservation */
        const double used_kib = 523264.0 - 432208.0;
        const gint64 born_ms = T0_MS + TICK_MS;         /* first seen */
        const GArray *calls;
        guint n = 0;

        forecast (fx, "vm", 20 * MIB, 0.1);
        run (fx, 20);
        calls = augur_fake_calls (fx->fake);
        for (guint i = 0; i < calls->len; i++) {
                const AugurFakeCall *c = &g_array_index (calls, AugurFakeCall, i);
                double age_s = (c->t_ms - born_ms) / 1000.0;
                double floor_kib = used_kib + 256 * MIB * (1 - age_s / 3600) + fx->config->reserve_kib;

                if (c->kind != AUGUR_FAKE_CALL_SET_BALLOON)
                        continue;
                g_test_message ("t %.0f s: balloon %" G_GINT64_FORMAT " KiB, floor %.0f", age_s, c->value, floor_kib);
                g_assert_cmpfloat (c->value, >=, floor_kib - 8);        /* 4 KiB pages */
                g_assert_cmpfloat (c->value, <, 511 * MIB);
                n++;
        }
        g_assert_cmpuint (n, >=, 2);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), <, used_kib + 256 * MIB + fx->config->reserve_kib +
                           fx->config->shrink_step_kib);
}

/* Rule 3 with the host's 4-hour view (host-plan.h): a host with room now
 * (44 % forecast free) keeps a new guest's generous cushion (no shrink);
 * a calibrated view that the guests will grow by 6.5 GiB within 4 h
 * tightens it now, to the burst envelope, and the audit row says why; a
 * view with no calibrated horizon, or one older than
 * AUGUR_HOST_PLAN_MAX_AGE_S, changes nothing.
 * Mutation tried: host_slack() ignoring plan_growth_kib: "calibrated"
 * fails (no shrink). */
typedef enum { PLAN_NONE, PLAN_CALIBRATED, PLAN_WARMING, PLAN_STALE } PlanCase;

static void
test_guard_host_plan (Fx *fx, gconstpointer data)
{
        PlanCase which = GPOINTER_TO_INT (data);
        g_autoptr(AugurHostPlan) plan = augur_host_plan_new ("/nonexistent");
        AugurFakeGuest *g = add_full (fx, "vm");
        const double used_kib = 523264.0 - 432208.0;    /* balloon terms, as in /resize/guard/cushion */
        AugurHostForecast view = { 0 };
        AugurDecisionRow row;
        const char *note;
        double balloon;

        fx->host.present = (1ull << AUGUR_HOST_MEM_TOTAL_KIB) | (1ull << AUGUR_HOST_MEM_AVAILABLE_KIB);
        fx->host.v[AUGUR_HOST_MEM_TOTAL_KIB] = 16 * 1024 * MIB;
        fx->host.v[AUGUR_HOST_MEM_AVAILABLE_KIB] = 8 * 1024 * MIB;      /* reserve 1 GiB: 7/16 free */
        view.origin_s = T0_MS / 1000 - (which == PLAN_STALE ? AUGUR_HOST_PLAN_MAX_AGE_S + 600 : 0);
        view.step_s = 300;
        view.H = AUGUR_HOST_FC_H;
        view.guests = 1;
        view.held_kib = 40 * MIB;
        for (guint h = 0; h < view.H; h++) {
                view.p50_kib[h] = view.held_kib;
                view.upper_kib[h] = view.sum_upper_kib[h] = view.held_kib + 6.5 * 1024 * MIB;
                view.scored[h] = which == PLAN_WARMING ? AUGUR_HOST_FC_WARM - 1 : 1000;
        }
        if (which != PLAN_NONE) {
                augur_host_plan_install (plan, &view);
                augur_resize_set_host_plan (fx->r, plan);
        }
        forecast (fx, "vm", 20 * MIB, 0.1);
        run (fx, 20);
        balloon = augur_fake_guest_balloon_kib (g);
        g_test_message ("balloon %.0f MiB (used %.0f MiB)", balloon / MIB, used_kib / MIB);
        row = last_row (fx, "vm");
        note = row.note;
        g_test_message ("note: %s", note);
        if (which == PLAN_CALIBRATED) {
                g_assert_cmpfloat (balloon, <, used_kib + 256 * MIB + fx->config->reserve_kib +
                                   fx->config->shrink_step_kib);
                g_assert_nonnull (strstr (note, "host plan: the guests may grow by 6656 MiB within 4 h"));
        } else {
                g_assert_cmpfloat (balloon, >=, 511 * MIB);
                g_assert_null (strstr (note, "host plan"));
        }
        augur_resize_set_host_plan (fx->r, NULL);
}

/* Three guests' two days of 5-minute history in fx's store (a square
 * wave each), handed back as series too.  The newest sample is at
 * HP_T0 + (HP_N - 1) x 300 s. */
#define HP_T0 G_GINT64_CONSTANT (1798999800)   /* a multiple of 300 s */
#define HP_N  (2 * 288)

static GPtrArray *
seed_history (Fx *fx)
{
        g_autoptr(GError) error = NULL;
        GPtrArray *direct = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);

        for (guint i = 0; i < 3; i++) {
                g_autofree char *name = g_strdup_printf ("vm%u", i);
                AugurSeries *s = augur_series_new (name);

                augur_series_ensure_col (s, AUGUR_COL_MEM_USED_KIB);
                augur_series_ensure_col (s, AUGUR_COL_MEM_PROV_KIB);
                for (gsize k = 0; k < HP_N; k++) {
                        gsize j = augur_series_append (s, HP_T0 + (gint64) k * 300);

                        s->col[AUGUR_COL_MEM_PROV_KIB][j] = (float) (4096 * MIB);
                        s->col[AUGUR_COL_MEM_USED_KIB][j] =
                                (float) ((512 + 256 * i + 128 * ((k / (12 + i)) % 2)) * MIB);
                }
                g_assert_true (augur_store_import_series (fx->store, s, "test", NULL, &error));
                g_assert_no_error (error);
                g_ptr_array_add (direct, s);
        }
        return direct;
}

/* The worker's replay (augur_host_plan_run) reads the store's 5-minute
 * rollups from now − history on, and gives what the host forecast gives
 * on the same series handed to it directly. */
static void
test_host_plan_run (Fx *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) direct = seed_history (fx);
        g_autoptr(AugurPredictor) pred = NULL;
        g_autofree char *db = g_build_filename (fx->dir, "augur.db", NULL);
        AugurHostForecast want, got;
        AugurPredictorConfig pc;

        augur_host_forecast_predictor_config (&pc, 0.95f);
        pred = augur_predictor_new (NULL, &pc, &error);
        g_assert_no_error (error);
        augur_host_forecast (direct, pred, 0.95f, 86400, &want, &error);
        g_assert_no_error (error);
        augur_host_plan_run (db, 86400, HP_T0 + (gint64) HP_N * 300, NULL, &got, &error);
        g_assert_no_error (error);
        g_assert_cmpint (got.origin_s, ==, want.origin_s);
        g_assert_cmpuint (got.guests, ==, 3);
        g_assert_cmpfloat_with_epsilon (got.held_kib, want.held_kib, 1);
        for (guint h = 0; h < want.H; h++) {
                g_assert_cmpuint (got.scored[h], ==, want.scored[h]);
                g_assert_cmpfloat_with_epsilon (got.upper_kib[h], want.upper_kib[h], 1);
        }
        g_assert_cmpuint (want.scored[0], <=, 288);             /* the newest day only */
        g_assert_false (isnan (augur_host_forecast_growth_kib (&got, 1)));
        g_assert_cmpfloat (augur_host_forecast_growth_kib (&got, 1), >, 64 * MIB);

        /* No store there: an error, no view. */
        g_assert_false (augur_host_plan_run ("/nonexistent/augur.db", 86400, HP_T0, NULL, &got, &error));
        g_assert_nonnull (error);
}

/* As augurd runs it: the first tick starts the replay on its thread, the
 * view arrives on the main context and serves (growth known while the
 * view is under 2 h old, NAN after); the next tick within plan_interval
 * starts nothing; plan_interval = 0 starts nothing; freed while a replay
 * runs, it cancels and joins it. */
static void
test_host_plan_tick (Fx *fx, gconstpointer data)
{
        g_autoptr(GPtrArray) direct = seed_history (fx);
        g_autofree char *db = g_build_filename (fx->dir, "augur.db", NULL);
        const gint64 now_ms = (HP_T0 + (gint64) HP_N * 300) * 1000;
        AugurHostPlan *p = augur_host_plan_new (db);
        gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

        g_assert_true (isnan (augur_host_plan_growth_kib (p, now_ms)));
        augur_host_plan_tick (p, fx->config, now_ms);
        while (augur_host_plan_runs_done (p) == 0 && g_get_monotonic_time () < deadline)
                g_main_context_iteration (NULL, FALSE);
        g_assert_cmpuint (augur_host_plan_runs_done (p), ==, 1);
        g_assert_cmpfloat (augur_host_plan_growth_kib (p, now_ms), >, 64 * MIB);
        g_assert_true (isnan (augur_host_plan_growth_kib (p, now_ms + (AUGUR_HOST_PLAN_MAX_AGE_S + 600) * 1000)));

        augur_host_plan_tick (p, fx->config, now_ms + 60 * 1000);
        g_usleep (200000);
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (augur_host_plan_runs_done (p), ==, 1);
        fx->config->host_plan_interval_s = 0;
        augur_host_plan_tick (p, fx->config, now_ms + 7200 * 1000);
        g_usleep (200000);
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (augur_host_plan_runs_done (p), ==, 1);

        fx->config->host_plan_interval_s = 3600;
        augur_host_plan_tick (p, fx->config, now_ms + 7200 * 1000);
        augur_host_plan_free (p);               /* mid-run or just done: no report */
        while (g_main_context_iteration (NULL, FALSE))
                ;
}

/* Rule 2, out of memory: the guest's own oom_kill count rises (its
 * augur-guest report) → an emergency grow at once, and a hold: no shrink
 * below the hold level afterwards, whatever the forecast; the row says
 * why.
 * Mutation tried: observe_guard() not asking for the guest's report
 * (no oom_kill count): fails (no grow). */
static void
test_guard_oom (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        AugurFakeCall grow;
        AugurDecisionRow row;
        double before;
        guint from;

        augur_fake_guest_set_balloon (g, 300 * MIB);
        augur_fake_guest_set_used (g, 60 * MIB);
        augur_fake_guest_set_report (g, 0, 0);
        forecast (fx, "vm", 60 * MIB, 0.1);
        run (fx, 6);
        /* by now at its cushion (a new guest's: used + 256 MiB + reserve) */
        before = augur_fake_guest_balloon_kib (g);
        from = augur_fake_calls (fx->fake)->len;
        augur_fake_guest_set_report (g, 1, 0);
        run (fx, 1);
        g_assert_nonnull (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"));
        grow = *augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm");
        g_assert_cmpint (grow.t_ms, ==, augur_fake_now_ms (fx->fake));
        g_assert_cmpfloat (min_balloon_set (fx, "vm", from, NULL), >, before);
        row = last_row (fx, "vm");
        g_assert_cmpstr (row.mem_reason, ==, "out-of-memory");
        g_assert_cmpstr (row.mem_action, ==, "grow");
        g_assert_nonnull (strstr (row.note, "the guest ran out of memory"));
        g_assert_nonnull (strstr (row.note, "emergency grow"));
        /* The hold: the forecast stays low, the balloon stays up. */
        from = augur_fake_calls (fx->fake)->len;
        run (fx, 20);
        g_assert_cmpint (min_balloon_set (fx, "vm", from, NULL), >=, grow.value);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), >=, grow.value);
        g_assert_nonnull (strstr (last_row (fx, "vm").note, "holding"));
}

/* Rule 2 on a real capture: the pressure case's g1, killed at a 243 MiB
 * balloon under a 750 MiB budget shared with g2, replayed as recorded.
 * The tick its report counts the kill, g1 is grown at once; the row says
 * the guest ran out of memory, and arbitration (the hold is granted only
 * from what g2 does not need) says how much of it it got now.
 * Mutation tried: as test_guard_oom: fails. */
static void
test_guard_replay_oom (Fx *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "domstats-pressure-oom.txt", NULL);
        const gint64 counted_ms = G_GINT64_CONSTANT (1796609513971);   /* the report with the kill */
        gint64 t, grown_ms = -1;
        guint ticks = 0;

        augur_hv_close (fx->hv);
        augur_fake_free (fx->fake);
        fx->fake = augur_fake_new (G_GINT64_CONSTANT (1796609495000));
        fx->hv = augur_fake_open (fx->fake, &(AugurHvCallbacks) { .event = on_event }, fx);
        augur_resize_set_guest_report (fx->r, augur_fake_guest_report, fx->fake);
        /* Open loop: the balloons move as the captured run's augurd moved
         * them, not as this one sets them, which is a second controller by
         * construction (SECOND CONTROLLER in resize-controller.c). */
        augur_resize_set_yield (fx->r, FALSE);
        g_assert_true (augur_fake_load (fx->fake, path, &error));
        g_assert_no_error (error);
        fx->config->tick_s = 1;
        fx->config->host_budget_kib = 750 * MIB;
        while (augur_fake_next_record_ms (fx->fake, &t)) {
                const AugurFakeCall *c;

                augur_fake_advance_to (fx->fake, t);
                tick (fx);
                ticks++;
                c = augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "g1");
                if (grown_ms < 0 && c && c->t_ms == t && strcmp (last_row (fx, "g1").mem_reason, "out-of-memory") == 0)
                        grown_ms = t;
        }
        g_assert_cmpuint (ticks, ==, 25);
        g_test_message ("g1 grown at %" G_GINT64_FORMAT ", the kill counted at %" G_GINT64_FORMAT,
                        grown_ms, counted_ms);
        /* the first tick at or after the report */
        g_assert_cmpint (grown_ms, >=, counted_ms);
        g_assert_cmpint (grown_ms, <, counted_ms + 1100);
        g_assert_nonnull (strstr (last_row (fx, "g1").note, "the guest ran out of memory"));
        g_assert_nonnull (strstr (last_row (fx, "g1").note, "guest-oom-kill"));
        g_assert_cmpstr (last_row (fx, "g2").mem_reason, !=, "out-of-memory");
}

/* ---- a second controller (resize-controller.c SECOND CONTROLLER) ---- */

/* Log lines by augur_log() action, counted by log_writer(). */
static guint n_yield_logs, n_take_back_logs;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
        for (gsize i = 0; i < n_fields; i++) {
                if (strcmp (fields[i].key, "AUGUR_ACTION") != 0 || fields[i].length >= 0)
                        continue;
                if (strcmp (fields[i].value, "yield") == 0)
                        n_yield_logs++;
                else if (strcmp (fields[i].value, "take-back") == 0)
                        n_take_back_logs++;
        }
        return g_log_writer_default (level, fields, n_fields, data);
}

/* Rows of name since index from (rows_of) whose memory veto is veto. */
static guint
count_veto (Fx *fx, const char *name, guint from, const char *veto)
{
        g_autoptr(GArray) rows = rows_of (fx, name);
        guint n = 0;

        for (guint i = from; i < rows->len; i++)
                if (strcmp (g_array_index (rows, AugurDecisionRow, i).mem_veto, veto) == 0)
                        n++;
        return n;
}

/* Calls since index from that are neither balloon nor vCPU changes. */
static guint
count_kind_since (Fx *fx, guint from)
{
        const GArray *calls = augur_fake_calls (fx->fake);
        guint n = 0;

        for (guint i = from; i < calls->len; i++) {
                const AugurFakeCall *c = &g_array_index (calls, AugurFakeCall, i);

                if (c->kind != AUGUR_FAKE_CALL_SET_BALLOON && c->kind != AUGUR_FAKE_CALL_SET_VCPUS)
                        n++;
        }
        return n;
}

static guint
n_rows (Fx *fx, const char *name)
{
        g_autoptr(GArray) rows = rows_of (fx, name);

        return rows->len;
}

/* The exposition's augur_guest_yielded sample, -1 when absent. */
static int
yielded_gauge (AugurMetrics *m)
{
        g_autoptr(GString) out = g_string_new (NULL);
        const char *p;

        augur_metrics_format (m, out);
        p = strstr (out->str, "\naugur_guest_yielded{");
        if (!p)
                return -1;
        p = strchr (p, '}');
        return atoi (p + 2);
}

/* augur settles a guest: grown from 256 MiB to what a 300 MiB forecast
 * asks, landed, below its 512 MiB maximum.  Returns the balloon it settled at. */
static double
settle (Fx *fx, AugurFakeGuest *g)
{
        augur_fake_guest_set_balloon (g, 256 * MIB);
        forecast (fx, "vm", 300 * MIB, 0.05);
        run (fx, 6);
        g_test_message ("settled at %.0f KiB", augur_fake_guest_balloon_kib (g));
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), >=, 1);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), >, 300 * MIB);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), <, 460 * MIB);
        return augur_fake_guest_balloon_kib (g);
}

/* An admin's `virsh setmem` moves the balloon and it stays there: the
 * first tick holds (no actuation, "suspected"), the second yields: one
 * log line, the gauge at 1, rows vetoed other-controller; from then on no
 * balloon and no vCPU call, whatever augur would want (a larger forecast
 * and 2.5 cores), the balloon where the admin put it.  A one-tick blip
 * before it does not yield.  A change of its augur metadata (virt-augur
 * policy --set mode=act) takes it back: augur grows it again and hotplugs.
 * Mutations tried: balloon_foreign() always FALSE: fails (no veto, augur
 * acts on); FOREIGN_TICKS 1: fails (the blip's tick yields, not
 * "suspected"); no hold (hold_for_other_controller() not called, apply_vm()
 * looking the guest up as before): fails (the suspect row is not vetoed);
 * metadata_changed() not clearing the yield: fails (no take-back). */
static void
test_controller_setmem (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        g_autoptr(AugurMetrics) m = augur_metrics_new ();
        AugurDecisionRow row;
        double settled;
        guint calls, from;

        augur_resize_set_metrics (fx->r, m);
        n_yield_logs = n_take_back_logs = 0;
        settled = settle (fx, g);
        g_assert_cmpint (yielded_gauge (m), ==, 0);

        /* a blip: one tick off, then back where augur put it */
        augur_fake_guest_set_balloon (g, 200 * MIB);
        run (fx, 1);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, ==, "other-controller");
        g_assert_nonnull (strstr (last_row (fx, "vm").note, "suspected"));
        augur_fake_guest_set_balloon (g, settled);
        run (fx, 3);
        g_assert_cmpuint (n_yield_logs, ==, 0);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, !=, "other-controller");

        /* the admin's setmem, for good */
        calls = augur_fake_calls (fx->fake)->len;
        augur_fake_guest_set_balloon (g, 200 * MIB);
        run (fx, 1);
        g_assert_cmpuint (n_yield_logs, ==, 0);
        g_assert_cmpuint (augur_fake_calls (fx->fake)->len, ==, calls + count_kind_since (fx, calls));
        g_assert_nonnull (strstr (last_row (fx, "vm").note, "suspected"));
        run (fx, 1);
        g_assert_cmpuint (n_yield_logs, ==, 1);
        g_assert_cmpint (yielded_gauge (m), ==, 1);
        row = last_row (fx, "vm");
        g_assert_cmpstr (row.mem_veto, ==, "other-controller");
        g_assert_cmpstr (row.cpu_veto, ==, "other-controller");
        g_assert_cmpstr (row.mem_action, ==, "none");
        g_assert_nonnull (strstr (row.note, "another controller moved the balloon to 200 MiB"));

        /* observe only, however much augur would want */
        forecast (fx, "vm", 480 * MIB, 2.5);
        from = n_rows (fx, "vm");
        run (fx, 12);
        for (guint i = calls; i < augur_fake_calls (fx->fake)->len; i++) {
                const AugurFakeCall *c = &g_array_index (augur_fake_calls (fx->fake), AugurFakeCall, i);

                g_assert_true (c->kind != AUGUR_FAKE_CALL_SET_BALLOON && c->kind != AUGUR_FAKE_CALL_SET_VCPUS);
        }
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), ==, 200 * MIB);
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), ==, 1);
        g_assert_cmpuint (count_veto (fx, "vm", from, "other-controller"), ==, 12);
        g_assert_cmpuint (n_yield_logs, ==, 1);

        /* virt-augur policy vm --set mode=act */
        set_policy (fx, g, "<mode>act</mode>");
        run (fx, 2);
        g_assert_cmpuint (n_take_back_logs, ==, 1);
        g_assert_cmpint (yielded_gauge (m), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), >, 0);
        g_assert_cmpint (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->t_ms, >,
                         g_array_index (augur_fake_calls (fx->fake), AugurFakeCall, calls).t_ms);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), >, 400 * MIB);
        g_assert_cmpint (augur_fake_guest_vcpus_online (g), >, 1);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, !=, "other-controller");
        g_assert_cmpuint (n_yield_logs, ==, 1);
        augur_resize_set_metrics (fx->r, NULL);
}

/* augur's own changes never yield: a grow that lands slowly (the balloon
 * creeps up over several ticks and stalls short of the target for three),
 * then shrinks step by step down to the cushion, each landing after a
 * second.  No row says other-controller, nothing is logged.
 * Mutation tried: balloon_foreign() without the way-there span (only the
 * target itself explains the balloon): fails (the stall yields, and augur
 * shrinks no more). */
static void
test_controller_own_moves (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        const double steps[] = { 280, 320, 360, 400, 400, 400 };
        gint64 target;
        guint n_shrinks;

        n_yield_logs = 0;
        augur_fake_guest_set_balloon (g, 256 * MIB);
        augur_fake_guest_set_balloon_latency (g, 600000);      /* lands after the steps */
        forecast (fx, "vm", 450 * MIB, 0.05);
        run (fx, 2);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 1);
        target = augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value;
        g_assert_cmpint (target, >, 420 * MIB);
        for (gsize i = 0; i < G_N_ELEMENTS (steps); i++) {
                augur_fake_guest_move_balloon (g, steps[i] * MIB);
                run (fx, 1);
        }
        /* lands (augur set the same target again meanwhile, which the
         * fake would land a minute after the last time) */
        augur_fake_guest_set_balloon (g, (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value);
        run (fx, 2);
        augur_fake_guest_set_balloon_latency (g, 1000);
        forecast (fx, "vm", 20 * MIB, 0.05);
        run (fx, 20);
        min_balloon_set (fx, "vm", 0, &n_shrinks);
        g_assert_cmpuint (n_shrinks, >=, 3);
        g_assert_cmpint (min_balloon_set (fx, "vm", 0, NULL), <, target - 64 * MIB);
        g_assert_cmpuint (count_veto (fx, "vm", 0, "other-controller"), ==, 0);
        g_assert_cmpuint (n_yield_logs, ==, 0);
}

/* A landed balloon is not set again to the target it holds (SECOND
 * CONTROLLER), but a target a little LOWER is sent: arbitration squeezing
 * the host budget by less than FOREIGN_TOLERANCE_KIB must still move the
 * balloon, or the guests' sum stays over the budget (seen on a real guest:
 * 752.8 MiB under a 750 MiB budget).
 * Mutation tried: act_memory() skipping any target within tolerance of
 * the landed one (|to - set| <= tolerance): fails (no call, the balloon
 * stays 1.5 MiB over the budget). */
static void
test_controller_squeeze (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        double settled = settle (fx, g);
        guint calls;

        run (fx, 3);
        calls = augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm");
        run (fx, 3);            /* landed and steady: nothing sent again */
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, calls);
        fx->config->host_budget_kib = settled - 1536;
        run (fx, 2);
        g_test_message ("budget %.0f KiB: balloon %.0f KiB, last target %" G_GINT64_FORMAT " KiB, row target %.0f",
                        fx->config->host_budget_kib, augur_fake_guest_balloon_kib (g),
                        augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value,
                        last_row (fx, "vm").mem_target_kib);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), >, calls);
        g_assert_cmpfloat (augur_fake_guest_balloon_kib (g), <=, fx->config->host_budget_kib);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, !=, "other-controller");
}

/* A grow to a large target reported by QEMU's BALLOON_CHANGE event 3 MiB
 * short of it (within the 1 % that counts as landed for the latency, but
 * beyond the judge's tolerance) is still landing, not another
 * controller's move: no row is held.  Seen on a real guest (498 of 501
 * MiB held as suspected, its room given to the other guest, the pair
 * 1-2 MiB over the host budget when it landed).
 * Mutation tried: balloon_changed() closing the way there at 1 %: fails
 * (the row says other-controller). */
static void
test_controller_landing (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        double target;

        augur_fake_guest_set_balloon (g, 256 * MIB);
        augur_fake_guest_set_balloon_latency (g, 600000);
        forecast (fx, "vm", 450 * MIB, 0.05);
        run (fx, 2);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 1);
        target = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value;
        g_assert_cmpfloat (target, >, 300 * MIB);       /* 3 MiB is within its 1 % */
        augur_fake_guest_balloon_event (fx->fake, g, target - 3 * MIB);
        run (fx, 1);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, !=, "other-controller");
        augur_fake_guest_move_balloon (g, target);
        run (fx, 2);
        g_assert_cmpuint (count_veto (fx, "vm", 0, "other-controller"), ==, 0);
}

/* A guest held on suspicion of another controller is not actuated, so
 * QEMU keeps augur's last target and its balloon may go back there: the
 * other guests' grows count that target, not the balloon's dip, against
 * the budget (resize.c apply_grants()).
 * Mutation tried: apply_grants() without the held guest's target: fails
 * (b grows into the dip: the targets add up past the budget). */
static void
test_controller_held_budget (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *a = add_full (fx, "a"), *b = add_full (fx, "b");
        double a_set, b_target;

        fx->config->host_budget_kib = 700 * MIB;
        augur_fake_guest_set_balloon (a, 400 * MIB);
        augur_fake_guest_set_balloon (b, 280 * MIB);
        forecast (fx, "a", 300 * MIB, 0.05);
        forecast (fx, "b", 200 * MIB, 0.05);
        run (fx, 8);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a"), >=, 1);
        a_set = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a")->value;
        g_test_message ("a at %.0f (set %.0f), b at %.0f KiB", augur_fake_guest_balloon_kib (a), a_set,
                        augur_fake_guest_balloon_kib (b));
        /* a's balloon dips 40 MiB (someone else, or nothing yet), while b
         * wants all it can get */
        augur_fake_guest_move_balloon (a, a_set - 40 * MIB);
        forecast (fx, "b", 600 * MIB, 0.05);
        run (fx, 1);
        g_assert_cmpstr (last_row (fx, "a").mem_veto, ==, "other-controller");
        b_target = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "b")->value;
        g_test_message ("b's target %.0f KiB, a's %.0f KiB, budget %.0f KiB", b_target, a_set,
                        fx->config->host_budget_kib);
        g_assert_cmpfloat (a_set + b_target, <=, fx->config->host_budget_kib);
}

/* resize.c apply_grants(): a guest whose earlier, larger target is still
 * landing (QEMU holds it; the guest deflates within a second) commits that
 * target, whatever smaller one augur sends now: another guest's grow may
 * only use what is left beside it.  Seen on a real guest: the pair 1 MiB
 * over a 750 MiB budget while one balloon landed.
 * Mutation tried: the old scaling (every grow measured from the balloon
 * now, the landing guest's cut counted as room): fails (b's target plus
 * a's landing one exceed the budget). */
static void
test_arbitration_landing (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *a = add_full (fx, "a"), *b = add_full (fx, "b");
        double a_first, a_second, b_target;

        fx->config->host_budget_kib = 850 * MIB;
        augur_fake_guest_set_balloon (a, 300 * MIB);
        augur_fake_guest_set_balloon (b, 200 * MIB);
        forecast (fx, "a", 220 * MIB, 0.05);
        forecast (fx, "b", 120 * MIB, 0.05);
        run (fx, 4);
        g_test_message ("settled: a %.0f, b %.0f KiB", augur_fake_guest_balloon_kib (a),
                        augur_fake_guest_balloon_kib (b));
        /* a grows, slowly: its target stays pending */
        augur_fake_guest_set_balloon_latency (a, 600000);
        forecast (fx, "a", 470 * MIB, 0.05);
        run (fx, 1);
        a_first = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a")->value;
        /* a now wants a little less, b much more */
        forecast (fx, "a", 440 * MIB, 0.05);
        forecast (fx, "b", 480 * MIB, 0.05);
        run (fx, 1);
        a_second = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a")->value;
        b_target = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "b")->value;
        g_test_message ("a: %.0f then %.0f KiB (landing), b: %.0f KiB, budget %.0f KiB", a_first, a_second,
                        b_target, fx->config->host_budget_kib);
        g_assert_cmpfloat (a_second, <, a_first);      /* the case under test */
        g_assert_cmpfloat (MAX (a_first, a_second) + b_target, <=, fx->config->host_budget_kib);
}

/* A grow that lands a little short (within its 1 %, more than the 2 MiB
 * wobble: the guest frees its last pages slowly) is "landed" for the
 * latency, but QEMU still holds augur's target and the balloon will reach
 * it: another guest's grow may only use what is left beside that target.
 * Seen on a real guest (safe-defaults.sh pressure case): a landed at
 * 472 888 of its 474 948 KiB, b grown into the 2 060 KiB, the pair 12 KiB
 * over a 750 MiB budget.
 * Mutation tried: balloon_base() without augur's last target once
 * landed: fails (the targets add up past the budget). */
static void
test_arbitration_landed_short (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *a = add_full (fx, "a"), *b = add_full (fx, "b");
        double a_set, b_target;

        fx->config->host_budget_kib = 850 * MIB;
        augur_fake_guest_set_balloon (a, 300 * MIB);
        augur_fake_guest_set_balloon (b, 200 * MIB);
        forecast (fx, "a", 220 * MIB, 0.05);
        forecast (fx, "b", 120 * MIB, 0.05);
        run (fx, 4);
        augur_fake_guest_set_balloon_latency (a, 600000);
        forecast (fx, "a", 470 * MIB, 0.05);
        run (fx, 1);
        a_set = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a")->value;
        g_assert_cmpfloat (a_set, >, 300 * MIB);        /* 3 MiB is within its 1 % */
        augur_fake_guest_balloon_event (fx->fake, a, a_set - 3 * MIB);
        /* a now plans what it has (a change under 1 MiB: not made, QEMU
         * keeps a_set), b wants all that is left beside it */
        forecast (fx, "a", 467 * MIB, 0.05);
        forecast (fx, "b", 327 * MIB, 0.05);     /* a's share then plans what a has now */
        run (fx, 1);
        b_target = (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "b")->value;
        g_test_message ("a's target %.0f KiB (landed 3 MiB short, planned %.0f), b's %.0f KiB, budget %.0f KiB",
                        a_set, last_row (fx, "a").mem_target_kib, b_target, fx->config->host_budget_kib);
        g_assert_cmpfloat (augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "a")->value, ==, a_set);
        g_assert_cmpfloat (a_set + b_target, <=, fx->config->host_budget_kib);
}

/* autodeflate: a balloon that rises above augur's target on a guest with
 * <memballoon autodeflate='on'> is the guest deflating it (the memory
 * guard's DEFLATED event), never another controller, however long it
 * stays; on the same guest a balloon set BELOW augur's target is.
 * Mutation tried: balloon_foreign() without the autodeflate exception:
 * fails (the deflated balloon yields). */
static void
test_controller_autodeflate (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        double settled;

        n_yield_logs = 0;
        augur_fake_guest_set_autodeflate (g, TRUE);
        settled = settle (fx, g);
        augur_fake_guest_set_balloon (g, settled + 40 * MIB);  /* the guest deflated */
        run (fx, 6);
        g_assert_cmpuint (count_veto (fx, "vm", 0, "other-controller"), ==, 0);
        g_assert_cmpuint (n_yield_logs, ==, 0);
        /* the control: below augur's target is someone else */
        augur_fake_guest_set_balloon (g, 200 * MIB);
        run (fx, 2);
        g_assert_cmpuint (n_yield_logs, ==, 1);
        g_assert_cmpstr (last_row (fx, "vm").mem_veto, ==, "other-controller");
}

/* A guest reboot: the reset guest's balloon is empty (the balloon at its
 * <memory> maximum) for a few ticks while it boots, then its driver
 * inflates it back down to augur's target: never another controller.
 * Mutation tried: balloon_foreign() without the reboot rule: fails (the
 * balloon at the maximum for two ticks yields). */
static void
test_controller_reboot (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        n_yield_logs = 0;
        settle (fx, g);
        /* booting: no stats, no balloon driver (a target augur sets
         * meanwhile lands only when the driver inflates) */
        augur_fake_guest_set_stale (g, TRUE);
        augur_fake_guest_set_balloon_latency (g, 600000);
        augur_fake_guest_set_balloon (g, 512 * MIB);
        run (fx, 3);
        augur_fake_guest_set_stale (g, FALSE);
        augur_fake_guest_move_balloon (g, 500 * MIB);
        run (fx, 1);
        augur_fake_guest_move_balloon (g, 470 * MIB);
        run (fx, 1);
        /* landed on QEMU's target: augur's newest (it may have shrunk the
         * rebooted guest meanwhile) */
        augur_fake_guest_set_balloon (g, (double) augur_fake_last (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm")->value);
        run (fx, 4);
        {
                g_autoptr(GArray) rows = rows_of (fx, "vm");

                for (guint i = 0; i < rows->len; i++) {
                        const AugurDecisionRow *x = &g_array_index (rows, AugurDecisionRow, i);

                        g_test_message ("%.0f -> %.0f %s %s %s", x->mem_alloc_kib, x->mem_target_kib, x->mem_action,
                                        x->mem_veto, x->note);
                }
        }
        g_assert_cmpuint (count_veto (fx, "vm", 0, "other-controller"), ==, 0);
        g_assert_cmpuint (n_yield_logs, ==, 0);
}

/* ---- failures of the hypervisor ---- */

/* A guest that vanished between the stats call and the actuation is not
 * acted on (its row recommends), and the next tick goes on; a lost
 * connection fails the stats call with LOST (daemon.c reconnects on it).
 * Mutation tried: apply_vm() treating a failed lookup as a guest (acting
 * on NULL): crashes. */
static void
test_failures (Fx *fx, gconstpointer data)
{
        AugurFakeGuest *g = add_full (fx, "vm");
        g_autoptr(GArray) samples = NULL;
        g_autoptr(GError) error = NULL;

        augur_fake_guest_set_balloon (g, 256 * MIB);
        forecast (fx, "vm", 450 * MIB, 0.1);
        augur_fake_fail (fx->fake, AUGUR_FAKE_CALL_LOOKUP, "vm", AUGUR_HV_ERROR_NO_GUEST, -1);
        run (fx, 3);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL), ==, 0);
        g_assert_cmpstr (last_row (fx, "vm").mem_action, ==, "recommend-grow");
        augur_fake_clear_failures (fx->fake);
        run (fx, 1);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm"), ==, 1);

        /* a refused actuation: the row says failed, with the reason */
        augur_fake_guest_set_balloon (g, 256 * MIB);
        augur_fake_fail (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, "vm", AUGUR_HV_ERROR_FAILED, 1);
        run (fx, 1);
        g_assert_cmpstr (last_row (fx, "vm").mem_action, ==, "failed");
        g_assert_nonnull (strstr (last_row (fx, "vm").note, "injected"));

        augur_fake_set_down (fx->fake, TRUE);
        g_assert_false (augur_hv_is_alive (fx->hv));
        g_assert_false (augur_hv_guests_with_stats (fx->hv, NULL, NULL, &samples, &error));
        g_assert_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        /* the loop warns about what it handles (a failed actuation) */
        g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        g_log_set_writer_func (log_writer, NULL, NULL);

#define ADD(path, data, fn) g_test_add (path, Fx, data, fx_setup, fn, fx_teardown)
        ADD ("/resize/mode/act", GINT_TO_POINTER (AUGUR_MODE_ACT), test_mode);
        ADD ("/resize/mode/recommend", GINT_TO_POINTER (AUGUR_MODE_RECOMMEND), test_mode);
        ADD ("/resize/mode/observe", GINT_TO_POINTER (AUGUR_MODE_OBSERVE), test_mode);
        ADD ("/resize/balloon-owner", NULL, test_balloon_owner);
        ADD ("/resize/stale/frozen", NULL, test_stale_frozen);
        ADD ("/resize/stale/missing", NULL, test_stale_missing);
        ADD ("/resize/vcpu/agent-guard", NULL, test_agent_guard);
        ADD ("/resize/arbitration/notes", NULL, test_arbitration);
        ADD ("/resize/arbitration/stale", NULL, test_arbitration_stale);
        ADD ("/resize/latency/measured", NULL, test_latency);
        ADD ("/resize/latency/short", NULL, test_latency_short);
        ADD ("/resize/metadata/reload", NULL, test_metadata_reload);
        ADD ("/resize/guard/cushion", NULL, test_guard_cushion);
        ADD ("/resize/guard/host-plan/none", GINT_TO_POINTER (PLAN_NONE), test_guard_host_plan);
        ADD ("/resize/guard/host-plan/calibrated", GINT_TO_POINTER (PLAN_CALIBRATED), test_guard_host_plan);
        ADD ("/resize/guard/host-plan/warming", GINT_TO_POINTER (PLAN_WARMING), test_guard_host_plan);
        ADD ("/resize/guard/host-plan/stale", GINT_TO_POINTER (PLAN_STALE), test_guard_host_plan);
        ADD ("/resize/host-plan/run", NULL, test_host_plan_run);
        ADD ("/resize/host-plan/tick", NULL, test_host_plan_tick);
        ADD ("/resize/guard/oom-kill", NULL, test_guard_oom);
        ADD ("/resize/guard/replay-oom", NULL, test_guard_replay_oom);
        ADD ("/resize/failures", NULL, test_failures);
        ADD ("/resize/controller/setmem", NULL, test_controller_setmem);
        ADD ("/resize/controller/own-moves", NULL, test_controller_own_moves);
        ADD ("/resize/controller/squeeze", NULL, test_controller_squeeze);
        ADD ("/resize/arbitration/landing", NULL, test_arbitration_landing);
        ADD ("/resize/arbitration/landed-short", NULL, test_arbitration_landed_short);
        ADD ("/resize/controller/landing", NULL, test_controller_landing);
        ADD ("/resize/controller/held-budget", NULL, test_controller_held_budget);
        ADD ("/resize/controller/autodeflate", NULL, test_controller_autodeflate);
        ADD ("/resize/controller/reboot", NULL, test_controller_reboot);
#undef ADD
        return g_test_run ();
}
