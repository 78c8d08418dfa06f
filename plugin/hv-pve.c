/* hv-pve.c — the Proxmox VE backend of the hypervisor table (hv.h), first
 * slice: observe guests and set their balloon, without libvirt.
 *
 * THE URI.  pve:/// reads qemu-server's own files: the configurations in
 * /etc/pve/qemu-server/<vmid>.conf and the pidfiles and QMP sockets in
 * /var/run/qemu-server/<vmid>.{pid,qmp}, and the host's network devices
 * in /sys/class/net.  pve:///?run=DIR&conf=DIR&net=DIR puts them
 * elsewhere (tests), timeout_ms=N (1 .. 60000, default 200) is the
 * deadline of one QMP session, qm=PATH and qm_timeout_ms=N (1 .. 600000,
 * default 15000) are the qm command and how long one run of it may take
 * (VCPUS below).  Nothing else is accepted.
 *
 * RUNNING GUESTS are the configurations (pve-conf.h: numeric <vmid>.conf
 * only) whose pidfile names a live process whose command line holds the
 * vmid's QMP socket path: a stale pidfile, or a pid reused by another
 * program, is skipped with one message (per vmid and pid).  A guest's UUID
 * is its smbios1 uuid, else one derived from "pve-vmid-<vmid>"
 * (augur_uuid_v5_from_name); its run id is its vmid.
 *
 * WATCHING THE RUN DIRECTORY.  The full scan above (list the conf
 * directory, read each pidfile and /proc/<pid>/cmdline) runs only when a
 * pidfile or QMP socket in the run directory came, went or was renamed (a
 * GFileMonitor: inotify, 100 ms to gather a burst), when a known QEMU is
 * gone (kill 0: ESRCH, its pidfile left behind), and at least every 60 s
 * as a safety net.  Between them a call reads only the known guests'
 * configurations (for memory:, balloon:, vcpus: as they are now; /etc/pve
 * is pmxcfs, a FUSE file system inotify does not see into).  Each full
 * scan's difference from the last is told as LIFECYCLE events, STARTED
 * and STOPPED (codes 2 and 5, libvirt's), from an idle source on the main
 * context, never from inside the call.  Guests running at open get none.
 * Without the watch (it could not be made: one message) every call scans
 * in full, as the first slice did.
 *
 * STATS (the AugurDomainSample fields hv-libvirt fills, in its units):
 * one short QMP session per guest per tick (qmp.h; a busy or unreachable
 * monitor is backed off, from 5 s doubling up to 5 min): query-status
 * (state), query-balloon (balloon.current), qom-get guest-stats on
 * /machine/peripheral/balloon0 (the guest's memory stats, bytes -> KiB,
 * as libvirt converts them); balloon.maximum from memory:; vcpu.current and
 * vcpu.maximum from vcpus: / sockets × cores; cpu.time, cpu.user,
 * cpu.system and balloon.rss from /proc/<pid>/stat (the QEMU process, as
 * libvirt's cgroup figure is for the whole domain); the block counters,
 * per disk and summed, from query-blockstats in the same session (disks
 * named as qemu-server names them: scsi0, virtio1); the network counters
 * from the host tap of each netN: of the configuration, tap<vmid>i<N>
 * (qemu-server's name for it), rx and tx swapped as libvirt swaps a
 * tap's.
 *
 * PVESTATD moves the balloon of every guest with balloon: below memory:
 * and shares: not 0 (pve-conf.h augur_pve_conf_auto_ballooned): such a
 * guest's read_devices names it as the balloon's owner, and the resize
 * loop leaves that balloon alone (veto balloon-owned); shares: 0 hands it
 * to augur.  A change of it is a METADATA event, as the description's.
 *
 * THE BALLOON is set with QMP balloon, clamped within balloon: .. memory:
 * (read again for each call; without balloon: only memory: itself;
 * balloon: 0 refuses).  The stats period is guest-stats-polling-interval,
 * set when augurd asks and again for a QEMU started since (a new pid).
 *
 * VCPUS go through `qm set <vmid> --vcpus N`, so that Proxmox's
 * configuration stays the truth: qemu-server plugs (or unplugs) the CPU
 * devices over QMP and rewrites vcpus: itself; probe_vcpus then reads the
 * new count from the conf.  The command is /usr/sbin/qm when it is
 * executable, or the qm=PATH of the URI (an absolute path: a stand-in for
 * tests, tests/integration/qm-standin.py), run with the arguments qm takes
 * and, in its environment, AUGUR_PVE_RUN_DIR and AUGUR_PVE_CONF_DIR (the
 * URI's directories; qm itself ignores them).  It must exit 0 within
 * qm_timeout_ms=N of the URI (default 15000), or it is killed and the call
 * fails with its output.  qm only ever adds: augurd gives vCPUs back only
 * through the guest agent (never a live unplug), the AGENT method, which
 * goes to the guest agent (THE GUEST AGENT, below).  Without qm, adding
 * fails and says so.
 *
 * THE PER-VM POLICY is the augur block of the VM's description
 * (pve-conf.h), read as the <policy> element libvirt's metadata would be
 * (read_metadata, namespace urn:augur:policy:1 only) and written with
 * `qm set <vmid> --description` (write_metadata: the block replaced, the
 * rest of the description kept).  A block that changed since the last
 * call, whoever changed it, is a METADATA event.
 *
 * DISK LIMITS: see pve_get_block_iotune below (QMP, live only).
 *
 * NOT YET: balloon events, devices (no autodeflate, no activity channel),
 * network limits. */
#include "config.h"

#include "hv.h"
#include "collect.h"
#include "pve-conf.h"
#include "qmp.h"
#include "util.h"
#include "vm.h"

#include <errno.h>
#include <gio/gio.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define PVE_RUN_DIR "/var/run/qemu-server"
#define PVE_CONF_DIR "/etc/pve/qemu-server"
#define PVE_NET_DIR "/sys/class/net"
#define MAX_CONF_BYTES (1024 * 1024)
#define MAX_CMDLINE_BYTES (1024 * 1024)
#define BACKOFF_MIN_US (5 * G_USEC_PER_SEC)
#define BACKOFF_MAX_US (300 * G_USEC_PER_SEC)
#define BALLOON_PATH "/machine/peripheral/balloon0"
/* The safety net of the run directory's watch: a full scan at least this
 * often (a QEMU killed without its pidfile going, a missed event). */
#define RESCAN_US (60 * G_USEC_PER_SEC)
/* Changes in the run directory are gathered this long before the scan
 * (QEMU writes its pidfile and binds its QMP socket moments apart), ms. */
#define DEBOUNCE_MS 100
/* libvirt's numbers for these lifecycle events (VIR_DOMAIN_EVENT_STARTED,
 * _STOPPED), so the events table reads the same for both backends. */
#define EVENT_STARTED 2
#define EVENT_STOPPED 5
#define PVE_QM "/usr/sbin/qm"
/* How long one run of qm may take by default, ms: for --vcpus qemu-server
 * waits up to ~5 s per CPU for query-cpus-fast to show it; the tick waits
 * with it (one action per tick, as libvirt's virDomainSetVcpusFlags
 * blocks too). */
#define QM_TIMEOUT_MS 15000
/* One guest agent session's deadline until augurd sets its own, ms. */
#define AGENT_TIMEOUT_MS 1000
/* The most of qm's output kept for an error message, bytes. */
#define QM_MAX_OUTPUT 4096

/* What the connection and its guest handles share (atomically counted:
 * a handle may be unref'd on a worker thread). */
typedef struct {
        char *run_dir, *conf_dir;
        char *net_dir;                  /* the host's network devices (sysfs) */
        char *qm;                       /* the qm command; NULL = none        */
        int timeout_ms;                 /* one QMP session's deadline         */
        int qm_timeout_ms;              /* one run of qm                      */
        int agent_timeout_ms;           /* one guest agent session            */
        int stats_period_s;             /* what augurd asked for, 0 = not yet */
        /* Main context only: */
        GHashTable *polling;            /* vmid -> pid whose period was set   */
        GHashTable *warned;             /* vmid -> pid already reported       */
        GHashTable *backoff;            /* vmid -> AugurQmpBackoff            */
        /* Starting and stopping (WATCHING THE RUN DIRECTORY), main context: */
        GFileMonitor *run_monitor;      /* NULL: every call scans in full     */
        gboolean dirty;                 /* the run directory changed          */
        gint64 last_full_us;            /* monotonic time of the last full scan */
        GHashTable *known;              /* vmid -> Known: the last full scan;
                                         * NULL before the first             */
        GPtrArray *pending;             /* PendingEvent, not yet delivered    */
        guint debounce_id, deliver_id;  /* sources, 0 = none                  */
        AugurHv *hv;                    /* not owned; NULL once closed        */
        AugurHvCallbacks cb;
        gpointer user_data;
} Pve;

/* A running guest as the last full scan saw it. */
typedef struct {
        int pid;
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        char *policy_xml;               /* its description's augur block      */
        gboolean auto_ballooned;        /* augur_pve_conf_auto_ballooned()    */
} Known;

/* An event found by a scan, delivered from an idle source. */
typedef enum {
        PENDING_STARTED,
        PENDING_STOPPED,
        PENDING_POLICY,                 /* the description's augur block, or
                                         * whether pvestatd balloons it, changed */
} PendingKind;

static const char *const pending_names[] = { "started", "stopped", "policy changed" };

