/* hv-libvirt.c — the libvirt backend of the hypervisor table (hv.h): the
 * only file of augurd that calls libvirt.
 *
 * What it is: each entry of the table as one or a few libvirt calls, and
 * libvirt's errors turned into AUGUR_HV_ERROR once, here (virsh's
 * vshReportError: read virGetLastError(), then virResetLastError()).
 * What it is not: policy.  Which vCPU method to use, when to probe, what a
 * failure means for the tick: actuate.c, resize.c and daemon.c decide.
 *
 * THE CONNECTION.  virConnectOpen(uri), keepalive (remote drivers only: a
 * local driver refuses, which is fine), a close callback that only
 * records the fact (virsh.c does the same; the tick reconnects), and four
 * domain events, each turned into an AugurHvEvent with libvirt's own
 * event numbers kept for the record.  The events run on libvirt's default
 * event loop, which since libvirt 6.x is GLib's main context: init
 * registers it, once, before the first connection (main()).
 *
 * GUEST HANDLES wrap a virDomainPtr (one reference, freed with the
 * handle).  Its UUID, name and id are read from the cached domain object
 * when the handle is made: no RPC, so a domain that vanished since it was
 * listed cannot fail there.
 *
 * THE STATS CALL.  One virConnectGetAllDomainStats (AUGUR_LIBVIRT_STATS of
 * running domains, NOWAIT: a domain whose monitor is busy reports what it
 * has instead of stalling the tick), each record parsed by collect.c.
 * With [guests] include/exclude (a keep function), the running domains
 * are listed first and virDomainListGetStats reads the kept ones only,
 * so libvirt never asks an excluded guest's QEMU for anything.
 */
#include "config.h"

#include "hv.h"
#include "activity.h"
#include "collect.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

/* The stats groups of the one per-tick call, and its flags. */
#define AUGUR_LIBVIRT_STATS (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | \
                             VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU | \
                             VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK)
#define AUGUR_LIBVIRT_STATS_FLAGS (VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | \
                                   VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)

/* The events augurd follows, in cb_ids order. */
enum {
        EV_LIFECYCLE,
        EV_BALLOON,
        EV_AGENT,
        EV_METADATA,
        EV_N,
};

typedef struct {
        AugurHv *hv;                    /* what the events are delivered as   */
        virConnectPtr conn;
        gboolean closed;                /* the close callback ran             */
        int cb_ids[EV_N];               /* event callback ids, -1 = none      */
        AugurHvCallbacks cb;
        gpointer user_data;
} Lv;

/* The state numbers of the stats record (units.h) are libvirt's. */
G_STATIC_ASSERT (AUGUR_GUEST_STATE_NOSTATE == (int) VIR_DOMAIN_NOSTATE);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_RUNNING == (int) VIR_DOMAIN_RUNNING);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_BLOCKED == (int) VIR_DOMAIN_BLOCKED);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_PAUSED == (int) VIR_DOMAIN_PAUSED);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_SHUTDOWN == (int) VIR_DOMAIN_SHUTDOWN);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_SHUTOFF == (int) VIR_DOMAIN_SHUTOFF);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_CRASHED == (int) VIR_DOMAIN_CRASHED);
G_STATIC_ASSERT (AUGUR_GUEST_STATE_PMSUSPENDED == (int) VIR_DOMAIN_PMSUSPENDED);

/* libvirt's last error as an AUGUR_HV_ERROR, then reset.  A dead
 * connection is LOST; a domain that is not there is NO_GUEST; what the
 * driver cannot do at all (<bandwidth> on a session-mode daemon: "Network
 * bandwidth tuning is not available in session mode") is UNSUPPORTED. */
static void
set_error (GError **error, const char *what)
{
        virErrorPtr e = virGetLastError ();
        AugurHvError code = AUGUR_HV_ERROR_FAILED;

        if (e && (e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC ||
                  e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_INVALID_CONN ||
                  e->code == VIR_ERR_AUTH_FAILED))
                code = AUGUR_HV_ERROR_LOST;
        else if (e && e->code == VIR_ERR_NO_DOMAIN)
                code = AUGUR_HV_ERROR_NO_GUEST;
        else if (e && (e->code == VIR_ERR_OPERATION_UNSUPPORTED || e->code == VIR_ERR_NO_SUPPORT))
                code = AUGUR_HV_ERROR_UNSUPPORTED;  /* e.g. <bandwidth> on a session daemon */
        g_set_error (error, AUGUR_HV_ERROR, code, "%s: %s", what,
                     e && e->message ? e->message : "unknown libvirt error");
        virResetLastError ();
}

