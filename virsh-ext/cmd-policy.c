/* cmd-policy.c — virt-augur policy: read and write the per-VM policy that
 * lives in the domain's <metadata> (urn:augur:policy:1, see plugin/vm.h),
 * or, with -c pve:///..., in the Proxmox VM's description (the augur
 * block, plugin/pve-conf.h) through the hypervisor table (hv.h), which
 * writes it with qm set --description; there only running guests are
 * found (by name, UUID or vmid).
 *
 *   virt-augur [-c URI] policy DOMAIN [--set key=value ...] [--json]
 *
 * It talks to libvirt, not to augurd: the metadata is the single source of
 * truth, it travels with the guest on migration, and augurd re-reads it on
 * METADATA_CHANGE.  Keys and values are checked by the same code augurd
 * parses them with (augur_vm_policy_set), plus the cross-key rules the
 * parser would otherwise drop with a warning (min ≤ max) and the domain's
 * own limits (the memory keys ≤ <memory>, the vCPU keys ≤ <vcpu>): a value
 * augurd would ignore is refused here instead.  "key=" (empty) removes the
 * key.  "--set a=1 b=2" is "--set a=1 --set b=2".
 *
 * Showing it, a key the metadata leaves unset shows the value augurd uses
 * instead and where that comes from (policy-edit.h): augur.conf as
 * augurd reads it ($AUGUR_CONFIG, else the installed one; an option on
 * augurd's command line is not seen), augurd's compiled-in default, or the
 * domain's own maximum.
 *
 * A write goes to the live domain when it runs and to the persistent
 * config when it has one (LIVE+CONFIG for a running persistent domain), so
 * the policy survives a restart and takes effect now.
 *
 * What it is not: a policy engine.  It never plans or resizes anything.
 */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "client.h"
#include "collect.h"
#include "hv.h"
#include "policy-edit.h"
#include "regfile.h"
#include "vm.h"

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <math.h>
#include <string.h>

typedef virConnect AugurVirConn;
typedef virDomain AugurVirDomain;
static void vir_conn_close (AugurVirConn *c) { virConnectClose (c); }
static void vir_domain_free (AugurVirDomain *d) { virDomainFree (d); }
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurVirConn, vir_conn_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurVirDomain, vir_domain_free)

/* libvirt prints every error to stderr by default; we report once. */
static void
vir_quiet (void *opaque, virErrorPtr e)
{
}

static const char *
vir_message (void)
{
        const char *m = virGetLastErrorMessage ();

        return m ? m : "unknown libvirt error";
}

/* Name, then UUID, then numeric id (virsh's order). */
static AugurVirDomain *
lookup_domain (virConnectPtr conn, const char *spec)
{
        virDomainPtr dom = virDomainLookupByName (conn, spec);
        char *end = NULL;
        gint64 id;

        if (dom)
                return dom;
        virResetLastError ();
        if ((dom = virDomainLookupByUUIDString (conn, spec)))
                return dom;
        virResetLastError ();
        id = g_ascii_strtoll (spec, &end, 10);
        if (end != spec && !*end && id >= 0 && id <= G_MAXINT && (dom = virDomainLookupByID (conn, (int) id)))
                return dom;
        virResetLastError ();
        return NULL;
}

/* Largest augur.conf read, bytes (augur-config.c reads the same). */
#define CONFIG_MAX_BYTES (1024 * 1024)

/* augur.conf as augurd reads it (augurd's defaults where there is none,
 * or when it does not load: then with a warning), and in *ret_set the
 * "group.key" of every key the file sets.  (transfer full) */
static AugurConfig *
load_augur_conf (char ***ret_set)
{
        const char *path = augur_client_config_path ();
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autoptr(GPtrArray) set = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GKeyFile) kf = g_key_file_new ();
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) warnings = NULL;          /* unknown keys: augurd's to report */
        g_autofree char *text = NULL;
        AugurConfig *c = augur_config_load_full (base, path, TRUE, &warnings, &error);
        gsize len = 0;

        if (!c) {
                g_printerr ("warning: %s; showing augurd's defaults\n", error->message);
                c = g_steal_pointer (&base);
        } else if (augur_regfile_read (path, CONFIG_MAX_BYTES, &text, &len, NULL) &&
                   g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, NULL)) {
                for (gsize i = 0; i < augur_config_n_keys (); i++) {
                        const char *group, *key, *help;

                        augur_config_key_at (i, &group, &key, &help);
                        if (g_key_file_has_key (kf, group, key, NULL))
                                g_ptr_array_add (set, g_strdup_printf ("%s.%s", group, key));
                }
        }
        g_ptr_array_add (set, NULL);
        *ret_set = (char **) g_ptr_array_free (g_steal_pointer (&set), FALSE);
        return c;
}