typedef struct {
        int vmid;
        PendingKind kind;
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
} PendingEvent;

typedef struct {
        Pve *pve;                       /* a reference                        */
        int vmid;
} PveGuest;

/* One running guest found by scan(). */
typedef struct {
        int vmid, pid;
        AugurPveConf conf;
} Found;

static Pve *
pve_ref (Pve *p)
{
        return g_atomic_rc_box_acquire (p);
}

static void
pve_clear (gpointer data)
{
        Pve *p = data;

        g_free (p->run_dir);
        g_free (p->conf_dir);
        g_free (p->net_dir);
        g_free (p->qm);
        g_hash_table_unref (p->polling);
        g_hash_table_unref (p->warned);
        g_hash_table_unref (p->backoff);
        g_clear_pointer (&p->known, g_hash_table_unref);
        g_clear_pointer (&p->pending, g_ptr_array_unref);
        g_assert (p->run_monitor == NULL && p->debounce_id == 0 && p->deliver_id == 0);
}

static void
known_free (gpointer data)
{
        Known *k = data;

        g_free (k->name);
        g_free (k->policy_xml);
        g_free (k);
}

static void
pending_free (gpointer data)
{
        PendingEvent *e = data;

        g_free (e->name);
        g_free (e);
}

static void
pve_unref (Pve *p)
{
        g_atomic_rc_box_release_full (p, pve_clear);
}

static void
found_clear (gpointer data)
{
        augur_pve_conf_clear (&((Found *) data)->conf);
}

static char *
path_of (const Pve *p, int vmid, const char *suffix)
{
        g_autofree char *base = g_strdup_printf ("%d.%s", vmid, suffix);

        return g_build_filename (strcmp (suffix, "conf") == 0 ? p->conf_dir : p->run_dir, base, NULL);
}

/* At most cap bytes of path (procfs included: its files say size 0). */
static gboolean
read_capped (const char *path, gsize cap, char **ret, gsize *ret_len, GError **error)
{
        g_autoptr(GString) s = g_string_new (NULL);
        char buf[8192];
        int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0) {
                g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", path, g_strerror (errno));
                return FALSE;
        }
        for (;;) {
                ssize_t n = read (fd, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;

                        close (fd);
                        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path, g_strerror (e));
                        return FALSE;
                }
                if (n == 0)
                        break;
                if (s->len + (gsize) n > cap) {
                        close (fd);
                        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %zu bytes", path, cap);
                        return FALSE;
                }
                g_string_append_len (s, buf, n);
        }
        close (fd);
        *ret_len = s->len;
        *ret = g_string_free (g_steal_pointer (&s), FALSE);
        return TRUE;
}

static gboolean
read_conf (const Pve *p, int vmid, AugurPveConf *ret, GError **error)
{
        g_autofree char *path = path_of (p, vmid, "conf");
        g_autofree char *text = NULL;
        gsize len = 0;

        return read_capped (path, MAX_CONF_BYTES, &text, &len, error) &&
               augur_pve_conf_parse (text, len, ret, error);
}

/* Once per vmid and pid: why a guest with a pidfile was skipped. */
static void
warn_once (Pve *p, int vmid, int pid, const char *why)
{
        gpointer key = GINT_TO_POINTER (vmid), old;

        if (g_hash_table_lookup_extended (p->warned, key, NULL, &old) && old == GINT_TO_POINTER (pid))
                return;
        g_hash_table_insert (p->warned, key, GINT_TO_POINTER (pid));
        g_message ("pve: vmid %d: %s, skipped", vmid, why);
}

/* The live QEMU pid of vmid, or 0: its pidfile names a live process whose
 * command line holds the vmid's QMP socket. */
static int
running_pid (Pve *p, int vmid)
{
        g_autofree char *pidfile = path_of (p, vmid, "pid");
        g_autofree char *qmp = path_of (p, vmid, "qmp");
        g_autofree char *text = NULL, *cmdline = NULL, *cmdpath = NULL, *why = NULL;
        gsize len = 0;
        int pid;

        if (!read_capped (pidfile, 64, &text, &len, NULL))
                return 0;                               /* not running */
        if (!augur_pve_parse_pidfile (text, len, &pid)) {
                warn_once (p, vmid, 0, why = g_strdup_printf ("%s does not hold a pid", pidfile));
                return 0;
        }
        cmdpath = g_strdup_printf ("/proc/%d/cmdline", pid);
        if (!read_capped (cmdpath, MAX_CMDLINE_BYTES, &cmdline, &len, NULL) || len == 0) {
                warn_once (p, vmid, pid, why = g_strdup_printf ("%s names pid %d, which is not running", pidfile, pid));
                return 0;
        }
        if (!augur_pve_cmdline_names (cmdline, len, qmp)) {
                warn_once (p, vmid, pid, why = g_strdup_printf ("pid %d of %s is not its QEMU (no %s in its command line)",
                                                                pid, pidfile, qmp));
                return 0;
        }
        g_hash_table_remove (p->warned, GINT_TO_POINTER (vmid));
        return pid;
}

static void
sort_found (GArray *out)
{
        for (guint i = 1; i < out->len; i++)            /* insertion sort: a handful */
                for (guint j = i; j > 0 && g_array_index (out, Found, j - 1).vmid > g_array_index (out, Found, j).vmid; j--) {
                        Found t = g_array_index (out, Found, j);

                        g_array_index (out, Found, j) = g_array_index (out, Found, j - 1);
                        g_array_index (out, Found, j - 1) = t;
                }
}

/* Every configuration whose pidfile names its live QEMU: the running
 * guests, sorted by vmid, a GArray of Found. */
static GArray *
full_scan (Pve *p, GError **error)
{
        g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (Found));
        g_autoptr(GError) local = NULL;
        g_autoptr(GDir) dir = g_dir_open (p->conf_dir, 0, &local);
        const char *name;

        g_array_set_clear_func (out, found_clear);
        if (!dir) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST, "pve: %s", local->message);
                return NULL;
        }
        while ((name = g_dir_read_name (dir))) {
                Found f = { 0 };

                if (!augur_pve_vmid_from_filename (name, &f.vmid))
                        continue;
                if (!(f.pid = running_pid (p, f.vmid)))
                        continue;
                if (!read_conf (p, f.vmid, &f.conf, &local)) {
                        warn_once (p, f.vmid, -f.pid, local->message);
                        g_clear_error (&local);
                        continue;
                }
                g_array_append_val (out, f);
        }
        sort_found (out);
        return g_steal_pointer (&out);
}

static void
identity (const Found *f, char uuid[AUGUR_UUID_STRLEN], char **ret_name)
{
        if (f->conf.uuid[0]) {
                g_strlcpy (uuid, f->conf.uuid, AUGUR_UUID_STRLEN);
        } else {
                g_autofree char *seed = g_strdup_printf ("pve-vmid-%d", f->vmid);

                augur_uuid_v5_from_name (seed, uuid);
        }
        *ret_name = f->conf.name ? g_strdup (f->conf.name) : g_strdup_printf ("vm%d", f->vmid);
}

static AugurHvGuest *
wrap (Pve *p, const Found *f)
{
        char uuid[AUGUR_UUID_STRLEN];
        g_autofree char *name = NULL;
        PveGuest *pg = g_new0 (PveGuest, 1);

        identity (f, uuid, &name);
        pg->pve = pve_ref (p);
        pg->vmid = f->vmid;
        return augur_hv_guest_new (&augur_hv_pve_ops, uuid, name, f->vmid, pg);
}

static void
guest_free (gpointer priv)
{
        PveGuest *pg = priv;

        pve_unref (pg->pve);
        g_free (pg);
}

/* ---- starting and stopping ---- */

static void
deliver (Pve *p)
{
        g_autoptr(GPtrArray) pending = g_steal_pointer (&p->pending);

        p->pending = g_ptr_array_new_with_free_func (pending_free);
        for (guint i = 0; pending && i < pending->len && p->hv; i++) {
                const PendingEvent *pe = g_ptr_array_index (pending, i);
                PveGuest *pg = g_new0 (PveGuest, 1);
                g_autoptr(AugurHvGuest) g = NULL;
                AugurHvEvent e = { .kind = AUGUR_HV_EVENT_LIFECYCLE };

                if (pe->kind == PENDING_STARTED) {
                        e.lifecycle = AUGUR_HV_LIFECYCLE_STARTED;
                        e.code = EVENT_STARTED;
                } else if (pe->kind == PENDING_STOPPED) {
                        e.lifecycle = AUGUR_HV_LIFECYCLE_STOPPED;
                        e.code = EVENT_STOPPED;
                } else {
                        e.kind = AUGUR_HV_EVENT_METADATA;
                        e.nsuri = AUGUR_POLICY_NS_URI;
                }
                pg->pve = pve_ref (p);
                pg->vmid = pe->vmid;
                g = augur_hv_guest_new (&augur_hv_pve_ops, pe->uuid, pe->name, pe->vmid, pg);
                g_debug ("pve: vmid %d: %s", pe->vmid, pending_names[pe->kind]);
                if (p->cb.event)
                        p->cb.event (p->hv, g, &e, p->user_data);
        }
}

static gboolean
deliver_cb (gpointer data)
{
        Pve *p = data;

        p->deliver_id = 0;
        deliver (p);
        return G_SOURCE_REMOVE;
}

