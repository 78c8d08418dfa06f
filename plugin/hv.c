/* hv.c — the hypervisor table's entry points: check the arguments, then
 * dispatch to the backend (see hv.h).  No backend code here. */
#include "config.h"

#include "hv.h"

G_DEFINE_QUARK (augur-hv-error-quark, augur_hv_error)

/* augurd's backends, in the order they are asked whether they take a URI.
 * libvirt takes every URI, so it stays last. */
static const AugurHvOps *const backends[] = {
        &augur_hv_pve_ops,
        &augur_hv_libvirt_ops,
};

struct AugurHv {
        const AugurHvOps *ops;
        gpointer priv;                  /* the backend's                      */
};

struct AugurHvGuest {
        gint ref;                       /* atomic                             */
        const AugurHvOps *ops;
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        int id;                         /* the backend's run id, -1 = none    */
        gpointer priv;                  /* the backend's                      */
};

void
augur_hv_devices_clear (AugurHvDevices *d)
{
        g_clear_pointer (&d->activity_socket, g_free);
}

gboolean
augur_hv_init (GError **error)
{
        for (gsize i = 0; i < G_N_ELEMENTS (backends); i++)
                if (backends[i]->init && !backends[i]->init (error))
                        return FALSE;
        return TRUE;
}

AugurHv *
augur_hv_open (const char *uri, const AugurHvOptions *options, const AugurHvCallbacks *cb,
               gpointer user_data, GError **error)
{
        g_return_val_if_fail (uri != NULL && options != NULL && cb != NULL, NULL);

        for (gsize i = 0; i < G_N_ELEMENTS (backends); i++)
                if (backends[i]->accepts (uri))
                        return backends[i]->open (uri, options, cb, user_data, error);
        /* Defensive: libvirt, last, takes every URI. */
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "cannot connect to %s: no backend for it", uri);
        return NULL;
}

AugurHv *
augur_hv_new (const AugurHvOps *ops, gpointer priv)
{
        AugurHv *hv = g_new0 (AugurHv, 1);

        hv->ops = ops;
        hv->priv = priv;
        return hv;
}

gpointer
augur_hv_get_priv (AugurHv *hv)
{
        return hv->priv;
}

const char *
augur_hv_backend_name (const AugurHv *hv)
{
        return hv->ops->name;
}

void
augur_hv_close (AugurHv *hv)
{
        if (!hv)
                return;
        hv->ops->close (hv);
        g_free (hv);
}

gboolean
augur_hv_is_alive (AugurHv *hv)
{
        g_return_val_if_fail (hv != NULL, FALSE);
        return hv->ops->is_alive (hv);
}

gboolean
augur_hv_guests_with_stats (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data, GArray **ret_samples,
                            GError **error)
{
        g_return_val_if_fail (hv != NULL && ret_samples != NULL, FALSE);
        return hv->ops->guests_with_stats (hv, keep, keep_data, ret_samples, error);
}

GPtrArray *
augur_hv_list_guests (AugurHv *hv, GError **error)
{
        g_return_val_if_fail (hv != NULL, NULL);
        return hv->ops->list_guests (hv, error);
}

AugurHvGuest *
augur_hv_lookup_guest (AugurHv *hv, const char *uuid, GError **error)
{
        g_return_val_if_fail (hv != NULL && uuid != NULL, NULL);
        return hv->ops->lookup_guest (hv, uuid, error);
}

AugurHvGuest *
augur_hv_guest_new (const AugurHvOps *ops, const char *uuid, const char *name, int id, gpointer priv)
{
        AugurHvGuest *g = g_new0 (AugurHvGuest, 1);

        g->ref = 1;
        g->ops = ops;
        g_strlcpy (g->uuid, uuid, sizeof g->uuid);
        g->name = g_strdup (name);
        g->id = id;
        g->priv = priv;
        return g;
}

gpointer
augur_hv_guest_get_priv (AugurHvGuest *g)
{
        return g->priv;
}

AugurHvGuest *
augur_hv_guest_ref (AugurHvGuest *g)
{
        g_return_val_if_fail (g != NULL, NULL);
        g_atomic_int_inc (&g->ref);
        return g;
}

void
augur_hv_guest_unref (AugurHvGuest *g)
{
        if (!g || !g_atomic_int_dec_and_test (&g->ref))
                return;
        g->ops->guest_free (g->priv);
        g_free (g->name);
        g_free (g);
}

const char *
augur_hv_guest_get_uuid (const AugurHvGuest *g)
{
        return g->uuid;
}

const char *
augur_hv_guest_get_name (const AugurHvGuest *g)
{
        return g->name;
}

int
augur_hv_guest_get_id (const AugurHvGuest *g)
{
        return g->id;
}

char *
augur_hv_guest_read_metadata (AugurHvGuest *g, const char *nsuri, GError **error)
{
        g_return_val_if_fail (g != NULL && nsuri != NULL, NULL);
        return g->ops->read_metadata (g, nsuri, error);
}