/* A policy value as JSON: the mode and the tags strings; a key written
 * back as a whole number (MiB, counts, shares, percent; vm.c's table) an
 * integer, the others (the quantile, the MiB/s and IO/s ceilings) numbers. */
static void
add_policy_value (JsonBuilder *b, const AugurVmKey *k, const char *v)
{
        if (!v)
                json_builder_add_null_value (b);
        else if (!k->fmt)                                       /* mode, tags */
                json_builder_add_string_value (b, v);
        else if (strcmp (k->fmt, "%.0f") != 0)                  /* a fraction */
                json_builder_add_double_value (b, g_ascii_strtod (v, NULL));
        else
                json_builder_add_int_value (b, g_ascii_strtoll (v, NULL, 10));
}

static void
print_policy (const char *name, const char *uuid, const AugurVmPolicy *p, const AugurPolicyDefaults *def,
              gboolean json)
{
        g_autoptr(JsonBuilder) b = json ? json_builder_new () : NULL;

        if (json) {
                /* The metadata's keys (null: unset), then what is in effect. */
                json_builder_begin_object (b);
                augur_cli_json_domain (b, name, uuid);
                for (gsize i = 0; i < AUGUR_VM_KEY_N; i++) {
                        g_autofree char *v = augur_vm_policy_value (p, &augur_vm_keys[i]);

                        json_builder_set_member_name (b, augur_vm_keys[i].name);
                        add_policy_value (b, &augur_vm_keys[i], v);
                }
                json_builder_set_member_name (b, "in_effect");
                json_builder_begin_object (b);
        } else {
                g_print ("Policy of %s (%s)\n\n", name, AUGUR_POLICY_NS_URI);
                g_print (" %-16s %-8s %s\n", "key", "value", "from");
        }
        for (gsize i = 0; i < AUGUR_VM_KEY_N; i++) {
                const char *key = augur_vm_keys[i].name;
                g_autofree char *v = NULL, *from = NULL;

                augur_cli_policy_in_effect (p, &augur_vm_keys[i], def, &v, &from);
                if (!json) {
                        g_print (" %-16s %-8s %s\n", key, v ? v : "-", from);
                        continue;
                }
                json_builder_set_member_name (b, key);
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "value");
                add_policy_value (b, &augur_vm_keys[i], v);
                json_builder_set_member_name (b, "from");
                json_builder_add_string_value (b, from);
                json_builder_end_object (b);
        }
        if (json) {
                json_builder_end_object (b);
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
        }
}

static const AugurOptDef opts_policy[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "DOMAIN",
          .help = "the libvirt domain: name, UUID or numeric id (pve: a running VM's name, UUID or vmid)" },
        { .name = "set", .type = AUGUR_OPT_STRV, .flags = AUGUR_OPT_PAIRS, .metavar = "KEY=VALUE",
          .help = "set keys (--set a=1 b=2, or repeated; KEY= removes it): mode (auto, observe, recommend, act), "
                  "mem_min_mib, mem_max_mib, vcpus_min, vcpus_max, priority (shares, default 1000), "
                  "target_util_pct (10 to 100), quantile (0.5 to 0.999), tags (words for augur.conf's "
                  "[guests] include/exclude tag:NAME; tags=\"db prod\" or tags=db,prod)" },
        { NULL },
};