static void
queue_event (Pve *p, int vmid, PendingKind kind, const char *uuid, const char *name)
{
        PendingEvent *e = g_new0 (PendingEvent, 1);

        e->vmid = vmid;
        e->kind = kind;
        g_strlcpy (e->uuid, uuid, sizeof e->uuid);
        e->name = g_strdup (name);
        g_ptr_array_add (p->pending, e);
        /* Never from inside the caller's call (a tick): from the loop. */
        if (!p->deliver_id && p->hv)
                p->deliver_id = g_idle_add_full (G_PRIORITY_DEFAULT, deliver_cb, pve_ref (p),
                                                 (GDestroyNotify) pve_unref);
}

/* A full scan, remembered in p->known; the guests that appeared or went
 * since the last one are queued as STARTED / STOPPED (not on the first). */
static GArray *
rescan (Pve *p, GError **error)
{
        g_autoptr(GArray) found = full_scan (p, error);
        g_autoptr(GHashTable) known = NULL;
        GHashTableIter it;
        gpointer k, v;

        if (!found)
                return NULL;
        known = g_hash_table_new_full (NULL, NULL, NULL, known_free);
        for (guint i = 0; i < found->len; i++) {
                const Found *f = &g_array_index (found, Found, i);
                Known *n = g_new0 (Known, 1);
                const Known *old = p->known ? g_hash_table_lookup (p->known, GINT_TO_POINTER (f->vmid)) : NULL;

                n->pid = f->pid;
                identity (f, n->uuid, &n->name);
                n->policy_xml = g_strdup (f->conf.policy_xml);
                n->auto_ballooned = augur_pve_conf_auto_ballooned (&f->conf);
                g_hash_table_insert (known, GINT_TO_POINTER (f->vmid), n);
                if (p->known && old && old->pid != f->pid)      /* restarted between two scans */
                        queue_event (p, f->vmid, PENDING_STOPPED, old->uuid, old->name);
                if (p->known && (!old || old->pid != f->pid))
                        queue_event (p, f->vmid, PENDING_STARTED, n->uuid, n->name);
                else if (old && (g_strcmp0 (old->policy_xml, n->policy_xml) != 0 ||
                                 old->auto_ballooned != n->auto_ballooned))
                        queue_event (p, f->vmid, PENDING_POLICY, n->uuid, n->name);
        }
        if (p->known) {
                g_hash_table_iter_init (&it, p->known);
                while (g_hash_table_iter_next (&it, &k, &v))
                        if (!g_hash_table_contains (known, k))
                                queue_event (p, GPOINTER_TO_INT (k), PENDING_STOPPED, ((Known *) v)->uuid,
                                             ((Known *) v)->name);
        }
        g_clear_pointer (&p->known, g_hash_table_unref);
        p->known = g_steal_pointer (&known);
        p->dirty = FALSE;
        p->last_full_us = g_get_monotonic_time ();
        return g_steal_pointer (&found);
}

/* The running guests, sorted by vmid: a GArray of Found.  A full scan
 * when the run directory changed, or is not watched, or RESCAN_US passed;
 * else the guests of the last one (a full scan again if one's QEMU is
 * gone), with their configuration read again (it is not watched: /etc/pve is pmxcfs, a FUSE
 * file system without inotify). */
static GArray *
scan (Pve *p, GError **error)
{
        g_autoptr(GArray) out = NULL;
        g_autoptr(GList) vmids = NULL;

        if (!p->run_monitor || p->dirty || !p->known || g_get_monotonic_time () - p->last_full_us >= RESCAN_US)
                return rescan (p, error);
        out = g_array_new (FALSE, TRUE, sizeof (Found));
        g_array_set_clear_func (out, found_clear);
        vmids = g_hash_table_get_keys (p->known);
        for (GList *l = vmids; l; l = l->next) {
                Known *k = g_hash_table_lookup (p->known, l->data);
                g_autoptr(GError) local = NULL;
                Found f = { .vmid = GPOINTER_TO_INT (l->data), .pid = k->pid };

                if (kill (k->pid, 0) < 0 && errno == ESRCH)
                        return rescan (p, error);       /* gone, its pidfile left behind */
                if (!read_conf (p, f.vmid, &f.conf, &local)) {
                        warn_once (p, f.vmid, -f.pid, local->message);
                        p->dirty = TRUE;
                        continue;
                }
                if (g_strcmp0 (k->policy_xml, f.conf.policy_xml) != 0 ||
                    k->auto_ballooned != augur_pve_conf_auto_ballooned (&f.conf)) {
                        g_free (k->policy_xml);
                        k->policy_xml = g_strdup (f.conf.policy_xml);
                        k->auto_ballooned = augur_pve_conf_auto_ballooned (&f.conf);
                        queue_event (p, f.vmid, PENDING_POLICY, k->uuid, k->name);
                }
                g_array_append_val (out, f);
        }
        sort_found (out);
        return g_steal_pointer (&out);
}

static gboolean
debounce_cb (gpointer data)
{
        Pve *p = data;
        g_autoptr(GArray) found = NULL;

        p->debounce_id = 0;
        found = rescan (p, NULL);
        return G_SOURCE_REMOVE;
}

static gboolean
names_guest_file (const char *base)
{
        return base && (g_str_has_suffix (base, ".pid") || g_str_has_suffix (base, ".qmp"));
}

/* A pidfile or QMP socket came or went: scan soon, once. */
static void
run_dir_changed (GFileMonitor *m, GFile *file, GFile *other, GFileMonitorEvent event, gpointer data)
{
        Pve *p = data;
        g_autofree char *base = g_file_get_basename (file);
        g_autofree char *to = other ? g_file_get_basename (other) : NULL;   /* a rename's new name */

        if (!names_guest_file (base) && !names_guest_file (to))
                return;
        p->dirty = TRUE;
        if (!p->debounce_id)
                p->debounce_id = g_timeout_add_full (G_PRIORITY_DEFAULT, DEBOUNCE_MS, debounce_cb, pve_ref (p),
                                                     (GDestroyNotify) pve_unref);
}

static void
watch_run_dir (Pve *p)
{
        g_autoptr(GFile) dir = g_file_new_for_path (p->run_dir);
        g_autoptr(GError) local = NULL;

        p->run_monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &local);
        if (!p->run_monitor) {
                g_message ("pve: cannot watch %s (%s): scanning the configurations at every tick, ignoring",
                           p->run_dir, local->message);
                return;
        }
        g_signal_connect (p->run_monitor, "changed", G_CALLBACK (run_dir_changed), p);
}

static void
unwatch (Pve *p)
{
        if (p->run_monitor) {
                g_signal_handlers_disconnect_by_data (p->run_monitor, p);
                g_file_monitor_cancel (p->run_monitor);
                g_clear_object (&p->run_monitor);
        }
        g_clear_handle_id (&p->debounce_id, g_source_remove);
        g_clear_handle_id (&p->deliver_id, g_source_remove);
        p->hv = NULL;
}

/* A QMP failure as an AUGUR_HV_ERROR: a monitor that is gone means the
 * guest stopped. */
static void
set_qmp_error (GError **error, int vmid, GError *qmp_error)
{
        g_set_error (error, AUGUR_HV_ERROR,
                     g_error_matches (qmp_error, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_GONE) ? AUGUR_HV_ERROR_NO_GUEST
                     : AUGUR_HV_ERROR_FAILED, "vmid %d: %s", vmid, qmp_error->message);
}

/* Run command on q and return its reply as a list (kept alive by
 * *ret_node), or NULL with *error: the command failed, or the reply is
 * not a list. */
static JsonArray *
execute_list (PveGuest *pg, AugurQmp *q, const char *command, JsonNode **ret_node, GError **error)
{
        g_autoptr(GError) local = NULL;

        if (!augur_qmp_execute (q, command, NULL, ret_node, &local)) {
                set_qmp_error (error, pg->vmid, local);
                return NULL;
        }
        if (!JSON_NODE_HOLDS_ARRAY (*ret_node)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "vmid %d: %s: not a list", pg->vmid,
                             command);
                return NULL;
        }
        return json_node_get_array (*ret_node);
}

