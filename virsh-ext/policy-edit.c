/* policy-edit.c — "key=value" edits of a per-VM policy (see policy-edit.h).
 * The value rules are vm.c's; this file adds only what a single key cannot
 * check: removal, min ≤ max across keys, and the domain's own limits; and
 * what augurd uses for a key the metadata leaves unset. */
#include "config.h"

#include "policy-edit.h"

#include <math.h>
#include <string.h>

/* Remove one key (back to augurd's default). */
static gboolean
unset_key (AugurVmPolicy *p, const char *key, GError **error)
{
        const AugurVmKey *k = augur_vm_key (key);

        if (!k)
                return augur_vm_policy_set (p, key, "", error);  /* names the known keys */
        augur_vm_policy_unset (p, k);
        return TRUE;
}

gboolean
augur_cli_policy_apply (AugurVmPolicy *p, char **assignments, double mem_limit_kib,
                        int vcpu_limit, GError **error)
{
        AugurVmPolicy next = *p;

        for (char **a = assignments; a && *a; a++) {
                const char *eq = strchr (*a, '=');
                g_autofree char *key = NULL;

                if (!eq || eq == *a) {
                        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                     "'%s' is not key=value", *a);
                        return FALSE;
                }
                key = g_strstrip (g_strndup (*a, eq - *a));
                if (eq[1] == '\0' ? !unset_key (&next, key, error)
                                  : !augur_vm_policy_set (&next, key, eq + 1, error))
                        return FALSE;
        }
        if (!isnan (next.mem_min_kib) && !isnan (next.mem_max_kib) && next.mem_min_kib > next.mem_max_kib) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "mem_min_mib (%.0f) is above mem_max_mib (%.0f)",
                             next.mem_min_kib / 1024, next.mem_max_kib / 1024);
                return FALSE;
        }
        if (next.vcpus_min > 0 && next.vcpus_max > 0 && next.vcpus_min > next.vcpus_max) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "vcpus_min (%d) is above vcpus_max (%d)", next.vcpus_min, next.vcpus_max);
                return FALSE;
        }
        if (mem_limit_kib > 0 && !isnan (next.mem_min_kib) && next.mem_min_kib > mem_limit_kib) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "mem_min_mib (%.0f) is above the domain's <memory> (%.0f MiB)",
                             next.mem_min_kib / 1024, mem_limit_kib / 1024);
                return FALSE;
        }
        if (mem_limit_kib > 0 && !isnan (next.mem_max_kib) && next.mem_max_kib > mem_limit_kib) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "mem_max_mib (%.0f) is above the domain's <memory> (%.0f MiB): augurd "
                             "never goes above <memory>; set at most %.0f, or remove the key with mem_max_mib=",
                             next.mem_max_kib / 1024, mem_limit_kib / 1024, floor (mem_limit_kib / 1024));
                return FALSE;
        }
        if (vcpu_limit > 0 && next.vcpus_min > vcpu_limit) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "vcpus_min (%d) is above the domain's <vcpu> (%d)", next.vcpus_min, vcpu_limit);
                return FALSE;
        }
        if (vcpu_limit > 0 && next.vcpus_max > vcpu_limit) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "vcpus_max (%d) is above the domain's <vcpu> (%d): augurd never goes above "
                             "<vcpu>; set at most %d, or remove the key with vcpus_max=",
                             next.vcpus_max, vcpu_limit, vcpu_limit);
                return FALSE;
        }
        *p = next;
        return TRUE;
}

/* (transfer full) where augurd's value of [group] key comes from:
 * "augur.conf [group] key" or "augurd's default ([group] key)". */
static char *
conf_origin (const AugurPolicyDefaults *def, const char *group, const char *key)
{
        g_autofree char *group_key = g_strdup_printf ("%s.%s", group, key);

        if (def->conf_set && g_strv_contains (def->conf_set, group_key))
                return g_strdup_printf ("augur.conf [%s] %s", group, key);
        return g_strdup_printf ("augurd's default ([%s] %s)", group, key);
}