static const AugurCmdInfo info_policy = {
        .help = "the per-VM policy in the domain's <metadata>, shown or changed",
        .desc = "Show or change the per-VM policy kept in the domain's libvirt <metadata> "
                "(namespace " AUGUR_POLICY_NS_URI "), through libvirt (-c/--connect), not augurd.  "
                "Values are checked by the same rules augurd reads them with, plus min <= max and "
                "the domain's own maximum (<memory>, <vcpu>).  A running domain is changed live, a "
                "persistent one in its configuration too, so the policy takes effect now and "
                "survives a restart; augurd re-reads it on the METADATA_CHANGE event.  Nothing is "
                "written when any value is refused.\n\nA key the metadata does not set shows the "
                "value augurd uses instead and where it comes from: augur.conf ($AUGUR_CONFIG, "
                "else " SYSCONFDIR "/augur/augur.conf; an option on augurd's command line is not "
                "seen), augurd's default, or the domain's maximum.\n\nWith -c pve:///... the policy is the "
                "fenced ```augur block of the Proxmox VM's description (one \"key = value\" a line), written "
                "with qm set <vmid> --description; only running VMs are found.",
};

/* Where a policy is read from and written to: libvirt's <metadata>, or a
 * backend of the hypervisor table (pve: the VM's description). */
typedef struct {
        const char *name;
        char uuid[VIR_UUID_STRING_BUFLEN];
        char *xml;                      /* the policy element; NULL = none    */
        double mem_limit_kib;           /* ≤ 0 = unknown                      */
        int vcpu_limit;                 /* ≤ 0 = unknown                      */
        gboolean (*write) (gpointer ctx, const char *xml, GError **error);
        gpointer ctx;
} PolicySource;

/* What both sources share: parse, apply --set and write, then show. */
static int
policy_run (const AugurCliGlobal *g, const char *const *sets, PolicySource *src)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *warn = NULL, *new_xml = NULL;
        g_autoptr(AugurConfig) config = NULL;
        g_auto(GStrv) conf_set = NULL;
        AugurPolicyDefaults def = { 0 };
        AugurVmPolicy p;

        if (!src->xml)
                augur_vm_policy_init (&p);
        else if (!augur_vm_policy_parse (src->xml, &p, &warn) || warn)
                /* Show it; a --set rewrites only the valid keys. */
                g_printerr ("warning: %s: %s\n", src->name, warn);
        def.mem_limit_kib = src->mem_limit_kib;
        def.vcpu_limit = src->vcpu_limit;
        if (sets[0]) {
                if (!augur_cli_policy_apply (&p, (char **) sets, def.mem_limit_kib, def.vcpu_limit, &error))
                        return augur_cli_error ("%s: %s", src->name, error->message);
                new_xml = augur_vm_policy_to_xml (&p);
                if (!src->write (src->ctx, new_xml, &error))
                        return augur_cli_error ("%s: writing the policy: %s", src->name, error->message);
        }
        config = load_augur_conf (&conf_set);
        def.config = config;
        def.conf_set = (const char *const *) conf_set;
        print_policy (src->name, src->uuid, &p, &def, g->json);
        return 0;
}

typedef struct {
        virDomainPtr dom;
        unsigned int flags;
} LibvirtTarget;

static gboolean
libvirt_write (gpointer ctx, const char *xml, GError **error)
{
        LibvirtTarget *t = ctx;

        if (virDomainSetMetadata (t->dom, VIR_DOMAIN_METADATA_ELEMENT, xml, AUGUR_POLICY_NS_PREFIX,
                                  AUGUR_POLICY_NS_URI, t->flags) < 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "%s", vir_message ());
                return FALSE;
        }
        return TRUE;
}