/* Element i of a when it is an object, else NULL. */
static JsonObject *
object_at (JsonArray *a, guint i)
{
        JsonNode *n = json_array_get_element (a, i);

        return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* ---- stats ---- */

static JsonNode *
object_node (const char *json)
{
        return json_from_string (json, NULL);
}

static gboolean
set_polling (AugurQmp *q, int period_s, GError **error)
{
        g_autofree char *json = g_strdup_printf ("{\"path\": \"" BALLOON_PATH "\", "
                                                 "\"property\": \"guest-stats-polling-interval\", \"value\": %d}",
                                                 period_s);
        g_autoptr(JsonNode) args = object_node (json);

        return augur_qmp_execute (q, "qom-set", args, NULL, error);
}

/* An integer member of o, FALSE when absent, not an integer, or negative
 * (QEMU reports -1 for a stat the guest did not give). */
static gboolean
int_member (JsonObject *o, const char *name, gint64 *ret)
{
        JsonNode *n = o ? json_object_get_member (o, name) : NULL;

        if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
                return FALSE;
        *ret = json_node_get_int (n);
        return *ret >= 0;
}

static int
state_of (const char *status)
{
        static const struct {
                const char *status;
                AugurGuestState state;
        } map[] = {
                { "running", AUGUR_GUEST_STATE_RUNNING },
                { "paused", AUGUR_GUEST_STATE_PAUSED },
                { "suspended", AUGUR_GUEST_STATE_PMSUSPENDED },
                { "shutdown", AUGUR_GUEST_STATE_SHUTDOWN },
                { "guest-panicked", AUGUR_GUEST_STATE_CRASHED },
                { "internal-error", AUGUR_GUEST_STATE_CRASHED },
                { "io-error", AUGUR_GUEST_STATE_PAUSED },
                { "inmigrate", AUGUR_GUEST_STATE_PAUSED },
                { "postmigrate", AUGUR_GUEST_STATE_PAUSED },
                { "prelaunch", AUGUR_GUEST_STATE_PAUSED },
                { "finish-migrate", AUGUR_GUEST_STATE_PAUSED },
                { "restore-vm", AUGUR_GUEST_STATE_PAUSED },
                { "save-vm", AUGUR_GUEST_STATE_PAUSED },
                { "watchdog", AUGUR_GUEST_STATE_PAUSED },
                { "debug", AUGUR_GUEST_STATE_PAUSED },
        };

        for (gsize i = 0; status && i < G_N_ELEMENTS (map); i++)
                if (strcmp (status, map[i].status) == 0)
                        return map[i].state;
        return AUGUR_GUEST_STATE_NOSTATE;
}

/* A disk's name as qemu-server names it ("scsi0", "virtio1"), from one
 * entry of query-blockstats or query-block: the drive id less its
 * "drive-" (qemu-server's -drive id=drive-scsi0), else the device's qdev
 * id (-blockdev: "scsi0", or a QOM path "/machine/peripheral/scsi0/...").
 * Only [a-z0-9] names shorter than AUGUR_DISK_NAME_LEN: anything else is
 * not a disk qemu-server made, and is skipped. */
static gboolean
disk_name (JsonObject *o, char ret[AUGUR_DISK_NAME_LEN])
{
        const char *dev = json_object_get_string_member_with_default (o, "device", "");
        const char *name = NULL;
        gsize len;

        if (g_str_has_prefix (dev, "drive-")) {
                name = dev + 6;
                len = strlen (name);
        } else if (!*dev) {
                const char *qdev = json_object_get_string_member_with_default (o, "qdev", "");

                name = g_str_has_prefix (qdev, "/machine/peripheral/") ? qdev + 20 : qdev;
                len = strcspn (name, "/");
        } else {
                return FALSE;
        }
        if (len == 0 || len >= AUGUR_DISK_NAME_LEN || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789") < len)
                return FALSE;
        memcpy (ret, name, len);
        ret[len] = '\0';
        return TRUE;
}

/* query-blockstats, as pvestatd reads it: per disk into s->disk[] (the
 * first AUGUR_MAX_DISKS), summed into the block counters.  FALSE only when
 * the session failed. */
static gboolean
block_stats (AugurQmp *q, int vmid, AugurDomainSample *s, GError **error)
{
        static const char *const keys[AUGUR_DISK_N] = {
                [AUGUR_DISK_RD_BYTES] = "rd_bytes", [AUGUR_DISK_WR_BYTES] = "wr_bytes",
                [AUGUR_DISK_RD_REQS] = "rd_operations", [AUGUR_DISK_WR_REQS] = "wr_operations",
        };
        g_autoptr(JsonNode) ret = NULL;
        g_autoptr(GError) local = NULL;
        JsonArray *a;
        gint64 sum[2] = { 0, 0 };
        gboolean any[2] = { FALSE, FALSE };

        if (!augur_qmp_execute (q, "query-blockstats", NULL, &ret, &local)) {
                if (!g_error_matches (local, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND))
                        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
                g_debug ("pve: vmid %d: %s", vmid, local->message);
                return TRUE;
        }
        if (!JSON_NODE_HOLDS_ARRAY (ret))
                return TRUE;
        a = json_node_get_array (ret);
        for (guint i = 0; i < json_array_get_length (a); i++) {
                JsonObject *o = object_at (a, i);
                JsonNode *st = o ? json_object_get_member (o, "stats") : NULL;
                AugurDiskCounters d = { 0 };
                gint64 v;

                if (!st || !JSON_NODE_HOLDS_OBJECT (st) || !disk_name (o, d.name))
                        continue;
                for (int k = 0; k < AUGUR_DISK_N; k++) {
                        if (!int_member (json_node_get_object (st), keys[k], &v))
                                continue;
                        d.v[k] = v;
                        d.present |= 1u << k;
                        if (k <= AUGUR_DISK_WR_BYTES && v <= G_MAXINT64 / 2 - sum[k]) {
                                sum[k] += v;
                                any[k] = TRUE;
                        }
                }
                if (s->n_disks < AUGUR_MAX_DISKS)
                        s->disk[s->n_disks++] = d;
        }
        if (any[AUGUR_DISK_RD_BYTES])
                augur_sample_set (s, AUGUR_STAT_BLOCK_RD_BYTES, sum[AUGUR_DISK_RD_BYTES]);
        if (any[AUGUR_DISK_WR_BYTES])
                augur_sample_set (s, AUGUR_STAT_BLOCK_WR_BYTES, sum[AUGUR_DISK_WR_BYTES]);
        return TRUE;
}

/* The monitor's part of s: one session.  FALSE (the monitor is backed off)
 * only when the session itself failed; a command QEMU refuses (no balloon
 * device) leaves its fields absent. */
static gboolean
qmp_stats (Pve *p, const Found *f, AugurDomainSample *s, GError **error)
{
        /* libvirt's mapping (qemuMonitorJSONGetMemoryStats): bytes -> KiB
         * but for the fault counts. */
        static const struct {
                const char *key;
                AugurStat stat;
                gboolean bytes;
        } stats[] = {
                { "stat-swap-in", AUGUR_STAT_BALLOON_SWAP_IN_KIB, TRUE },
                { "stat-swap-out", AUGUR_STAT_BALLOON_SWAP_OUT_KIB, TRUE },
                { "stat-major-faults", AUGUR_STAT_BALLOON_MAJOR_FAULT, FALSE },
                { "stat-minor-faults", AUGUR_STAT_BALLOON_MINOR_FAULT, FALSE },
                { "stat-free-memory", AUGUR_STAT_BALLOON_UNUSED_KIB, TRUE },
                { "stat-total-memory", AUGUR_STAT_BALLOON_AVAILABLE_KIB, TRUE },
                { "stat-available-memory", AUGUR_STAT_BALLOON_USABLE_KIB, TRUE },
                { "stat-disk-caches", AUGUR_STAT_BALLOON_DISK_CACHES_KIB, TRUE },
        };
        g_autofree char *path = path_of (p, f->vmid, "qmp");
        g_autoptr(AugurQmp) q = augur_qmp_open (path, p->timeout_ms, error);
        g_autoptr(JsonNode) status = NULL, balloon = NULL, guest = NULL, args = NULL;
        g_autoptr(GError) local = NULL;
        JsonObject *o;
        gint64 v;

        if (!q)
                return FALSE;
        if (p->stats_period_s > 0 &&
            g_hash_table_lookup (p->polling, GINT_TO_POINTER (f->vmid)) != GINT_TO_POINTER (f->pid)) {
                /* A QEMU started since augurd set the period. */
                if (set_polling (q, p->stats_period_s, &local))
                        g_hash_table_insert (p->polling, GINT_TO_POINTER (f->vmid), GINT_TO_POINTER (f->pid));
                else if (!g_error_matches (local, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND))
                        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
                else
                        g_debug ("pve: vmid %d: %s", f->vmid, local->message);
                g_clear_error (&local);
        }
        if (!augur_qmp_execute (q, "query-status", NULL, &status, &local)) {
                if (!g_error_matches (local, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND))
                        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
                g_clear_error (&local);
        } else if (JSON_NODE_HOLDS_OBJECT (status)) {
                JsonNode *st = json_object_get_member (json_node_get_object (status), "status");

                if (st && JSON_NODE_HOLDS_VALUE (st) && json_node_get_value_type (st) == G_TYPE_STRING)
                        augur_sample_set (s, AUGUR_STAT_STATE, state_of (json_node_get_string (st)));
        }
        if (!block_stats (q, f->vmid, s, error))
                return FALSE;
        if (!augur_qmp_execute (q, "query-balloon", NULL, &balloon, &local)) {
                /* DeviceNotActive: no balloon; the guest stats need one too. */
                if (!g_error_matches (local, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND))
                        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
                g_debug ("pve: vmid %d: %s", f->vmid, local->message);
                return TRUE;
        }
        if (JSON_NODE_HOLDS_OBJECT (balloon) && int_member (json_node_get_object (balloon), "actual", &v))
                augur_sample_set (s, AUGUR_STAT_BALLOON_CURRENT_KIB, v / 1024);
        args = object_node ("{\"path\": \"" BALLOON_PATH "\", \"property\": \"guest-stats\"}");
        if (!augur_qmp_execute (q, "qom-get", args, &guest, &local)) {
                if (!g_error_matches (local, AUGUR_QMP_ERROR, AUGUR_QMP_ERROR_COMMAND))
                        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
                g_debug ("pve: vmid %d: %s", f->vmid, local->message);
                return TRUE;
        }
        if (!JSON_NODE_HOLDS_OBJECT (guest))
                return TRUE;
        o = json_node_get_object (guest);
        /* last-update 0: the guest never reported (no polling, no driver). */
        if (!int_member (o, "last-update", &v) || v == 0)
                return TRUE;
        augur_sample_set (s, AUGUR_STAT_BALLOON_LAST_UPDATE_S, v);
        if (json_object_has_member (o, "stats") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "stats"))) {
                JsonObject *st = json_object_get_object_member (o, "stats");

                for (gsize i = 0; i < G_N_ELEMENTS (stats); i++)
                        if (int_member (st, stats[i].key, &v))
                                augur_sample_set (s, stats[i].stat, stats[i].bytes ? v / 1024 : v);
        }
        return TRUE;
}

