/* actuate.h — stage "actuate" of the tick: the only caller of the
 * hypervisor table's balloon and vCPU setters (hv.h), and the one place
 * that decides how a vCPU change is made.
 *
 * One bounded change per VM per tick (the plan already bounds it); if more
 * is needed it continues on the next tick instead of blocking.  Guest-agent
 * calls are bounded by a short agent timeout set when a domain is first
 * seen (resize.c), so a hung agent costs at most that per tick.
 *
 * vCPUs: scale up by live hotplug (AUGUR_HV_VCPUS_HOTPLUG; the guest
 * onlines the new CPU) or, when CPUs are plugged but offline, by onlining
 * them through the agent (AUGUR_HV_VCPUS_AGENT).  Scale down only through
 * the agent: live unplug is broken on QEMU 7.2/TCG and leaves libvirt's
 * count wrong (seen on the test guest), so it is never used. */
#pragma once

#include <glib.h>

#include "hv.h"

#define AUGUR_ACTUATE_ERROR (augur_actuate_error_quark ())
GQuark augur_actuate_error_quark (void);

/* actuate's own refusals; a failed call is the hypervisor's error
 * (AUGUR_HV_ERROR) as it came. */
typedef enum {
        AUGUR_ACTUATE_ERROR_FAILED,        /* a target outside 1..maximum     */
        AUGUR_ACTUATE_ERROR_UNSUPPORTED,   /* no agent to offline vCPUs       */
} AugurActuateError;

/* Set the balloon to target_kib (live). */
gboolean augur_actuate_memory (AugurHvGuest *g, guint64 target_kib, GError **error);

/* Bring the guest to target online vCPUs, caps as last probed. */
gboolean augur_actuate_vcpus (AugurHvGuest *g, int target, const AugurVcpuCaps *caps,
                              GError **error);