static virDomainPtr
dom_of (AugurHvGuest *g)
{
        return augur_hv_guest_get_priv (g);
}

static void
guest_free (gpointer priv)
{
        virDomainFree (priv);
}

/* A handle for dom, taking its reference; NULL (dom freed) when libvirt
 * cannot say which domain it is (defensive: these read the cached
 * object). */
static AugurHvGuest *
guest_wrap (virDomainPtr dom)
{
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *name = virDomainGetName (dom);

        if (!name || virDomainGetUUIDString (dom, uuid) < 0) {
                virResetLastError ();
                virDomainFree (dom);
                return NULL;
        }
        return augur_hv_guest_new (&augur_hv_libvirt_ops, uuid, name, (int) virDomainGetID (dom), dom);
}

/* ---- events ---- */

static void
deliver (Lv *lv, virDomainPtr dom, const AugurHvEvent *e)
{
        g_autoptr(AugurHvGuest) g = NULL;

        if (virDomainRef (dom) < 0) {
                virResetLastError ();
                return;
        }
        g = guest_wrap (dom);
        if (g && lv->cb.event)
                lv->cb.event (lv->hv, g, e, lv->user_data);
        virResetLastError ();
}

static int
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_LIFECYCLE, .code = event, .detail = detail };

        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED: e.lifecycle = AUGUR_HV_LIFECYCLE_STARTED; break;
        case VIR_DOMAIN_EVENT_RESUMED: e.lifecycle = AUGUR_HV_LIFECYCLE_RESUMED; break;
        case VIR_DOMAIN_EVENT_STOPPED: e.lifecycle = AUGUR_HV_LIFECYCLE_STOPPED; break;
        default: e.lifecycle = AUGUR_HV_LIFECYCLE_OTHER; break;
        }
        deliver (opaque, dom, &e);
        return 0;
}

static int
on_balloon_change (virConnectPtr conn, virDomainPtr dom, unsigned long long actual_kib, void *opaque)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_BALLOON, .balloon_kib = actual_kib };

        deliver (opaque, dom, &e);
        return 0;
}

static int
on_agent_lifecycle (virConnectPtr conn, virDomainPtr dom, int state, int reason, void *opaque)
{
        AugurHvEvent e = {
                .kind = AUGUR_HV_EVENT_AGENT, .code = state, .detail = reason,
                .agent_connected = state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED,
        };

        deliver (opaque, dom, &e);
        return 0;
}

static int
on_metadata_change (virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_METADATA, .code = type, .nsuri = nsuri };

        deliver (opaque, dom, &e);
        return 0;
}

static void
on_close (virConnectPtr conn, int reason, void *opaque)
{
        Lv *lv = opaque;

        lv->closed = TRUE;
        g_debug ("libvirt connection closed (reason %d)", reason);
        if (lv->cb.closed)
                lv->cb.closed (lv->hv, lv->user_data);
}

/* ---- the table ---- */

/* libvirt prints every error to stderr by default; augurd reports the
 * ones it handles itself, once, through GLib logging. */
static void
quiet_errors (void *opaque, virErrorPtr err)
{
}

static gboolean
lv_init (GError **error)
{
        virSetErrorFunc (NULL, quiet_errors);
        if (virEventRegisterDefaultImpl () < 0) {
                virResetLastError ();
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "cannot register libvirt's event loop");
                return FALSE;
        }
        return TRUE;
}

static gboolean
lv_accepts (const char *uri)
{
        return TRUE;
}