/* CPU time and resident size of the QEMU process. */
static void
proc_stats (int pid, AugurDomainSample *s)
{
        g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
        g_autofree char *text = NULL;
        guint64 ut, st, rss;
        gsize len = 0;
        long tck = sysconf (_SC_CLK_TCK), page = sysconf (_SC_PAGESIZE);

        if (tck <= 0 || page <= 0 || !read_capped (path, 4096, &text, &len, NULL) ||
            !augur_pve_parse_proc_stat (text, len, &ut, &st, &rss))
                return;
        if (ut > (guint64) G_MAXINT64 / 2 / (1000000000 / (guint64) tck) ||
            st > (guint64) G_MAXINT64 / 2 / (1000000000 / (guint64) tck))
                return;
        augur_sample_set (s, AUGUR_STAT_CPU_USER_NS, (gint64) (ut * (1000000000 / (guint64) tck)));
        augur_sample_set (s, AUGUR_STAT_CPU_SYSTEM_NS, (gint64) (st * (1000000000 / (guint64) tck)));
        augur_sample_set (s, AUGUR_STAT_CPU_TIME_NS, (gint64) ((ut + st) * (1000000000 / (guint64) tck)));
        if (rss <= (guint64) G_MAXINT64 / (guint64) page)
                augur_sample_set (s, AUGUR_STAT_BALLOON_RSS_KIB, (gint64) (rss * (guint64) page / 1024));
}

/* The network counters: qemu-server's host tap of each netN of the
 * configuration, tap<vmid>i<N> (/sys/class/net/<tap>/statistics).  The
 * guest receives what the tap transmits, so rx and tx swap, as libvirt
 * swaps them for a tap.  Absent when no tap could be read (none
 * configured, the guest stopping); a tap that cannot be read is left out
 * of the sum. */
static void
net_stats (const Pve *p, const Found *f, AugurDomainSample *s)
{
        static const char *const file[2] = { "tx_bytes", "rx_bytes" };  /* guest rx, tx */
        static const AugurStat stat[2] = { AUGUR_STAT_NET_RX_BYTES, AUGUR_STAT_NET_TX_BYTES };
        gint64 sum[2] = { 0, 0 };
        gboolean any = FALSE;

        for (guint n = 0; n < AUGUR_PVE_MAX_NETS; n++) {
                gint64 v[2];
                gboolean ok = TRUE;

                if (!(f->conf.nets & (1u << n)))
                        continue;
                for (int k = 0; k < 2 && ok; k++) {
                        g_autofree char *tap = g_strdup_printf ("tap%di%u", f->vmid, n);
                        g_autofree char *path = g_build_filename (p->net_dir, tap, "statistics", file[k], NULL);
                        g_autofree char *text = NULL;
                        gsize len;
                        guint64 u;

                        /* at most 2^57 each: the sum of 32 stays far from wrapping */
                        ok = read_capped (path, 64, &text, &len, NULL) &&
                             g_ascii_string_to_unsigned (g_strstrip (text), 10, 0, G_MAXINT64 / 64, &u, NULL);
                        if (ok)
                                v[k] = (gint64) u;
                }
                if (!ok)
                        continue;
                sum[0] += v[0];
                sum[1] += v[1];
                any = TRUE;
        }
        if (any)
                for (int k = 0; k < 2; k++)
                        augur_sample_set (s, stat[k], sum[k]);
}

static AugurQmpBackoff *
backoff_of (Pve *p, int vmid)
{
        AugurQmpBackoff *b = g_hash_table_lookup (p->backoff, GINT_TO_POINTER (vmid));

        if (!b) {
                b = g_new0 (AugurQmpBackoff, 1);
                g_hash_table_insert (p->backoff, GINT_TO_POINTER (vmid), b);
        }
        return b;
}

static gboolean
pve_guests_with_stats (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data, GArray **ret_samples,
                       GError **error)
{
        Pve *p = augur_hv_get_priv (hv);
        g_autoptr(GArray) found = scan (p, error);
        g_autoptr(GArray) out = NULL;

        if (!found)
                return FALSE;
        out = augur_collect_sample_array_new (found->len);
        for (guint i = 0; i < found->len; i++) {
                const Found *f = &g_array_index (found, Found, i);
                AugurQmpBackoff *b = backoff_of (p, f->vmid);
                AugurDomainSample s = { 0 };
                g_autoptr(GError) local = NULL;
                gint64 now = g_get_monotonic_time ();

                if (keep) {
                        g_autoptr(AugurHvGuest) g = wrap (p, f);

                        if (!keep (g, keep_data))
                                continue;       /* neither /proc nor its monitor */
                }
                identity (f, s.uuid, &s.name);
                s.id = f->vmid;
                if (f->conf.memory_mib > 0)
                        augur_sample_set (&s, AUGUR_STAT_BALLOON_MAXIMUM_KIB, f->conf.memory_mib * 1024);
                augur_sample_set (&s, AUGUR_STAT_VCPU_CURRENT, augur_pve_conf_vcpus (&f->conf));
                augur_sample_set (&s, AUGUR_STAT_VCPU_MAXIMUM, augur_pve_conf_max_vcpus (&f->conf));
                proc_stats (f->pid, &s);
                net_stats (p, f, &s);
                if (augur_qmp_backoff_ready (b, now)) {
                        if (qmp_stats (p, f, &s, &local)) {
                                if (b->failures)
                                        g_message ("pve: vmid %d: its monitor answers again", f->vmid);
                                augur_qmp_backoff_succeeded (b);
                        } else {
                                if (!b->failures)
                                        g_message ("pve: vmid %d: %s; backing off, ignoring", f->vmid, local->message);
                                else
                                        g_debug ("pve: vmid %d: %s", f->vmid, local->message);
                                augur_qmp_backoff_failed (b, now, BACKOFF_MIN_US, BACKOFF_MAX_US);
                        }
                }
                g_array_append_val (out, s);
        }
        *ret_samples = g_steal_pointer (&out);
        return TRUE;
}

/* ---- the connection ---- */

static gboolean
pve_accepts (const char *uri)
{
        return g_str_has_prefix (uri, "pve:");
}

/* What a pve: URI says (parse_uri). */
typedef struct {
        char *run, *conf, *net, *qm;    /* owned; qm NULL = none              */
        int timeout_ms, qm_timeout_ms;
} PveUri;

static void
pve_uri_clear (PveUri *u)
{
        g_clear_pointer (&u->run, g_free);
        g_clear_pointer (&u->conf, g_free);
        g_clear_pointer (&u->net, g_free);
        g_clear_pointer (&u->qm, g_free);
}

/* A whole number of ms within lo .. hi. */
static gboolean
parse_ms (const char *v, int lo, int hi, int *ret)
{
        double ms;

        if (!augur_parse_decimal (v, &ms, NULL) || ms < lo || ms > hi || ms != (int) ms)
                return FALSE;
        *ret = (int) ms;
        return TRUE;
}

static gboolean
parse_uri (const char *uri, PveUri *ret, GError **error)
{
        g_autoptr(GUri) u = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
        g_autoptr(GHashTable) params = NULL;
        PveUri r = {
                .run = g_strdup (PVE_RUN_DIR),
                .conf = g_strdup (PVE_CONF_DIR),
                .net = g_strdup (PVE_NET_DIR),
                .qm = g_file_test (PVE_QM, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup (PVE_QM) : NULL,
                .timeout_ms = AUGUR_QMP_DEFAULT_TIMEOUT_MS,
                .qm_timeout_ms = QM_TIMEOUT_MS,
        };
        const char *query, *path;
        GHashTableIter it;
        gpointer k, v;

        if (!u || g_strcmp0 (g_uri_get_scheme (u), "pve") != 0 || (g_uri_get_host (u) && *g_uri_get_host (u)) ||
            g_uri_get_fragment (u) || ((path = g_uri_get_path (u)) && *path && strcmp (path, "/") != 0)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "cannot connect to %s: not pve:/// or "
                             "pve:///?run=DIR&conf=DIR&net=DIR&qm=PATH&timeout_ms=N&qm_timeout_ms=N", uri);
                pve_uri_clear (&r);
                return FALSE;
        }
        if ((query = g_uri_get_query (u)) && *query) {
                g_autoptr(GError) local = NULL;

                params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, &local);
                if (!params) {
                        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "cannot connect to %s: %s", uri,
                                     local->message);
                        pve_uri_clear (&r);
                        return FALSE;
                }
                g_hash_table_iter_init (&it, params);
                while (g_hash_table_iter_next (&it, &k, &v)) {
                        char **dest = NULL;

                        if (strcmp (k, "run") == 0)
                                dest = &r.run;
                        else if (strcmp (k, "conf") == 0)
                                dest = &r.conf;
                        else if (strcmp (k, "net") == 0)
                                dest = &r.net;
                        else if (strcmp (k, "qm") == 0)
                                dest = &r.qm;
                        if (dest && g_path_is_absolute (v)) {
                                g_free (*dest);
                                *dest = g_strdup (v);
                        } else if (!(strcmp (k, "timeout_ms") == 0 && parse_ms (v, 1, 60000, &r.timeout_ms)) &&
                                   !(strcmp (k, "qm_timeout_ms") == 0 && parse_ms (v, 1, 600000, &r.qm_timeout_ms))) {
                                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                                             "cannot connect to %s: %s=%s: not an absolute run, conf or net directory "
                                             "or qm command, nor a timeout_ms of 1 .. 60000 or qm_timeout_ms of "
                                             "1 .. 600000", uri, (char *) k, (char *) v);
                                pve_uri_clear (&r);
                                return FALSE;
                        }
                }
        }
        *ret = r;
        return TRUE;
}

