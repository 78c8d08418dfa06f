/* policy-edit.c — "key=value" edits of a per-VM policy (see policy-edit.h).
 * The value rules are vm.c's; this file adds only what a single key cannot
 * check: removal, min ≤ max across keys, and the domain's own limits; and
 * what augurd uses for a key the metadata leaves unset. */
#include "config.h"

#include "policy-edit.h"

#include <math.h>
#include <string.h>

const char *const augur_policy_keys[AUGUR_POLICY_N_KEYS] = {
        "mode", "mem_min_mib", "mem_max_mib", "vcpus_min", "vcpus_max",
        "priority", "target_util_pct", "quantile", "tags", "io_max_mib_s",
        "net_max_mib_s", "cpu_weight_max", "io_max_iops",
};

char *
augur_cli_policy_value (const AugurVmPolicy *p, const char *key)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (strcmp (key, "mode") == 0)
                return p->mode_set ? g_strdup (augur_mode_to_string (p->mode)) : NULL;
        if (strcmp (key, "mem_min_mib") == 0)
                return isnan (p->mem_min_kib) ? NULL : g_strdup_printf ("%.0f", p->mem_min_kib / 1024);
        if (strcmp (key, "mem_max_mib") == 0)
                return isnan (p->mem_max_kib) ? NULL : g_strdup_printf ("%.0f", p->mem_max_kib / 1024);
        if (strcmp (key, "vcpus_min") == 0)
                return p->vcpus_min > 0 ? g_strdup_printf ("%d", p->vcpus_min) : NULL;
        if (strcmp (key, "vcpus_max") == 0)
                return p->vcpus_max > 0 ? g_strdup_printf ("%d", p->vcpus_max) : NULL;
        if (strcmp (key, "priority") == 0)
                return p->priority != 1000 ? g_strdup_printf ("%d", p->priority) : NULL;
        if (strcmp (key, "target_util_pct") == 0)
                return isnan (p->target_util) ? NULL : g_strdup_printf ("%.0f", p->target_util * 100);
        if (strcmp (key, "quantile") == 0)
                return isnan (p->quantile) ? NULL : g_strdup (g_ascii_formatd (buf, sizeof buf, "%.3f", p->quantile));
        if (strcmp (key, "tags") == 0)
                return p->tags[0] ? g_strdup (p->tags) : NULL;
        if (strcmp (key, "io_max_mib_s") == 0)
                return isnan (p->io_max_mib_s) ? NULL : g_strdup (g_ascii_formatd (buf, sizeof buf, "%g", p->io_max_mib_s));
        if (strcmp (key, "net_max_mib_s") == 0)
                return isnan (p->net_max_mib_s) ? NULL : g_strdup (g_ascii_formatd (buf, sizeof buf, "%g", p->net_max_mib_s));
        if (strcmp (key, "cpu_weight_max") == 0)
                return isnan (p->cpu_weight_max) ? NULL : g_strdup_printf ("%.0f", p->cpu_weight_max);
        if (strcmp (key, "io_max_iops") == 0)
                return isnan (p->io_max_iops) ? NULL : g_strdup (g_ascii_formatd (buf, sizeof buf, "%g", p->io_max_iops));
        g_assert_not_reached ();
}