static AugurHv *
lv_open (const char *uri, const AugurHvOptions *options, const AugurHvCallbacks *cb,
         gpointer user_data, GError **error)
{
        static const struct {
                int id;
                virConnectDomainEventGenericCallback cb;
        } events[EV_N] = {
                [EV_LIFECYCLE] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle) },
                [EV_BALLOON] = { VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, VIR_DOMAIN_EVENT_CALLBACK (on_balloon_change) },
                [EV_AGENT] = { VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK (on_agent_lifecycle) },
                [EV_METADATA] = { VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK (on_metadata_change) },
        };
        virConnectPtr conn = virConnectOpen (uri);
        Lv *lv;

        if (!conn) {
                virErrorPtr e = virGetLastError ();

                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST, "cannot connect to %s: %s", uri,
                             e && e->message ? e->message : "unknown error");
                virResetLastError ();
                return NULL;
        }
        if (virConnectSetKeepAlive (conn, options->keepalive_interval_s, options->keepalive_count) < 0) {
                /* Local (non-remote) drivers don't do keepalive: fine. */
                virResetLastError ();
        }
        lv = g_new0 (Lv, 1);
        lv->conn = conn;
        lv->cb = *cb;
        lv->user_data = user_data;
        lv->hv = augur_hv_new (&augur_hv_libvirt_ops, lv);
        virConnectRegisterCloseCallback (conn, on_close, lv, NULL);
        for (gsize i = 0; i < EV_N; i++) {
                lv->cb_ids[i] = virConnectDomainEventRegisterAny (conn, NULL, events[i].id, events[i].cb, lv, NULL);
                if (lv->cb_ids[i] < 0) {
                        g_warning ("registering domain event %zu on %s failed, ignoring", i, uri);
                        virResetLastError ();
                }
        }
        return lv->hv;
}

static void
lv_close (AugurHv *hv)
{
        Lv *lv = augur_hv_get_priv (hv);

        for (gsize i = 0; i < EV_N; i++)
                if (lv->cb_ids[i] >= 0)
                        virConnectDomainEventDeregisterAny (lv->conn, lv->cb_ids[i]);
        virConnectUnregisterCloseCallback (lv->conn, on_close);
        virConnectClose (lv->conn);
        virResetLastError ();
        g_free (lv);
}

static gboolean
lv_is_alive (AugurHv *hv)
{
        Lv *lv = augur_hv_get_priv (hv);
        int alive = virConnectIsAlive (lv->conn);

        virResetLastError ();
        return !lv->closed && alive == 1;
}

/* Stats records to samples (collect.c parses each), freeing them.  A
 * domain that stopped between a listing and virDomainListGetStats comes
 * back shut off, with nothing else: it is left out, as the RUNNING flag
 * of the one-call path leaves it out. */
static GArray *
records_to_samples (virDomainStatsRecordPtr *records, int n)
{
        GArray *out = augur_collect_sample_array_new (n);

        for (int i = 0; i < n; i++) {
                AugurDomainSample s = { 0 };
                char uuid[VIR_UUID_STRING_BUFLEN];
                const char *name;
                guint rejected = 0;

                /* These read the record's cached domain object: no RPC, so a
                 * domain that vanished after the stats call cannot fail here. */
                name = virDomainGetName (records[i]->dom);
                if (virDomainGetUUIDString (records[i]->dom, uuid) < 0 || !name) {
                        virResetLastError ();
                        continue;
                }
                g_strlcpy (s.uuid, uuid, sizeof s.uuid);
                s.name = g_strdup (name);
                s.id = (int) virDomainGetID (records[i]->dom);
                augur_collect_parse_params (records[i]->params, records[i]->nparams, &s, &rejected);
                if (rejected)
                        g_debug ("domain %s: %u malformed stats fields dropped", name, rejected);
                if (augur_sample_has (&s, AUGUR_STAT_STATE) && s.v[AUGUR_STAT_STATE] == AUGUR_GUEST_STATE_SHUTOFF) {
                        augur_domain_sample_clear (&s);
                        continue;
                }
                g_array_append_val (out, s);
        }
        if (records)
                virDomainStatsRecordListFree (records);
        return out;
}

static GPtrArray *lv_list_guests (AugurHv *hv, GError **error);

/* With a filter: list the running domains, ask keep about each, and read
 * the stats of the kept ones only (two calls per tick instead of one). */
