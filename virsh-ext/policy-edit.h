/* policy-edit.h — the pure part of `virt-augur policy`: applying
 * "key=value" assignments to a per-VM policy (plugin/vm.h) and showing its
 * keys.  No libvirt here, so the rules are unit-tested (tests/test-cli-ops.c).
 */
#pragma once

#include <glib.h>
#include "vm.h"

/* Apply assignments (NULL-terminated "key=value" strings) in order to p:
 * each value is checked by augur_vm_policy_set() (the rules augurd parses
 * with), "key=" removes the key (back to augurd's default), and then the
 * cross-key rules min ≤ max and the domain's limits are checked: the
 * memory keys ≤ mem_limit_kib (<memory>) and the vCPU keys ≤ vcpu_limit
 * (<vcpu>), ≤ 0 = unknown, not checked.  A maximum above the domain's
 * was accepted (augurd takes the smaller, so it did nothing); it is
 * refused with both numbers.  On FALSE, p is untouched and error names
 * the key and the allowed range. */
gboolean augur_cli_policy_apply (AugurVmPolicy *p, char **assignments, double mem_limit_kib,
                                 int vcpu_limit, GError **error);

/* What augurd uses for a key the metadata does not set. */
typedef struct {
        const AugurConfig *config;      /* augur.conf over augurd's defaults   */
        const char *const *conf_set;    /* "group.key" of each key the file
                                         * sets (NULL-terminated; NULL = none) */
        double mem_limit_kib;           /* the domain's <memory>, ≤ 0 = unknown */
        int vcpu_limit;                 /* the domain's <vcpu>, ≤ 0 = unknown  */
} AugurPolicyDefaults;

/* The value in effect for key and where it comes from.  A key the
 * metadata sets: its value, from "metadata".  An unset one: what augurd
 * uses instead — mode and target_util_pct from augur.conf ("augur.conf
 * [daemon] mode") or augurd's compiled-in default ("augurd's default
 * ([daemon] mode)"),
 * mem_max_mib and vcpus_max from the domain ("the domain's <memory>"),
 * vcpus_min and priority augurd's defaults (1, 1000); mem_min_mib has none
 * (*ret_value NULL; *ret_from says the floor is used memory + [policy]
 * reserve_mib).  augurd reads no per-VM quantile: its *ret_from says so,
 * set or not.  Tags have no default: unset, *ret_from says that [guests]
 * include / exclude then match the guest by name and UUID only.  *ret_value and *ret_from are transfer full; *ret_value is
 * NULL when there is no value. */
void augur_cli_policy_in_effect (const AugurVmPolicy *p, const AugurVmKey *k, const AugurPolicyDefaults *def,
                                 char **ret_value, char **ret_from);