static AugurHv *
pve_open (const char *uri, const AugurHvOptions *options, const AugurHvCallbacks *cb, gpointer user_data,
          GError **error)
{
        Pve *p;
        PveUri u;
        AugurHv *hv;

        if (!parse_uri (uri, &u, error))
                return NULL;
        if (!g_file_test (u.conf, G_FILE_TEST_IS_DIR)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST, "cannot connect to %s: %s is not a directory",
                             uri, u.conf);
                pve_uri_clear (&u);
                return NULL;
        }
        p = g_atomic_rc_box_new0 (Pve);
        p->run_dir = g_steal_pointer (&u.run);
        p->conf_dir = g_steal_pointer (&u.conf);
        p->net_dir = g_steal_pointer (&u.net);
        p->qm = g_steal_pointer (&u.qm);
        p->timeout_ms = u.timeout_ms;
        p->qm_timeout_ms = u.qm_timeout_ms;
        p->agent_timeout_ms = AGENT_TIMEOUT_MS;
        p->polling = g_hash_table_new (NULL, NULL);
        p->warned = g_hash_table_new (NULL, NULL);
        p->backoff = g_hash_table_new_full (NULL, NULL, NULL, g_free);
        p->pending = g_ptr_array_new_with_free_func (pending_free);
        if (cb)
                p->cb = *cb;
        p->user_data = user_data;
        watch_run_dir (p);
        hv = augur_hv_new (&augur_hv_pve_ops, p);
        p->hv = hv;
        return hv;
}

static void
pve_close (AugurHv *hv)
{
        Pve *p = augur_hv_get_priv (hv);

        unwatch (p);
        pve_unref (p);
}

static gboolean
pve_is_alive (AugurHv *hv)
{
        Pve *p = augur_hv_get_priv (hv);

        return g_file_test (p->conf_dir, G_FILE_TEST_IS_DIR);
}

static GPtrArray *
pve_list_guests (AugurHv *hv, GError **error)
{
        Pve *p = augur_hv_get_priv (hv);
        g_autoptr(GArray) found = scan (p, error);
        GPtrArray *out;

        if (!found)
                return NULL;
        out = g_ptr_array_new_full (found->len, (GDestroyNotify) augur_hv_guest_unref);
        for (guint i = 0; i < found->len; i++)
                g_ptr_array_add (out, wrap (p, &g_array_index (found, Found, i)));
        return out;
}

static AugurHvGuest *
pve_lookup_guest (AugurHv *hv, const char *uuid, GError **error)
{
        Pve *p = augur_hv_get_priv (hv);
        g_autoptr(GArray) found = scan (p, error);

        if (!found)
                return NULL;
        for (guint i = 0; i < found->len; i++) {
                const Found *f = &g_array_index (found, Found, i);
                char u[AUGUR_UUID_STRLEN];
                g_autofree char *name = NULL;

                identity (f, u, &name);
                if (g_ascii_strcasecmp (u, uuid) == 0)
                        return wrap (p, f);
        }
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "pve: no running guest with UUID %s", uuid);
        return NULL;
}

/* ---- one guest ---- */

static PveGuest *
pg_of (AugurHvGuest *g)
{
        return augur_hv_guest_get_priv (g);
}

typedef struct {
        gboolean done, timed_out;
        char *output;                   /* stdout and stderr, owned           */
        GError *error;
} QmRun;

static void
qm_communicated (GObject *source, GAsyncResult *res, gpointer data)
{
        QmRun *r = data;

        g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &r->output, NULL, &r->error);
        r->done = TRUE;
}

static gboolean
qm_timed_out (gpointer data)
{
        QmRun *r = data;

        r->timed_out = TRUE;
        return G_SOURCE_REMOVE;
}

/* Run p->qm with args (NULL-terminated, after the command), wait for it
 * on a private main context (augurd's own sources do not run meanwhile)
 * for at most p->qm_timeout_ms, and fail unless it exits 0.  The error
 * carries the end of its output. */
static gboolean
run_qm (const Pve *p, const char *const *args, GError **error)
{
        g_autoptr(GMainContext) ctx = g_main_context_new ();
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_MERGE |
                                                                      G_SUBPROCESS_FLAGS_STDIN_INHERIT);
        g_autoptr(GSubprocess) proc = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(GSource) timeout = g_timeout_source_new (p->qm_timeout_ms);
        g_autoptr(GCancellable) cancel = g_cancellable_new ();
        g_autofree char *cmd = NULL;
        QmRun r = { 0 };
        char *tail;
        gboolean ok;

        g_ptr_array_add (argv, p->qm);
        for (gsize i = 0; args[i]; i++)
                g_ptr_array_add (argv, (gpointer) args[i]);
        g_ptr_array_add (argv, NULL);
        cmd = g_strjoinv (" ", (char **) argv->pdata);
        g_subprocess_launcher_setenv (l, "AUGUR_PVE_RUN_DIR", p->run_dir, TRUE);
        g_subprocess_launcher_setenv (l, "AUGUR_PVE_CONF_DIR", p->conf_dir, TRUE);
        g_main_context_push_thread_default (ctx);
        proc = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &r.error);
        if (proc) {
                g_subprocess_communicate_utf8_async (proc, NULL, cancel, qm_communicated, &r);
                g_source_set_callback (timeout, qm_timed_out, &r, NULL);
                g_source_attach (timeout, ctx);
                while (!r.done && !r.timed_out)
                        g_main_context_iteration (ctx, TRUE);
                if (!r.done) {
                        /* Cancelled, communicate ends at once even if a
                         * child of qm still holds the pipe open. */
                        g_subprocess_force_exit (proc);
                        g_cancellable_cancel (cancel);
                        while (!r.done)
                                g_main_context_iteration (ctx, TRUE);
                }
                g_source_destroy (timeout);
        }
        g_main_context_pop_thread_default (ctx);
        if (!r.output)
                r.output = g_strdup ("");
        tail = r.output;
        if (strlen (tail) > QM_MAX_OUTPUT)
                tail += strlen (tail) - QM_MAX_OUTPUT;
        g_strstrip (tail);
        if (proc && r.timed_out) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "%s: no exit within %d ms, killed: %s",
                             cmd, p->qm_timeout_ms, tail);
                ok = FALSE;
        } else if (!proc || r.error) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "%s: %s", cmd,
                             r.error ? r.error->message : "cannot run it");
                ok = FALSE;
        } else if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "%s: %s %d: %s", cmd,
                             g_subprocess_get_if_exited (proc) ? "exit status" : "killed by signal",
                             g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc)
                                                               : g_subprocess_get_term_sig (proc),
                             tail);
                ok = FALSE;
        } else {
                ok = TRUE;
        }
        g_clear_error (&r.error);
        g_free (r.output);
        return ok;
}

/* qm on one guest, for what ("set vCPUs"): without a qm command, or when
 * it fails, FALSE with the vmid in the message. */
static gboolean
guest_qm (const PveGuest *pg, const char *const *args, const char *what, GError **error)
{
        if (!pg->pve->qm) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "vmid %d: no %s to %s with (pve:///?qm=PATH names another)", pg->vmid, PVE_QM, what);
                return FALSE;
        }
        if (!run_qm (pg->pve, args, error)) {
                g_prefix_error (error, "vmid %d: ", pg->vmid);
                return FALSE;
        }
        return TRUE;
}

/* The policy is the augur block of the VM's description (pve-conf.h):
 * handed out as the <policy> element libvirt would return. */
static char *
pve_read_metadata (AugurHvGuest *g, const char *nsuri, GError **error)
{
        PveGuest *pg = pg_of (g);
        g_autoptr(GError) local = NULL;
        AugurPveConf c;
        char *xml;

        if (strcmp (nsuri, AUGUR_POLICY_NS_URI) != 0)
                return NULL;
        if (!read_conf (pg->pve, pg->vmid, &c, &local)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d: %s", pg->vmid, local->message);
                return NULL;
        }
        if (c.policy_ignored)
                g_message ("pve: vmid %d: %u line(s) of the description's augur block are not \"key = value\" "
                           "(or the block is not closed), ignoring", pg->vmid, c.policy_ignored);
        xml = g_steal_pointer (&c.policy_xml);
        augur_pve_conf_clear (&c);
        return xml;
}

/* Through qm set <vmid> --description, so that qemu-server writes the
 * conf (its lock, its encoding). */
