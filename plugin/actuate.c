/* actuate.c — see actuate.h. */
#include "config.h"

#include "actuate.h"

G_DEFINE_QUARK (augur-actuate-error-quark, augur_actuate_error)

gboolean
augur_actuate_memory (AugurHvGuest *g, guint64 target_kib, GError **error)
{
        return augur_hv_guest_set_balloon (g, target_kib, error);
}

gboolean
augur_actuate_vcpus (AugurHvGuest *g, int target, const AugurVcpuCaps *caps, GError **error)
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
                return augur_hv_guest_set_vcpus (g, target, AUGUR_HV_VCPUS_AGENT, error);
        }
        /* Hotplug up to target; the guest onlines the new CPUs itself. */
        return augur_hv_guest_set_vcpus (g, target, AUGUR_HV_VCPUS_HOTPLUG, error);
}