void
augur_cli_policy_in_effect (const AugurVmPolicy *p, const AugurVmKey *k, const AugurPolicyDefaults *def,
                            char **ret_value, char **ret_from)
{
        g_autofree char *set = augur_vm_policy_value (p, k);
        g_autofree char *origin = NULL;
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        *ret_value = NULL;
        *ret_from = NULL;
        if (k == &augur_vm_keys[AUGUR_VM_KEY_QUANTILE]) {
                /* vm.c parses it; neither the forecaster nor the policy reads it. */
                origin = conf_origin (def, "forecast", "memory_price_per_gib");
                *ret_value = g_steal_pointer (&set);
                *ret_from = g_strdup_printf ("%snot used by augurd: its memory bound follows "
                                             "memory_price_per_gib = %s, %s", *ret_value ? "metadata, " : "",
                                             g_ascii_formatd (buf, sizeof buf, "%g", def->config->price_per_gib),
                                             origin);
                return;
        }
        if (set) {
                *ret_value = g_steal_pointer (&set);
                *ret_from = g_strdup ("metadata");
                return;
        }
        switch ((AugurVmKeyId) (k - augur_vm_keys)) {
        case AUGUR_VM_KEY_MODE:
                *ret_value = g_strdup (augur_mode_to_string (def->config->mode));
                *ret_from = conf_origin (def, "daemon", "mode");
                break;
        case AUGUR_VM_KEY_MEM_MIN:
                origin = conf_origin (def, "policy", "reserve_mib");
                *ret_from = g_strdup_printf ("no minimum: the floor is used memory + reserve_mib = %.0f MiB, %s",
                                             def->config->reserve_kib / 1024, origin);
                break;
        case AUGUR_VM_KEY_MEM_MAX:
                if (def->mem_limit_kib > 0)
                        *ret_value = g_strdup_printf ("%.0f", def->mem_limit_kib / 1024);
                *ret_from = g_strdup ("the domain's <memory>");
                break;
        case AUGUR_VM_KEY_VCPUS_MIN:
                *ret_value = g_strdup ("1");
                *ret_from = g_strdup ("augurd's default");
                break;
        case AUGUR_VM_KEY_VCPUS_MAX:
                if (def->vcpu_limit > 0)
                        *ret_value = g_strdup_printf ("%d", def->vcpu_limit);
                *ret_from = g_strdup ("the domain's <vcpu>");
                break;
        case AUGUR_VM_KEY_PRIORITY:
                *ret_value = g_strdup_printf ("%d", p->priority);
                *ret_from = g_strdup ("augurd's default");
                break;
        case AUGUR_VM_KEY_TARGET_UTIL:
                *ret_value = g_strdup_printf ("%.0f", def->config->target_util * 100);
                *ret_from = conf_origin (def, "policy", "target_util_pct");
                break;
        case AUGUR_VM_KEY_TAGS:
                *ret_from = g_strdup ("no tags: [guests] include and exclude match it by name and UUID only");
                break;
        case AUGUR_VM_KEY_IO_MAX:
                *ret_from = g_strdup ("unset: augurd never raises this guest's disk limits");
                break;
        case AUGUR_VM_KEY_NET_MAX:
                *ret_from = g_strdup ("unset: augurd never raises this guest's network limits");
                break;
        case AUGUR_VM_KEY_CPU_WEIGHT_MAX:
                *ret_from = g_strdup ("unset: augurd never raises this guest's CPU weight");
                break;
        case AUGUR_VM_KEY_IO_MAX_IOPS:
                *ret_from = g_strdup ("unset: augurd never raises this guest's disk IOPS limits");
                break;
        case AUGUR_VM_KEY_QUANTILE:
        case AUGUR_VM_KEY_N:
        default:
                g_assert_not_reached ();
        }
}