static gboolean
stats_of_kept (Lv *lv, AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data, GArray **ret_samples,
               GError **error)
{
        g_autoptr(GPtrArray) guests = lv_list_guests (hv, error);
        g_autofree virDomainPtr *doms = NULL;
        virDomainStatsRecordPtr *records = NULL;
        guint n_kept = 0;
        int n;

        if (!guests)
                return FALSE;
        doms = g_new0 (virDomainPtr, guests->len + 1);         /* NULL-terminated */
        for (guint i = 0; i < guests->len; i++)
                if (keep (guests->pdata[i], keep_data))
                        doms[n_kept++] = dom_of (guests->pdata[i]);
        if (n_kept == 0) {
                *ret_samples = augur_collect_sample_array_new (0);
                return TRUE;
        }
        /* virDomainListGetStats takes no RUNNING filter: the list was of
         * running domains already. */
        n = virDomainListGetStats (doms, AUGUR_LIBVIRT_STATS, &records, VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
        if (n < 0) {
                set_error (error, "virDomainListGetStats");
                return FALSE;
        }
        *ret_samples = records_to_samples (records, n);
        return TRUE;
}

static gboolean
lv_guests_with_stats (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data, GArray **ret_samples,
                      GError **error)
{
        Lv *lv = augur_hv_get_priv (hv);
        virDomainStatsRecordPtr *records = NULL;
        int n;

        if (keep)
                return stats_of_kept (lv, hv, keep, keep_data, ret_samples, error);
        n = virConnectGetAllDomainStats (lv->conn, AUGUR_LIBVIRT_STATS, &records, AUGUR_LIBVIRT_STATS_FLAGS);
        if (n < 0) {
                set_error (error, "virConnectGetAllDomainStats");
                return FALSE;
        }
        *ret_samples = records_to_samples (records, n);
        return TRUE;
}

static GPtrArray *
lv_list_guests (AugurHv *hv, GError **error)
{
        Lv *lv = augur_hv_get_priv (hv);
        virDomainPtr *doms = NULL;
        GPtrArray *out;
        int n = virConnectListAllDomains (lv->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

        if (n < 0) {
                set_error (error, "virConnectListAllDomains");
                return NULL;
        }
        out = g_ptr_array_new_full (n, (GDestroyNotify) augur_hv_guest_unref);
        for (int i = 0; i < n; i++) {
                AugurHvGuest *g = guest_wrap (doms[i]);

                if (g)
                        g_ptr_array_add (out, g);
        }
        g_free (doms);
        return out;
}

static AugurHvGuest *
lv_lookup_guest (AugurHv *hv, const char *uuid, GError **error)
{
        Lv *lv = augur_hv_get_priv (hv);
        virDomainPtr dom = virDomainLookupByUUIDString (lv->conn, uuid);
        AugurHvGuest *g;

        if (!dom) {
                set_error (error, "virDomainLookupByUUIDString");
                return NULL;
        }
        g = guest_wrap (dom);
        if (!g)
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "domain %s: no name or UUID", uuid);
        return g;
}

static char *
lv_read_metadata (AugurHvGuest *g, const char *nsuri, GError **error)
{
        char *xml = virDomainGetMetadata (dom_of (g), VIR_DOMAIN_METADATA_ELEMENT, nsuri, VIR_DOMAIN_AFFECT_LIVE);
        virErrorPtr e;

        if (xml)
                return xml;
        e = virGetLastError ();
        if (e && e->code == VIR_ERR_NO_DOMAIN_METADATA) {
                virResetLastError ();
                return NULL;
        }
        set_error (error, "virDomainGetMetadata");
        return NULL;
}

/* <memballoon ... autodeflate='on'> in the live XML. */
static gboolean
xml_autodeflate (const char *xml)
{
        const char *mb = strstr (xml, "<memballoon"), *end;
        g_autofree char *tag = NULL;

        if (!mb || !(end = strchr (mb, '>')))
                return FALSE;
        tag = g_strndup (mb, end - mb);
        return strstr (tag, "autodeflate='on'") || strstr (tag, "autodeflate=\"on\"");
}

static gboolean
lv_read_devices (AugurHvGuest *g, AugurHvDevices *ret, GError **error)
{
        g_autofree char *xml = virDomainGetXMLDesc (dom_of (g), 0);
        g_autoptr(GError) local = NULL;
        char *path;

        if (!xml) {
                set_error (error, "virDomainGetXMLDesc");
                return FALSE;
        }
        path = augur_activity_channel_path_from_xml (xml, &local);
        if (local) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "domain XML: %s", local->message);
                return FALSE;
        }
        ret->balloon_autodeflate = xml_autodeflate (xml);
        ret->activity_socket = path;
        return TRUE;
}

