/* actuate.c — see actuate.h. */
#include "config.h"

#include "actuate.h"

#include <libvirt/virterror.h>

G_DEFINE_QUARK (augur-actuate-error-quark, augur_actuate_error)

static gboolean
libvirt_error (GError **error, const char *what)
{
        virErrorPtr e = virGetLastError ();

        g_set_error (error, AUGUR_ACTUATE_ERROR, AUGUR_ACTUATE_ERROR_FAILED, "%s: %s", what,
                     e && e->message ? e->message : "unknown libvirt error");
        virResetLastError ();
        return FALSE;
}

void
augur_actuate_set_agent_timeout (virDomainPtr dom, int timeout_s)
{
        if (virDomainAgentSetResponseTimeout (dom, timeout_s, 0) < 0)
                virResetLastError ();
}

void
augur_actuate_probe_vcpus (virDomainPtr dom, AugurVcpuCaps *ret)
{
        int n;

        ret->plugged = virDomainGetVcpusFlags (dom, VIR_DOMAIN_AFFECT_LIVE);
        ret->maximum = virDomainGetVcpusFlags (dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM);
        n = virDomainGetVcpusFlags (dom, VIR_DOMAIN_VCPU_GUEST);
        ret->agent = n > 0;
        ret->online = n > 0 ? n : -1;
        virResetLastError ();
}

gboolean
augur_actuate_memory (virDomainPtr dom, guint64 target_kib, GError **error)
{
        if (virDomainSetMemoryFlags (dom, target_kib, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return libvirt_error (error, "virDomainSetMemoryFlags");
        return TRUE;
}

gboolean
augur_actuate_vcpus (virDomainPtr dom, int target, const AugurVcpuCaps *caps, GError **error)
{
        int online = caps->online > 0 ? caps->online : caps->plugged;

        if (target <= 0 || (caps->maximum > 0 && target > caps->maximum)) {
                g_set_error (error, AUGUR_ACTUATE_ERROR, AUGUR_ACTUATE_ERROR_FAILED,
                             "vCPU target %d outside 1..%d", target, caps->maximum);
                return FALSE;
        }
        if (target == online)
                return TRUE;
        if (target < online || (caps->agent && target <= caps->plugged)) {
                /* Offline (or online already-plugged) CPUs in the guest. */
                if (!caps->agent) {
                        g_set_error (error, AUGUR_ACTUATE_ERROR, AUGUR_ACTUATE_ERROR_UNSUPPORTED,
                                     "changing online vCPUs to %d needs the guest agent", target);
                        return FALSE;
                }
                if (virDomainSetVcpusFlags (dom, target, VIR_DOMAIN_VCPU_GUEST) < 0)
                        return libvirt_error (error, "virDomainSetVcpusFlags(GUEST)");
                return TRUE;
        }
        /* Hotplug up to target; the guest onlines the new CPUs itself. */
        if (virDomainSetVcpusFlags (dom, target, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return libvirt_error (error, "virDomainSetVcpusFlags(LIVE)");
        return TRUE;
}
