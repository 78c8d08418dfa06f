/* actuate.h — stage "actuate" of the tick: the only caller of
 * virDomainSetMemoryFlags and virDomainSetVcpusFlags.
 *
 * One bounded change per VM per tick (the plan already bounds it); if more
 * is needed it continues on the next tick instead of blocking.  Guest-agent
 * calls are bounded by a short agent timeout set when a domain is first
 * seen, so a hung agent costs at most that per tick.
 *
 * vCPUs: scale up by live hotplug (virDomainSetVcpusFlags LIVE; the guest
 * onlines the new CPU) or, when CPUs are plugged but offline, by onlining
 * them through the agent (VIR_DOMAIN_VCPU_GUEST).  Scale down only through
 * the agent: live unplug is broken on QEMU 7.2/TCG and leaves libvirt's
 * count wrong (seen on the test guest), so it is never used. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#define AUGUR_ACTUATE_ERROR (augur_actuate_error_quark ())
GQuark augur_actuate_error_quark (void);

typedef enum {
        AUGUR_ACTUATE_ERROR_FAILED,        /* libvirt refused                 */
        AUGUR_ACTUATE_ERROR_UNSUPPORTED,   /* no agent / no hotplug possible  */
} AugurActuateError;

typedef struct {
        int plugged;          /* vCPUs plugged (libvirt live count), -1 = ?  */
        int online;           /* vCPUs online in the guest (agent), -1 = ?   */
        int maximum;          /* <vcpu> maximum, -1 = ?                      */
        gboolean agent;       /* the guest agent answered                    */
} AugurVcpuCaps;

/* Agent response timeout for this domain, seconds (virDomainAgentSetResponseTimeout). */
void augur_actuate_set_agent_timeout (virDomainPtr dom, int timeout_s);

/* Probe plugged / online / maximum vCPUs.  Never fails: unknowns are -1. */
void augur_actuate_probe_vcpus (virDomainPtr dom, AugurVcpuCaps *ret);

/* Set the balloon to target_kib (LIVE). */
gboolean augur_actuate_memory (virDomainPtr dom, guint64 target_kib, GError **error);

/* Bring the guest to target online vCPUs. */
gboolean augur_actuate_vcpus (virDomainPtr dom, int target, const AugurVcpuCaps *caps,
                              GError **error);