static gboolean
lv_set_stats_period (AugurHvGuest *g, int period_s, GError **error)
{
        if (virDomainSetMemoryStatsPeriod (dom_of (g), period_s, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetMemoryStatsPeriod");
                return FALSE;
        }
        return TRUE;
}

static gboolean
lv_set_agent_timeout (AugurHvGuest *g, int timeout_s, GError **error)
{
        if (virDomainAgentSetResponseTimeout (dom_of (g), timeout_s, 0) < 0) {
                set_error (error, "virDomainAgentSetResponseTimeout");
                return FALSE;
        }
        return TRUE;
}

static void
lv_probe_vcpus (AugurHvGuest *g, AugurVcpuCaps *ret)
{
        virDomainPtr dom = dom_of (g);
        int n;

        ret->plugged = virDomainGetVcpusFlags (dom, VIR_DOMAIN_AFFECT_LIVE);
        ret->maximum = virDomainGetVcpusFlags (dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM);
        n = virDomainGetVcpusFlags (dom, VIR_DOMAIN_VCPU_GUEST);
        ret->agent = n > 0;
        ret->online = n > 0 ? n : -1;
        virResetLastError ();
}

static gboolean
lv_set_balloon (AugurHvGuest *g, guint64 target_kib, GError **error)
{
        if (virDomainSetMemoryFlags (dom_of (g), target_kib, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetMemoryFlags");
                return FALSE;
        }
        return TRUE;
}

/* <iotune> through virDomain{Get,Set}BlockIoTune, live.  The get asks
 * for the parameter count first, as virsh blkdeviotune does.  The limits
 * augur reads and sets: their typed parameters and AugurBlockIoTune
 * fields (every other parameter is left alone). */
static const struct {
        const char *field;
        gsize offset;
} iotune_params[] = {
        { VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, total_bytes_sec) },
        { VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, read_bytes_sec) },
        { VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, write_bytes_sec) },
        { VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, total_iops_sec) },
        { VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, read_iops_sec) },
        { VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC, G_STRUCT_OFFSET (AugurBlockIoTune, write_iops_sec) },
};

