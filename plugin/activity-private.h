/* activity-private.h — the state the activity module's daemon files share
 * (activity.c, activity-channel.c): one ActDomain per running domain, and
 * the AugurActivity that holds them.  Nothing outside plugin/activity*.c
 * includes it. */
#pragma once

#include <gio/gio.h>

#include "activity.h"
#include "store-activity.h"

typedef enum {
        AGENT_UNKNOWN = 0,             /* never asked: try once              */
        AGENT_CONNECTED,               /* an event said so, or a poll worked */
        AGENT_ABSENT,                  /* not connected / unsupported        */
} AgentState;

typedef struct {
        gint ref;
        AugurActivity *act;            /* NULL once the AugurActivity is freed */
} Shared;

typedef struct {
        AugurActivitySource source;
        gint64 ts_ms;
        AugurActivityReport report;    /* agent rows: only users present     */
} PendingRow;

typedef struct {
        AugurActivity *act;
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        int libvirt_id;                /* the hypervisor's run id (hv.h)     */
        gboolean xml_read;             /* path is known for this libvirt_id  */
        AugurHvGuest *guest;           /* from the last listing (owned ref)  */
        gboolean seen;                 /* listed at the current sync         */
        gboolean gone;                 /* stopped: drop after the next flush */
        char *path;                    /* channel socket, NULL = no channel  */
        GSocket *sock;
        GSource *watch;                /* G_IO_IN on sock                    */
        GSource *throttle;             /* timer that re-creates watch        */
        gint64 next_connect_us;
        double backoff_s;
        gboolean warned_connect;
        AugurActivityReader *reader;
        GArray *pending;               /* PendingRow                         */
        guint64 queue_drops;           /* pending was full (counted as rate) */
        gint64 last_ts_ms[2];          /* per AugurActivitySource            */
        AugurActivityLatest latest;    /* newest channel report's values ... */
        gint64 latest_ms;              /* ... received then; -1 = none       */
        AugurActivityCounters flushed; /* counters already in activity_drops */
        AgentState agent;
        gint64 next_agent_us;
        gboolean agent_busy;
} ActDomain;

struct AugurActivity {
        AugurStore *store;             /* borrowed                           */
        GMainContext *ctx;             /* where our sources live             */
        GHashTable *doms;              /* uuid -> ActDomain (owned)          */
        Shared *shared;
        guint agent_inflight;
        gboolean warned_store;
        AugurHvKeepFunc keep;          /* [guests] filter, NULL = every guest */
        gpointer keep_data;
};

/* ---- activity-channel.c ---- */

/* Close the domain's socket (if open) and its sources; the reader forgets
 * its partial line.  The domain stays known. */
void augur_activity_channel_close (ActDomain *ad);
/* Connect to ad->path now (non-blocking; AF_UNIX completes or fails at
 * once) and watch it; on failure, schedule the next try (backoff). */
void augur_activity_channel_connect (ActDomain *ad);
/* The channel socket of a running domain.  Returns FALSE when its devices
 * could not be read (try again at the next sync); TRUE with *ret_path NULL
 * when the domain has no activity channel. */
gboolean augur_activity_channel_fetch_path (AugurHvGuest *g, const char *name, char **ret_path);
