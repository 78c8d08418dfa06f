/* vm.h — what augurd keeps per watched domain between ticks, and the
 * per-VM policy that lives in the domain's libvirt <metadata>.
 *
 * PER-VM POLICY (travels with the guest on migration)
 *   <augur:policy xmlns:augur="urn:augur:policy:1">
 *     <augur:mode>act</augur:mode>              auto|observe|recommend|act
 *     <augur:mem_min_mib>256</augur:mem_min_mib>
 *     <augur:mem_max_mib>4096</augur:mem_max_mib>  (≤ <memory>)
 *     <augur:vcpus_min>1</augur:vcpus_min>
 *     <augur:vcpus_max>4</augur:vcpus_max>          (≤ <vcpu>)
 *     <augur:priority>1000</augur:priority>         shares
 *     <augur:target_util_pct>70</augur:target_util_pct>
 *     <augur:quantile>0.95</augur:quantile>
 *     <augur:io_max_mib_s>40</augur:io_max_mib_s>   ceiling of a raised
 *                                    disk limit (resize-io.c); unset =
 *                                    augur never raises this guest's limits
 *   </augur:policy>
 * libvirt hands the element back without its prefix when read with
 * virDomainGetMetadata(ELEMENT, "urn:augur:policy:1").  Every element is
 * optional.  Invalid metadata (not XML, a value out of range) produces a
 * warning and the defaults for the invalid keys — never a crash and never a
 * half-parsed value.  It is reloaded on METADATA_CHANGE.
 */
#pragma once

#include <glib.h>
#include "augur-config.h"
#include "policy.h"

#define AUGUR_POLICY_NS_URI "urn:augur:policy:1"
#define AUGUR_POLICY_NS_PREFIX "augur"

typedef struct {
        gboolean mode_set;
        AugurMode mode;
        double mem_min_kib;          /* NAN = unset                            */
        double mem_max_kib;          /* NAN = unset                            */
        int vcpus_min;               /* -1 = unset                             */
        int vcpus_max;               /* -1 = unset                             */
        int priority;                /* shares, default 1000                   */
        double target_util;          /* (0, 1], NAN = unset                    */
        double quantile;             /* (0.5, 1), NAN = unset                  */
        double io_max_mib_s;         /* disk limit ceiling, MiB/s, NAN = unset */
} AugurVmPolicy;

void augur_vm_policy_init (AugurVmPolicy *p);

/* Parse the metadata element.  Keys that are invalid are left at their
 * defaults and named in *ret_warnings (transfer full, NULL when none).
 * Returns FALSE only when the text is not XML at all (p is then all
 * defaults). */
gboolean augur_vm_policy_parse (const char *xml, AugurVmPolicy *p, char **ret_warnings);

/* The metadata element for p (only the keys that are set). */
char *augur_vm_policy_to_xml (const AugurVmPolicy *p);

/* Set one key from "key=value" text (virt-augur policy --set).  FALSE with
 * a message naming the key and the allowed range on a bad value. */
gboolean augur_vm_policy_set (AugurVmPolicy *p, const char *key, const char *value,
                              GError **error);