static gboolean
pve_write_metadata (AugurHvGuest *g, const char *nsuri, const char *xml, GError **error)
{
        PveGuest *pg = pg_of (g);
        Pve *p = pg->pve;
        g_autoptr(GError) local = NULL;
        g_autofree char *vmid = g_strdup_printf ("%d", pg->vmid);
        g_autofree char *descr = NULL;
        AugurPveConf c;
        const char *args[] = { "set", vmid, "--description", NULL, NULL };

        if (strcmp (nsuri, AUGUR_POLICY_NS_URI) != 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "vmid %d: only augur's policy (%s) is kept in the description", pg->vmid,
                             AUGUR_POLICY_NS_URI);
                return FALSE;
        }
        if (!read_conf (p, pg->vmid, &c, &local)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d: %s", pg->vmid, local->message);
                return FALSE;
        }
        descr = augur_pve_description_set_policy (c.description, xml, &local);
        augur_pve_conf_clear (&c);
        if (!descr) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "vmid %d: %s", pg->vmid, local->message);
                return FALSE;
        }
        args[3] = descr;
        return guest_qm (pg, args, "write the description", error);
}

static gboolean
pve_read_devices (AugurHvGuest *g, AugurHvDevices *ret, GError **error)
{
        PveGuest *pg = pg_of (g);
        AugurPveConf c;

        ret->balloon_autodeflate = FALSE;
        ret->activity_socket = NULL;
        ret->balloon_owner = NULL;
        if (!read_conf (pg->pve, pg->vmid, &c, error))
                return FALSE;
        if (augur_pve_conf_auto_ballooned (&c))
                ret->balloon_owner = "Proxmox's auto-ballooning (pvestatd moves every balloon: below memory: "
                                     "unless shares: is 0; `qm set VMID --shares 0` hands it to augur)";
        augur_pve_conf_clear (&c);
        return TRUE;
}

static gboolean
pve_set_stats_period (AugurHvGuest *g, int period_s, GError **error)
{
        PveGuest *pg = pg_of (g);
        Pve *p = pg->pve;
        g_autofree char *path = path_of (p, pg->vmid, "qmp");
        g_autoptr(GError) local = NULL;
        g_autoptr(AugurQmp) q = NULL;
        int pid;

        p->stats_period_s = period_s;
        if (!(pid = running_pid (p, pg->vmid))) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d is not running", pg->vmid);
                return FALSE;
        }
        if (!(q = augur_qmp_open (path, p->timeout_ms, &local)) || !set_polling (q, period_s, &local)) {
                set_qmp_error (error, pg->vmid, local);
                return FALSE;
        }
        g_hash_table_insert (p->polling, GINT_TO_POINTER (pg->vmid), GINT_TO_POINTER (pid));
        return TRUE;
}

static gboolean
pve_set_agent_timeout (AugurHvGuest *g, int timeout_s, GError **error)
{
        pg_of (g)->pve->agent_timeout_ms = CLAMP (timeout_s, 1, 60) * 1000;
        return TRUE;
}

/* THE GUEST AGENT is qemu-server's: a virtio-serial port whose host end
 * is <vmid>.qga in the run directory, there when the configuration says
 * agent: 1.  One short session per call (qmp.h augur_qga_open, the
 * deadline augurd sets with set_agent_timeout, 1 s by default): an agent
 * that is not running in the guest costs that deadline and answers
 * nothing. */
static AugurQmp *
agent_open (PveGuest *pg, GError **error)
{
        g_autofree char *path = path_of (pg->pve, pg->vmid, "qga");
        g_autoptr(GError) local = NULL;
        AugurPveConf c;
        AugurQmp *q;
        gboolean on;

        if (!read_conf (pg->pve, pg->vmid, &c, &local)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d: %s", pg->vmid, local->message);
                return NULL;
        }
        on = c.agent == 1;
        augur_pve_conf_clear (&c);
        if (!on) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "vmid %d: no guest agent (agent: is not 1 in its configuration)", pg->vmid);
                return NULL;
        }
        if (!(q = augur_qga_open (path, pg->pve->agent_timeout_ms, &local)))
                set_qmp_error (error, pg->vmid, local);
        return q;
}

/* guest-get-vcpus: the guest's logical CPUs, each {logical-id, online,
 * can-offline}; NULL (with *error) when the reply is not such a list. */
static JsonArray *
agent_vcpus (PveGuest *pg, AugurQmp *q, JsonNode **ret_node, GError **error)
{
        JsonArray *a = execute_list (pg, q, "guest-get-vcpus", ret_node, error);

        for (guint i = 0; a && i < json_array_get_length (a); i++) {
                JsonObject *o = object_at (a, i);
                gint64 id;

                if (!o || !int_member (o, "logical-id", &id) || !json_object_has_member (o, "online")) {
                        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                                     "vmid %d: guest-get-vcpus: not a list of vCPUs", pg->vmid);
                        return NULL;
                }
        }
        return a;
}

static gboolean
vcpu_online (JsonArray *a, guint i)
{
        return json_object_get_boolean_member_with_default (json_array_get_object_element (a, i), "online", FALSE);
}

static void
pve_probe_vcpus (AugurHvGuest *g, AugurVcpuCaps *ret)
{
        PveGuest *pg = pg_of (g);
        AugurPveConf c;
        gboolean agent;

        ret->plugged = ret->online = ret->maximum = -1;
        ret->agent = FALSE;
        if (!read_conf (pg->pve, pg->vmid, &c, NULL))
                return;
        ret->plugged = augur_pve_conf_vcpus (&c);
        ret->maximum = augur_pve_conf_max_vcpus (&c);
        agent = c.agent == 1;
        augur_pve_conf_clear (&c);
        if (agent) {
                g_autoptr(AugurQmp) q = agent_open (pg, NULL);
                g_autoptr(JsonNode) node = NULL;
                JsonArray *a = q ? agent_vcpus (pg, q, &node, NULL) : NULL;

                if (a) {
                        ret->agent = TRUE;
                        ret->online = 0;
                        for (guint i = 0; i < json_array_get_length (a); i++)
                                ret->online += vcpu_online (a, i);
                }
        }
}

static gboolean
pve_set_balloon (AugurHvGuest *g, guint64 target_kib, GError **error)
{
        PveGuest *pg = pg_of (g);
        Pve *p = pg->pve;
        g_autofree char *path = path_of (p, pg->vmid, "qmp");
        g_autofree char *json = NULL;
        g_autoptr(JsonNode) args = NULL;
        g_autoptr(GError) local = NULL;
        AugurPveConf c;
        guint64 lo, hi, kib;
        gboolean ok;

        if (!read_conf (p, pg->vmid, &c, &local)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d: %s", pg->vmid, local->message);
                return FALSE;
        }
        ok = augur_pve_conf_balloon_range_kib (&c, &lo, &hi, &local);
        augur_pve_conf_clear (&c);
        if (!ok) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "vmid %d: %s", pg->vmid, local->message);
                return FALSE;
        }
        kib = CLAMP (target_kib, lo, hi);
        if (kib != target_kib)
                g_debug ("pve: vmid %d: balloon %" G_GUINT64_FORMAT " KiB clamped to %" G_GUINT64_FORMAT " KiB "
                         "(balloon: .. memory:)", pg->vmid, target_kib, kib);
        json = g_strdup_printf ("{\"value\": %" G_GUINT64_FORMAT "}", kib * 1024);
        args = object_node (json);
        if (!augur_qmp_call (path, p->timeout_ms, "balloon", args, NULL, &local)) {
                set_qmp_error (error, pg->vmid, local);
                return FALSE;
        }
        return TRUE;
}

/* Online or offline the guest's logical CPUs through its agent until n are
 * online: the highest-numbered ones that can go offline first, the
 * lowest-numbered offline ones first when adding (guest-set-vcpus, as
 * libvirt's VIR_DOMAIN_VCPU_GUEST does it). */
static gboolean
agent_set_vcpus (PveGuest *pg, int n, GError **error)
{
        g_autoptr(AugurQmp) q = agent_open (pg, error);
        g_autoptr(JsonNode) node = NULL, args = NULL, done = NULL;
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(GError) local = NULL;
        JsonArray *a;
        guint len, changes = 0;
        int online = 0;

        if (!q || !(a = agent_vcpus (pg, q, &node, error)))
                return FALSE;
        len = json_array_get_length (a);
        for (guint i = 0; i < len; i++)
                online += vcpu_online (a, i);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "vcpus");
        json_builder_begin_array (b);
        for (guint k = 0; k < len && online != n; k++) {
                guint i = online > n ? len - 1 - k : k;
                JsonObject *o = json_array_get_object_element (a, i);
                gboolean on = vcpu_online (a, i);

                if (online > n ? !on || !json_object_get_boolean_member_with_default (o, "can-offline", FALSE) : on)
                        continue;
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "logical-id");
                json_builder_add_int_value (b, json_object_get_int_member (o, "logical-id"));
                json_builder_set_member_name (b, "online");
                json_builder_add_boolean_value (b, !on);
                json_builder_end_object (b);
                online += on ? -1 : 1;
                changes++;
        }
        json_builder_end_array (b);
        json_builder_end_object (b);
        if (online != n) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "vmid %d: the guest can have at most %d vCPUs online and at least %d, not %d",
                             pg->vmid, (int) len, online > n ? online : 1, n);
                return FALSE;
        }
        if (changes == 0)
                return TRUE;
        args = json_builder_get_root (b);
        if (!augur_qmp_execute (q, "guest-set-vcpus", args, &done, &local)) {
                set_qmp_error (error, pg->vmid, local);
                return FALSE;
        }
        if (!JSON_NODE_HOLDS_VALUE (done) || json_node_get_value_type (done) != G_TYPE_INT64 ||
            json_node_get_int (done) != (gint64) changes) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED,
                             "vmid %d: guest-set-vcpus changed fewer than the %u vCPUs asked", pg->vmid, changes);
                return FALSE;
        }
        return TRUE;
}

