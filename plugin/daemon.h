/* daemon.h — augurd's app struct and its tick.
 *
 * One AugurDaemon owns everything long-lived: the config, the hypervisor
 * connection (hv.h; libvirt for every URI augurd takes today) and its
 * events, the store and the tick timer.  It is
 * passed around explicitly; there are no globals.
 *
 * THE TICK (every config->tick_s seconds; oomd-manager's order)
 *   1. reconnect if the connection was lost (the close callback only
 *      records the fact; the tick does the work)
 *   2. collect: ONE stats call through the hypervisor table
 *      (augur_hv_guests_with_stats(); libvirt: virConnectGetAllDomainStats,
 *      NOWAIT); with [guests] include/exclude, the running guests listed
 *      and only the watched ones' stats read (guests.h)
 *   3. host: /proc/meminfo, /proc/loadavg, /proc/pressure/<*>
 *   4. store: one SQLite transaction for all of it
 *   5. forecast → plan → arbitrate → actuate → audit (resize.c), unless
 *      the VM is in observe mode
 *   6. housekeeping: retention once an hour; start a retraining run in a
 *      worker thread when [retrain] interval has passed (retrain.h; the
 *      tick never waits for it, the result arrives on the main loop), and
 *      the host's 4-hour view every [host] plan_interval (host-plan.h, the
 *      same way)
 *
 * THE LOCAL API (api.h)
 *   augurd serves status, domains, notify and reload on its socket through
 *   the AugurApiOps in daemon.c.  Answers come from memory (the last stored
 *   tick), never from a libvirt call, so a client cannot stall the loop.
 *   A hook notification is answered at once; what it triggers (recording
 *   the event, an early tick after "started") runs after the reply,
 *   because libvirtd is waiting for the hook and the hook for the reply:
 *   calling libvirt before replying could wait on the very domain whose
 *   start is in progress.
 *
 * FAILURE MODES
 *   libvirtd down at start or mid-run: logged once, ticks keep running
 *   without domain samples, reconnect is tried every tick with backoff.
 *   Store write fails (disk full, locked): logged once per streak, the tick
 *   is dropped whole; nothing already stored is touched.
 *   Disk full at start (the store cannot be opened: SQLITE_FULL while
 *   creating, migrating or recovering): augurd starts anyway, says so
 *   once, and every tick first tries to open the store again; until it
 *   opens the tick is dropped whole (no libvirt connection, no sample, no
 *   action), the API answers (status "db_open": false).  Any other store
 *   error at start (not a database, a newer schema, no permission) is a
 *   failed start.
 */
#pragma once

#include <glib.h>

#include "api.h"
#include "augur-config.h"
#include "forecaster.h"
#include "activity.h"
#include "guests.h"
#include "hv.h"
#include "metrics.h"
#include "resize.h"
#include "retrain.h"
#include "host-plan.h"
#include "store.h"

typedef struct AugurDaemon AugurDaemon;

struct AugurDaemon {
        AugurConfig *config;          /* owned; replaced whole on reload      */
        char *config_path;            /* file to reload on SIGHUP, or NULL    */
        AugurConfig *cmdline;         /* owned: options given on the command  */
        guint32 cmdline_set;          /* bitmask of options given (main.c)    */
        GMainLoop *loop;
        AugurHv *hv;                  /* the hypervisor, NULL = not connected */
        gboolean hv_lost;             /* set by the close callback            */
        AugurStore *store;
        AugurResize *resize;          /* plan → actuate → audit stages        */
        AugurActivity *activity;      /* in-guest activity channels           */
        AugurForecaster *forecaster;  /* forecast stage (model + baselines)   */
        guint tick_source;
        gint64 tick_next_us;          /* the tick grid's next point, monotonic */
        gint64 ticks;                 /* ticks run since start                */
        gint64 ticks_stored;
        gint64 next_connect_us;       /* monotonic time of next reconnect try */
        double connect_backoff_s;
        gboolean warned_connect;      /* warn once per outage                 */
        gboolean warned_store;        /* warn once per store failure streak   */
        gboolean warned_store_open;   /* store not open: warned once          */
        gint64 last_retention_us;
        int exit_code;
        AugurApi *api;                /* local API, NULL when not serving     */
        gboolean (*reload) (AugurDaemon *d, GError **error);
                                      /* re-read the config (main.c); the
                                       * API's reload and SIGHUP both use it */
        gint64 started_us;            /* monotonic time of augur_daemon_start */
        gint64 last_tick_ms;          /* wall time of the last stored tick,
                                       * -1 before the first                  */
        GArray *last_samples;         /* AugurDomainSample of that tick, owned */
        gint64 n_notify;              /* hook notifications received          */
        gint64 last_notify_ms;        /* wall time of the last one, -1 = none */
        char *last_notify_op;         /* its op, sub-op and domain name       */
        char *last_notify_sub;
        char *last_notify_domain;
        guint early_tick_source;      /* pending tick after a "started" hook  */
        AugurMetrics *metrics;        /* Prometheus registry, always there;
                                       * served when [metrics] port > 0      */
        AugurRetrain *retrain;        /* periodic retraining (retrain.h), set
                                       * once the store is open               */
        AugurHostPlan *host_plan;     /* the host's 4-hour view for the
                                       * cushion (host-plan.h), set once the
                                       * store is open                       */
        AugurGuests *guests;          /* [guests] include/exclude (guests.h)  */
        char *excluded_json;          /* last written to the store's meta     */
        /* Tests: open the hypervisor with this instead of augur_hv_open()
         * of config->uri (tests/test-guests.c opens the fake); NULL = by URI. */
        AugurHv *(*open_hv) (const AugurHvCallbacks *cb, gpointer cb_data, gpointer ctx);
        gpointer open_hv_ctx;
};

AugurDaemon *augur_daemon_new (AugurConfig *config);
void augur_daemon_free (AugurDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurDaemon, augur_daemon_free)

/* Open the store and start the tick timer.  libvirt may be unreachable:
 * that is not fatal (the tick reconnects), nor is a full disk (see
 * FAILURE MODES).  Any other unusable store is. */
gboolean augur_daemon_start (AugurDaemon *d, GError **error);

/* Run one tick now (tests and the timer). */
void augur_daemon_tick (AugurDaemon *d);

/* Apply a new config (SIGHUP); the tick period is re-armed if it changed. */
void augur_daemon_apply_config (AugurDaemon *d, AugurConfig *config);