/* Remove one key (back to augurd's default). */
static gboolean
unset_key (AugurVmPolicy *p, const char *key, GError **error)
{
        AugurVmPolicy def;

        augur_vm_policy_init (&def);
        if (strcmp (key, "mode") == 0)
                p->mode_set = FALSE, p->mode = def.mode;
        else if (strcmp (key, "mem_min_mib") == 0)
                p->mem_min_kib = def.mem_min_kib;
        else if (strcmp (key, "mem_max_mib") == 0)
                p->mem_max_kib = def.mem_max_kib;
        else if (strcmp (key, "vcpus_min") == 0)
                p->vcpus_min = def.vcpus_min;
        else if (strcmp (key, "vcpus_max") == 0)
                p->vcpus_max = def.vcpus_max;
        else if (strcmp (key, "priority") == 0)
                p->priority = def.priority;
        else if (strcmp (key, "target_util_pct") == 0)
                p->target_util = def.target_util;
        else if (strcmp (key, "quantile") == 0)
                p->quantile = def.quantile;
        else if (strcmp (key, "tags") == 0)
                p->tags[0] = '\0';
        else if (strcmp (key, "io_max_mib_s") == 0)
                p->io_max_mib_s = def.io_max_mib_s;
        else if (strcmp (key, "net_max_mib_s") == 0)
                p->net_max_mib_s = def.net_max_mib_s;
        else if (strcmp (key, "cpu_weight_max") == 0)
                p->cpu_weight_max = def.cpu_weight_max;
        else if (strcmp (key, "io_max_iops") == 0)
                p->io_max_iops = def.io_max_iops;
        else
                return augur_vm_policy_set (p, key, "", error);  /* names the known keys */
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
augur_cli_policy_in_effect (const AugurVmPolicy *p, const char *key, const AugurPolicyDefaults *def,
                            char **ret_value, char **ret_from)
{
        g_autofree char *set = augur_cli_policy_value (p, key);
        g_autofree char *origin = NULL;
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        *ret_value = NULL;
        *ret_from = NULL;
        if (strcmp (key, "quantile") == 0) {
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
        } else if (strcmp (key, "mode") == 0) {
                *ret_value = g_strdup (augur_mode_to_string (def->config->mode));
                *ret_from = conf_origin (def, "daemon", "mode");
        } else if (strcmp (key, "mem_min_mib") == 0) {
                origin = conf_origin (def, "policy", "reserve_mib");
                *ret_from = g_strdup_printf ("no minimum: the floor is used memory + reserve_mib = %.0f MiB, %s",
                                             def->config->reserve_kib / 1024, origin);
        } else if (strcmp (key, "mem_max_mib") == 0) {
                if (def->mem_limit_kib > 0)
                        *ret_value = g_strdup_printf ("%.0f", def->mem_limit_kib / 1024);
                *ret_from = g_strdup ("the domain's <memory>");
        } else if (strcmp (key, "vcpus_min") == 0) {
                *ret_value = g_strdup ("1");
                *ret_from = g_strdup ("augurd's default");
        } else if (strcmp (key, "vcpus_max") == 0) {
                if (def->vcpu_limit > 0)
                        *ret_value = g_strdup_printf ("%d", def->vcpu_limit);
                *ret_from = g_strdup ("the domain's <vcpu>");
        } else if (strcmp (key, "priority") == 0) {
                *ret_value = g_strdup_printf ("%d", p->priority);
                *ret_from = g_strdup ("augurd's default");
        } else if (strcmp (key, "target_util_pct") == 0) {
                *ret_value = g_strdup_printf ("%.0f", def->config->target_util * 100);
                *ret_from = conf_origin (def, "policy", "target_util_pct");
        } else if (strcmp (key, "tags") == 0) {
                *ret_from = g_strdup ("no tags: [guests] include and exclude match it by name and UUID only");
        } else if (strcmp (key, "io_max_mib_s") == 0) {
                *ret_from = g_strdup ("unset: augurd never raises this guest's disk limits");
        } else if (strcmp (key, "net_max_mib_s") == 0) {
                *ret_from = g_strdup ("unset: augurd never raises this guest's network limits");
        } else if (strcmp (key, "cpu_weight_max") == 0) {
                *ret_from = g_strdup ("unset: augurd never raises this guest's CPU weight");
        } else if (strcmp (key, "io_max_iops") == 0) {
                *ret_from = g_strdup ("unset: augurd never raises this guest's disk IOPS limits");
        } else {
                g_assert_not_reached ();
        }
}

