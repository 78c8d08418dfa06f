/* policy-edit.h — the pure part of `virt-augur policy`: applying
 * "key=value" assignments to a per-VM policy (plugin/vm.h) and showing its
 * keys.  No libvirt here, so the rules are unit-tested (tests/test-cli-ops.c).
 */
#pragma once

#include <glib.h>
#include "vm.h"

#define AUGUR_POLICY_N_KEYS 8
/* The keys of <augur:policy>, in display order. */
extern const char *const augur_policy_keys[AUGUR_POLICY_N_KEYS];

/* Apply assignments (NULL-terminated "key=value" strings) in order to p:
 * each value is checked by augur_vm_policy_set() (the rules augurd parses
 * with), "key=" removes the key (back to augurd's default), and then the
 * cross-key rules min ≤ max and the domain's limits are checked:
 * mem_min_mib ≤ mem_limit_kib and vcpus_min ≤ vcpu_limit (≤ 0 = unknown,
 * not checked).  A maximum above the domain's is accepted (augurd takes
 * the smaller).  On FALSE, p is untouched and error names the key and the
 * allowed range. */
gboolean augur_cli_policy_apply (AugurVmPolicy *p, char **assignments, double mem_limit_kib,
                                 int vcpu_limit, GError **error);

/* The value of key as metadata text, or NULL when it is unset (transfer
 * full).  key must be one of augur_policy_keys. */
char *augur_cli_policy_value (const AugurVmPolicy *p, const char *key);