static int
cmd_policy_libvirt (const AugurCliGlobal *g, const char *domain, const char *const *sets)
{
        g_autoptr(AugurVirConn) conn = NULL;
        g_autoptr(AugurVirDomain) dom = NULL;
        g_autofree char *xml = NULL;
        LibvirtTarget t = { 0 };
        PolicySource src = { .write = libvirt_write, .ctx = &t };
        int active, persistent;

        virSetErrorFunc (NULL, vir_quiet);
        if (!(conn = virConnectOpen (g->uri)))
                return augur_cli_error ("cannot connect to %s: %s", g->uri ? g->uri : "the default hypervisor",
                                        vir_message ());
        if (!(dom = lookup_domain (conn, domain)))
                return augur_cli_error ("failed to get domain '%s'", domain);
        src.name = virDomainGetName (dom);
        active = virDomainIsActive (dom);
        persistent = virDomainIsPersistent (dom);
        if (active < 0 || persistent < 0)
                return augur_cli_error ("%s: %s", src.name, vir_message ());

        /* Read what is in effect now: the live definition of a running
         * domain, else the persistent one. */
        xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, AUGUR_POLICY_NS_URI,
                                    VIR_DOMAIN_AFFECT_CURRENT);
        if (!xml) {
                virErrorPtr e = virGetLastError ();

                if (!e || e->code != VIR_ERR_NO_DOMAIN_METADATA)
                        return augur_cli_error ("%s: reading metadata: %s", src.name, vir_message ());
                virResetLastError ();
        }
        src.xml = xml;
        src.mem_limit_kib = (double) virDomainGetMaxMemory (dom);
        src.vcpu_limit = virDomainGetVcpusFlags (dom, VIR_DOMAIN_AFFECT_CURRENT | VIR_DOMAIN_VCPU_MAXIMUM);
        virResetLastError ();
        /* A write goes to the live domain when it runs and to the
         * persistent config when it has one. */
        t.dom = dom;
        if (active)
                t.flags |= VIR_DOMAIN_AFFECT_LIVE;
        if (persistent)
                t.flags |= VIR_DOMAIN_AFFECT_CONFIG;
        if (virDomainGetUUIDString (dom, src.uuid) < 0)
                return augur_cli_error ("%s: %s", src.name, vir_message ());
        return policy_run (g, sets, &src);
}

static gboolean
hv_write (gpointer ctx, const char *xml, GError **error)
{
        return augur_hv_guest_write_metadata (ctx, AUGUR_POLICY_NS_URI, xml, error);
}

/* A backend of the hypervisor table (pve:): a running guest by name, UUID
 * or run id (the vmid), its limits from its stats record and vCPU probe. */
static int
cmd_policy_hv (const AugurCliGlobal *g, const char *domain, const char *const *sets)
{
        static const AugurHvCallbacks cb = { 0 };
        AugurHvOptions o = { 0 };
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurHv) hv = augur_hv_open (g->uri, &o, &cb, NULL, &error);
        g_autoptr(GArray) samples = NULL;
        g_autoptr(AugurHvGuest) guest = NULL;
        g_autofree char *xml = NULL, *id = NULL;
        const AugurDomainSample *s = NULL;
        PolicySource src = { .write = hv_write };
        AugurVcpuCaps caps;

        if (!hv)
                return augur_cli_error ("%s", error->message);
        if (!augur_hv_guests_with_stats (hv, NULL, NULL, &samples, &error))
                return augur_cli_error ("%s: %s", g->uri, error->message);
        for (guint i = 0; i < samples->len && !s; i++) {
                const AugurDomainSample *c = &g_array_index (samples, AugurDomainSample, i);

                g_free (id);
                id = g_strdup_printf ("%d", c->id);
                if (g_strcmp0 (c->name, domain) == 0 || g_ascii_strcasecmp (c->uuid, domain) == 0 ||
                    strcmp (id, domain) == 0)
                        s = c;
        }
        if (!s)
                return augur_cli_error ("failed to get domain '%s' (running guests only)", domain);
        if (!(guest = augur_hv_lookup_guest (hv, s->uuid, &error)))
                return augur_cli_error ("%s: %s", s->name, error->message);
        xml = augur_hv_guest_read_metadata (guest, AUGUR_POLICY_NS_URI, &error);
        if (error)
                return augur_cli_error ("%s: reading the policy: %s", s->name, error->message);
        augur_hv_guest_probe_vcpus (guest, &caps);
        src.name = augur_hv_guest_get_name (guest);
        g_strlcpy (src.uuid, s->uuid, sizeof src.uuid);
        src.xml = xml;
        if (augur_sample_has (s, AUGUR_STAT_BALLOON_MAXIMUM_KIB))
                src.mem_limit_kib = (double) s->v[AUGUR_STAT_BALLOON_MAXIMUM_KIB];
        src.vcpu_limit = caps.maximum;
        src.ctx = guest;
        return policy_run (g, sets, &src);
}

static int
cmd_policy (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        const char *const *sets = augur_cmd_opts_strv (opts, "set");
        const char *domain = augur_cmd_opts_string (opts, "domain");

        if (g->uri && augur_hv_pve_ops.accepts (g->uri))
                return cmd_policy_hv (g, domain, sets);
        return cmd_policy_libvirt (g, domain, sets);
}

const AugurCmdDef augur_cmds_policy[] = {
        { "policy", cmd_policy, opts_policy, &info_policy },
        { NULL },
};