static gboolean
lv_get_block_iotune (AugurHvGuest *g, const char *disk, AugurBlockIoTune *ret, GError **error)
{
        virTypedParameterPtr params = NULL;
        int n = 0;
        AugurBlockIoTune t = { 0 };

        if (virDomainGetBlockIoTune (dom_of (g), disk, NULL, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainGetBlockIoTune");
                return FALSE;
        }
        params = g_new0 (virTypedParameter, MAX (n, 1));
        if (virDomainGetBlockIoTune (dom_of (g), disk, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainGetBlockIoTune");
                g_free (params);
                return FALSE;
        }
        for (int i = 0; i < n; i++) {
                unsigned long long v = params[i].type == VIR_TYPED_PARAM_ULLONG ? params[i].value.ul : 0;

                for (gsize j = 0; j < G_N_ELEMENTS (iotune_params); j++)
                        if (strcmp (params[i].field, iotune_params[j].field) == 0)
                                G_STRUCT_MEMBER (guint64, &t, iotune_params[j].offset) = v;
        }
        virTypedParamsClear (params, n);
        g_free (params);
        *ret = t;
        return TRUE;
}

static gboolean
lv_set_block_iotune (AugurHvGuest *g, const char *disk, const AugurBlockIoTune *t, GError **error)
{
        virTypedParameterPtr params = NULL;
        int n = 0, max = 0;
        gboolean ok = TRUE;

        for (gsize j = 0; ok && j < G_N_ELEMENTS (iotune_params); j++) {
                guint64 v = G_STRUCT_MEMBER (guint64, t, iotune_params[j].offset);

                if (v && virTypedParamsAddULLong (&params, &n, &max, iotune_params[j].field, v) < 0) {
                        set_error (error, "virTypedParamsAddULLong");
                        ok = FALSE;
                }
        }
        if (ok && n > 0 && virDomainSetBlockIoTune (dom_of (g), disk, params, n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetBlockIoTune");
                ok = FALSE;
        }
        virTypedParamsFree (params, n);
        return ok;
}

/* <bandwidth> through virDomain{Get,Set}InterfaceParameters, live.  The
 * get asks for the parameter count first, as virsh domiftune does; every
 * field comes back (inbound/outbound average, peak, burst, inbound floor),
 * 0 for what is unset. */
static gboolean
lv_get_iface_params (AugurHvGuest *g, const char *iface, virTypedParameterPtr *ret_params, int *ret_n,
                     GError **error)
{
        virTypedParameterPtr params = NULL;
        int n = 0;

        if (virDomainGetInterfaceParameters (dom_of (g), iface, NULL, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainGetInterfaceParameters");
                return FALSE;
        }
        params = g_new0 (virTypedParameter, MAX (n, 1));
        if (virDomainGetInterfaceParameters (dom_of (g), iface, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainGetInterfaceParameters");
                g_free (params);
                return FALSE;
        }
        *ret_params = params;
        *ret_n = n;
        return TRUE;
}

static guint64
iface_param (virTypedParameterPtr params, int n, const char *field)
{
        unsigned int v = 0;

        return virTypedParamsGetUInt (params, n, field, &v) == 1 ? v : 0;
}

static gboolean
lv_get_iface_bandwidth (AugurHvGuest *g, const char *iface, AugurIfaceBandwidth *ret, GError **error)
{
        virTypedParameterPtr params = NULL;
        int n = 0;

        if (!lv_get_iface_params (g, iface, &params, &n, error))
                return FALSE;
        ret->inbound_kib_s = iface_param (params, n, VIR_DOMAIN_BANDWIDTH_IN_AVERAGE);
        ret->outbound_kib_s = iface_param (params, n, VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE);
        virTypedParamsFree (params, n);
        return TRUE;
}

/* libvirt replaces a direction's whole rate (average, peak, burst, floor)
 * with what the call names, so the direction's other fields are read
 * first and sent back as they were. */
static gboolean
lv_set_iface_bandwidth (AugurHvGuest *g, const char *iface, const AugurIfaceBandwidth *b, GError **error)
{
        static const struct {
                const char *average, *keep[3];
        } dir[2] = {
                { VIR_DOMAIN_BANDWIDTH_IN_AVERAGE,
                  { VIR_DOMAIN_BANDWIDTH_IN_PEAK, VIR_DOMAIN_BANDWIDTH_IN_BURST, VIR_DOMAIN_BANDWIDTH_IN_FLOOR } },
                { VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE,
                  { VIR_DOMAIN_BANDWIDTH_OUT_PEAK, VIR_DOMAIN_BANDWIDTH_OUT_BURST, NULL } },
        };
        const guint64 want[2] = { b->inbound_kib_s, b->outbound_kib_s };
        virTypedParameterPtr cur = NULL, params = NULL;
        int ncur = 0, n = 0, max = 0;
        gboolean ok = TRUE;

        if (!lv_get_iface_params (g, iface, &cur, &ncur, error))
                return FALSE;
        for (int d = 0; d < 2 && ok; d++) {
                if (!want[d])
                        continue;
                if (want[d] > G_MAXUINT ||
                    virTypedParamsAddUInt (&params, &n, &max, dir[d].average, (unsigned int) want[d]) < 0) {
                        ok = FALSE;
                        break;
                }
                for (int k = 0; k < 3 && ok; k++) {
                        guint64 v = dir[d].keep[k] ? iface_param (cur, ncur, dir[d].keep[k]) : 0;

                        if (v && virTypedParamsAddUInt (&params, &n, &max, dir[d].keep[k], (unsigned int) v) < 0)
                                ok = FALSE;
                }
        }
        if (!ok)
                set_error (error, "virTypedParamsAddUInt");
        else if (n > 0 && virDomainSetInterfaceParameters (dom_of (g), iface, params, n,
                                                            VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetInterfaceParameters");
                ok = FALSE;
        }
        virTypedParamsFree (cur, ncur);
        virTypedParamsFree (params, n);
        return ok;
}

/* The CPU weight through virDomain{Get,Set}SchedulerParametersFlags,
 * live (virsh schedinfo --live).  The get asks for the parameter count
 * first (virDomainGetSchedulerType), as virsh does.  A host without the
 * cpu controller has no cpu_shares: UNSUPPORTED. */
static gboolean
lv_get_cpu_shares (AugurHvGuest *g, guint64 *ret_shares, GError **error)
{
        g_autofree char *type = NULL;
        virTypedParameterPtr params = NULL;
        unsigned long long v = 0;
        int n = 0, found;

        type = virDomainGetSchedulerType (dom_of (g), &n);
        if (!type) {
                set_error (error, "virDomainGetSchedulerType");
                return FALSE;
        }
        params = g_new0 (virTypedParameter, MAX (n, 1));
        if (n > 0 && virDomainGetSchedulerParametersFlags (dom_of (g), params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainGetSchedulerParametersFlags");
                g_free (params);
                return FALSE;
        }
        found = virTypedParamsGetULLong (params, n, VIR_DOMAIN_SCHEDULER_CPU_SHARES, &v);
        virTypedParamsClear (params, n);
        g_free (params);
        if (found != 1 || v == 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED,
                             "guest %s: libvirt reports no cpu_shares (no cpu controller for it on this host?)",
                             augur_hv_guest_get_name (g));
                return FALSE;
        }
        *ret_shares = v;
        return TRUE;
}

static gboolean
lv_set_cpu_shares (AugurHvGuest *g, guint64 shares, GError **error)
{
        virTypedParameterPtr params = NULL;
        int n = 0, max = 0;
        gboolean ok = TRUE;

        if (virTypedParamsAddULLong (&params, &n, &max, VIR_DOMAIN_SCHEDULER_CPU_SHARES, shares) < 0) {
                set_error (error, "virTypedParamsAddULLong");
                ok = FALSE;
        } else if (virDomainSetSchedulerParametersFlags (dom_of (g), params, n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetSchedulerParametersFlags");
                ok = FALSE;
        }
        virTypedParamsFree (params, n);
        return ok;
}

static gboolean
lv_set_vcpus (AugurHvGuest *g, int n, AugurHvVcpuMethod method, GError **error)
{
        if (method == AUGUR_HV_VCPUS_AGENT) {
                if (virDomainSetVcpusFlags (dom_of (g), n, VIR_DOMAIN_VCPU_GUEST) < 0) {
                        set_error (error, "virDomainSetVcpusFlags(GUEST)");
                        return FALSE;
                }
                return TRUE;
        }
        if (virDomainSetVcpusFlags (dom_of (g), n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                set_error (error, "virDomainSetVcpusFlags(LIVE)");
                return FALSE;
        }
        return TRUE;
}

static gboolean
lv_agent_users (AugurHvGuest *g, gint64 *ret_users, GError **error)
{
        virTypedParameterPtr params = NULL;
        unsigned int count = 0;
        int n = 0, found;

        if (virDomainGetGuestInfo (dom_of (g), VIR_DOMAIN_GUEST_INFO_USERS, &params, &n, 0) < 0) {
                set_error (error, "virDomainGetGuestInfo");
                return FALSE;
        }
        found = virTypedParamsGetUInt (params, n, "user.count", &count);
        virTypedParamsFree (params, n);
        if (found != 1) {
                virResetLastError ();
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "no user.count in the reply");
                return FALSE;
        }
        *ret_users = count;
        return TRUE;
}

const AugurHvOps augur_hv_libvirt_ops = {
        .name = "libvirt",
        .init = lv_init,
        .accepts = lv_accepts,
        .open = lv_open,
        .close = lv_close,
        .is_alive = lv_is_alive,
        .guests_with_stats = lv_guests_with_stats,
        .list_guests = lv_list_guests,
        .lookup_guest = lv_lookup_guest,
        .guest_free = guest_free,
        .read_metadata = lv_read_metadata,
        .read_devices = lv_read_devices,
        .set_stats_period = lv_set_stats_period,
        .set_agent_timeout = lv_set_agent_timeout,
        .probe_vcpus = lv_probe_vcpus,
        .set_balloon = lv_set_balloon,
        .set_vcpus = lv_set_vcpus,
        .agent_users = lv_agent_users,
        .get_block_iotune = lv_get_block_iotune,
        .set_block_iotune = lv_set_block_iotune,
        .get_iface_bandwidth = lv_get_iface_bandwidth,
        .set_iface_bandwidth = lv_set_iface_bandwidth,
        .get_cpu_shares = lv_get_cpu_shares,
        .set_cpu_shares = lv_set_cpu_shares,
};