gboolean
augur_hv_guest_write_metadata (AugurHvGuest *g, const char *nsuri, const char *xml, GError **error)
{
        g_return_val_if_fail (g != NULL && nsuri != NULL && xml != NULL, FALSE);
        if (!g->ops->write_metadata) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "writing metadata is not supported by the %s backend", g->ops->name);
                return FALSE;
        }
        return g->ops->write_metadata (g, nsuri, xml, error);
}

gboolean
augur_hv_guest_read_devices (AugurHvGuest *g, AugurHvDevices *ret, GError **error)
{
        g_return_val_if_fail (g != NULL && ret != NULL, FALSE);
        *ret = (AugurHvDevices) { 0 };
        return g->ops->read_devices (g, ret, error);
}

gboolean
augur_hv_guest_set_stats_period (AugurHvGuest *g, int period_s, GError **error)
{
        g_return_val_if_fail (g != NULL, FALSE);
        return g->ops->set_stats_period (g, period_s, error);
}

gboolean
augur_hv_guest_set_agent_timeout (AugurHvGuest *g, int timeout_s, GError **error)
{
        g_return_val_if_fail (g != NULL, FALSE);
        return g->ops->set_agent_timeout (g, timeout_s, error);
}

void
augur_hv_guest_probe_vcpus (AugurHvGuest *g, AugurVcpuCaps *ret)
{
        g_return_if_fail (g != NULL && ret != NULL);
        g->ops->probe_vcpus (g, ret);
}

gboolean
augur_hv_guest_set_balloon (AugurHvGuest *g, guint64 target_kib, GError **error)
{
        g_return_val_if_fail (g != NULL, FALSE);
        return g->ops->set_balloon (g, target_kib, error);
}

gboolean
augur_hv_guest_set_vcpus (AugurHvGuest *g, int n, AugurHvVcpuMethod method, GError **error)
{
        g_return_val_if_fail (g != NULL, FALSE);
        return g->ops->set_vcpus (g, n, method, error);
}

gboolean
augur_hv_guest_agent_users (AugurHvGuest *g, gint64 *ret_users, GError **error)
{
        g_return_val_if_fail (g != NULL && ret_users != NULL, FALSE);
        return g->ops->agent_users (g, ret_users, error);
}

static gboolean
unsupported (AugurHvGuest *g, const char *what, GError **error)
{
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED,
                     "guest %s: the %s backend cannot %s", g->name, g->ops->name, what);
        return FALSE;
}

gboolean
augur_hv_guest_get_block_iotune (AugurHvGuest *g, const char *disk, AugurBlockIoTune *ret, GError **error)
{
        g_return_val_if_fail (g != NULL && disk != NULL && ret != NULL, FALSE);
        if (!g->ops->get_block_iotune)
                return unsupported (g, "read disk I/O limits", error);
        return g->ops->get_block_iotune (g, disk, ret, error);
}

gboolean
augur_hv_guest_set_block_iotune (AugurHvGuest *g, const char *disk, const AugurBlockIoTune *t, GError **error)
{
        g_return_val_if_fail (g != NULL && disk != NULL && t != NULL, FALSE);
        if (!g->ops->set_block_iotune)
                return unsupported (g, "set disk I/O limits", error);
        return g->ops->set_block_iotune (g, disk, t, error);
}

gboolean
augur_hv_guest_get_iface_bandwidth (AugurHvGuest *g, const char *iface, AugurIfaceBandwidth *ret, GError **error)
{
        g_return_val_if_fail (g != NULL && iface != NULL && ret != NULL, FALSE);
        if (!g->ops->get_iface_bandwidth)
                return unsupported (g, "read interface bandwidth limits", error);
        return g->ops->get_iface_bandwidth (g, iface, ret, error);
}

gboolean
augur_hv_guest_set_iface_bandwidth (AugurHvGuest *g, const char *iface, const AugurIfaceBandwidth *b,
                                    GError **error)
{
        g_return_val_if_fail (g != NULL && iface != NULL && b != NULL, FALSE);
        if (!g->ops->set_iface_bandwidth)
                return unsupported (g, "set interface bandwidth limits", error);
        return g->ops->set_iface_bandwidth (g, iface, b, error);
}

gboolean
augur_hv_guest_get_cpu_shares (AugurHvGuest *g, guint64 *ret_shares, GError **error)
{
        g_return_val_if_fail (g != NULL && ret_shares != NULL, FALSE);
        if (!g->ops->get_cpu_shares)
                return unsupported (g, "read the CPU weight", error);
        return g->ops->get_cpu_shares (g, ret_shares, error);
}

gboolean
augur_hv_guest_set_cpu_shares (AugurHvGuest *g, guint64 shares, GError **error)
{
        g_return_val_if_fail (g != NULL && shares > 0, FALSE);
        if (!g->ops->set_cpu_shares)
                return unsupported (g, "set the CPU weight", error);
        return g->ops->set_cpu_shares (g, shares, error);
}