static gboolean
pve_set_vcpus (AugurHvGuest *g, int n, AugurHvVcpuMethod method, GError **error)
{
        PveGuest *pg = pg_of (g);
        Pve *p = pg->pve;
        g_autofree char *vmid = g_strdup_printf ("%d", pg->vmid);
        g_autofree char *count = g_strdup_printf ("%d", n);
        const char *args[] = { "set", vmid, "--vcpus", count, NULL };

        if (!running_pid (p, pg->vmid)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "vmid %d is not running", pg->vmid);
                return FALSE;
        }
        if (method == AUGUR_HV_VCPUS_AGENT)
                return agent_set_vcpus (pg, n, error);
        return guest_qm (pg, args, "set vCPUs", error);
}

static gboolean
pve_agent_users (AugurHvGuest *g, gint64 *ret_users, GError **error)
{
        PveGuest *pg = pg_of (g);
        g_autoptr(AugurQmp) q = agent_open (pg, error);
        g_autoptr(JsonNode) node = NULL;
        JsonArray *a = q ? execute_list (pg, q, "guest-get-users", &node, error) : NULL;

        if (!a)
                return FALSE;
        *ret_users = json_array_get_length (a);
        return TRUE;
}

/* DISK LIMITS.  qemu-server starts a disk with the limits of its config
 * line (mbps=, mbps_rd=, mbps_wr=, iops=, ... and their _max bursts) and
 * changes them live with QMP block_set_io_throttle on "drive-<disk>", as
 * here.  augur's raise is live only: the config keeps the admin's value,
 * which a restart of the guest restores.  block_set_io_throttle sets
 * every limit of the disk at once, so the ones augur does not move (the
 * other byte and IOPS limits, bursts, the throttle group) are sent back
 * as query-block reads them.
 * A disk without a medium (an empty CD-ROM) has no limits: an error. */

/* The byte-rate and IOPS limits augur moves: their names in query-block
 * and block_set_io_throttle (which requires all six: 0 = none), and their
 * AugurBlockIoTune fields.  In block_set_io_throttle's own order, so the
 * call reads as QEMU documents it. */
static const struct {
        const char *key;
        gsize offset;
} bps_limits[] = {
        { "bps", G_STRUCT_OFFSET (AugurBlockIoTune, total_bytes_sec) },
        { "bps_rd", G_STRUCT_OFFSET (AugurBlockIoTune, read_bytes_sec) },
        { "bps_wr", G_STRUCT_OFFSET (AugurBlockIoTune, write_bytes_sec) },
        { "iops", G_STRUCT_OFFSET (AugurBlockIoTune, total_iops_sec) },
        { "iops_rd", G_STRUCT_OFFSET (AugurBlockIoTune, read_iops_sec) },
        { "iops_wr", G_STRUCT_OFFSET (AugurBlockIoTune, write_iops_sec) },
};

/* Open a monitor session on pg (*ret_q) and return query-block's
 * "inserted" object of disk (the limits), or NULL with *error; *ret_node
 * keeps it alive. */
static JsonObject *
disk_inserted (PveGuest *pg, const char *disk, AugurQmp **ret_q, JsonNode **ret_node, GError **error)
{
        g_autofree char *path = path_of (pg->pve, pg->vmid, "qmp");
        g_autoptr(GError) local = NULL;
        JsonArray *a;

        if (!(*ret_q = augur_qmp_open (path, pg->pve->timeout_ms, &local))) {
                set_qmp_error (error, pg->vmid, local);
                return NULL;
        }
        if (!(a = execute_list (pg, *ret_q, "query-block", ret_node, error)))
                return NULL;

        for (guint i = 0; i < json_array_get_length (a); i++) {
                JsonObject *o = object_at (a, i);
                JsonNode *ins = o ? json_object_get_member (o, "inserted") : NULL;
                char name[AUGUR_DISK_NAME_LEN];

                if (!o || !disk_name (o, name) || strcmp (name, disk) != 0)
                        continue;
                if (!ins || !JSON_NODE_HOLDS_OBJECT (ins))
                        break;
                return json_node_get_object (ins);
        }
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "vmid %d: no disk %s with a medium",
                     pg->vmid, disk);
        return NULL;
}

/* CPU WEIGHT.  Proxmox keeps a guest's weight as cpuunits in its .conf,
 * and qemu-server sets the cgroup from it; augur never writes that file
 * (nor the cgroup behind qemu-server's back), so it does not move the
 * weight of a Proxmox guest.  There is no set: the get says why, once. */
static gboolean
pve_get_cpu_shares (AugurHvGuest *g, guint64 *ret_shares, GError **error)
{
        (void) ret_shares;
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED,
                     "guest %s: Proxmox keeps the CPU weight as cpuunits in the VM's .conf, which augur "
                     "does not write (not supported on pve)", augur_hv_guest_get_name (g));
        return FALSE;
}

static gboolean
pve_get_block_iotune (AugurHvGuest *g, const char *disk, AugurBlockIoTune *ret, GError **error)
{
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(JsonNode) node = NULL;
        JsonObject *ins = disk_inserted (pg_of (g), disk, &q, &node, error);
        gint64 v;

        if (!ins)
                return FALSE;
        *ret = (AugurBlockIoTune) { 0 };
        for (gsize i = 0; i < G_N_ELEMENTS (bps_limits); i++)
                if (int_member (ins, bps_limits[i].key, &v))
                        G_STRUCT_MEMBER (guint64, ret, bps_limits[i].offset) = (guint64) v;
        return TRUE;
}

static gboolean
pve_set_block_iotune (AugurHvGuest *g, const char *disk, const AugurBlockIoTune *t, GError **error)
{
        /* Sent back as they are: block_set_io_throttle's other members
         * (none of them required). */
        static const char *const kept[] = {
                "bps_max", "bps_rd_max", "bps_wr_max", "iops_max",
                "iops_rd_max", "iops_wr_max", "bps_max_length", "bps_rd_max_length", "bps_wr_max_length",
                "iops_max_length", "iops_rd_max_length", "iops_wr_max_length", "iops_size",
        };
        PveGuest *pg = pg_of (g);
        g_autofree char *device = g_strdup_printf ("drive-%s", disk);
        g_autoptr(GError) local = NULL;
        g_autoptr(AugurQmp) q = NULL;
        g_autoptr(JsonNode) node = NULL, args = NULL;
        g_autoptr(JsonBuilder) b = json_builder_new ();
        JsonObject *ins = disk_inserted (pg, disk, &q, &node, error);
        gint64 v;

        if (!ins)
                return FALSE;
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "device");
        json_builder_add_string_value (b, device);
        for (gsize i = 0; i < G_N_ELEMENTS (bps_limits); i++) {
                guint64 set = G_STRUCT_MEMBER (guint64, t, bps_limits[i].offset);

                json_builder_set_member_name (b, bps_limits[i].key);
                json_builder_add_int_value (b, set ? (gint64) MIN (set, (guint64) G_MAXINT64)
                                            : int_member (ins, bps_limits[i].key, &v) ? v : 0);
        }
        for (gsize i = 0; i < G_N_ELEMENTS (kept); i++) {
                gboolean have = int_member (ins, kept[i], &v) && v > 0;

                /* A burst only when set, and its length only with it
                 * (QEMU refuses a length without its burst). */
                if (have && g_str_has_suffix (kept[i], "_max_length")) {
                        g_autofree char *burst = g_strndup (kept[i], strlen (kept[i]) - strlen ("_length"));
                        gint64 rate;

                        have = int_member (ins, burst, &rate) && rate > 0;
                }
                if (!have)
                        continue;
                json_builder_set_member_name (b, kept[i]);
                json_builder_add_int_value (b, v);
        }
        if (json_object_has_member (ins, "group")) {
                json_builder_set_member_name (b, "group");
                json_builder_add_string_value (b, json_object_get_string_member_with_default (ins, "group", device));
        }
        json_builder_end_object (b);
        args = json_builder_get_root (b);
        if (!augur_qmp_execute (q, "block_set_io_throttle", args, NULL, &local)) {
                set_qmp_error (error, pg->vmid, local);
                return FALSE;
        }
        return TRUE;
}

const AugurHvOps augur_hv_pve_ops = {
        .name = "pve",
        .accepts = pve_accepts,
        .open = pve_open,
        .close = pve_close,
        .is_alive = pve_is_alive,
        .guests_with_stats = pve_guests_with_stats,
        .list_guests = pve_list_guests,
        .lookup_guest = pve_lookup_guest,
        .guest_free = guest_free,
        .read_metadata = pve_read_metadata,
        .write_metadata = pve_write_metadata,
        .read_devices = pve_read_devices,
        .set_stats_period = pve_set_stats_period,
        .set_agent_timeout = pve_set_agent_timeout,
        .probe_vcpus = pve_probe_vcpus,
        .set_balloon = pve_set_balloon,
        .set_vcpus = pve_set_vcpus,
        .agent_users = pve_agent_users,
        .get_block_iotune = pve_get_block_iotune,
        .set_block_iotune = pve_set_block_iotune,
        .get_cpu_shares = pve_get_cpu_shares,
};
