/* pve-conf.h — the pure parsers of the Proxmox VE backend (hv-pve.c): a
 * qemu-server <vmid>.conf, its file name, a pidfile, /proc/<pid>/stat and
 * /proc/<pid>/cmdline.  Text in, struct out: no I/O here, so every parser
 * is tested on hostile input (tests/test-pve-conf.c).
 *
 * THE CONF.  qemu-server keeps one "key: value" line per setting in
 * /etc/pve/qemu-server/<vmid>.conf; '#' lines are the description; the
 * first "[section]" ([snapshot-name], [PENDING], [special:cloudinit])
 * ends the current configuration and everything after it is ignored.
 * Only the keys below are read; unknown keys are skipped.  Numbers are
 * decimal digits only (no sign, no "0x", no exponent, no spaces inside):
 * a value that is not, or is out of range, leaves its field absent and is
 * counted in `ignored`, as is a line that is not "key: value".
 *   name:     the guest's name (printable ASCII, no spaces, <= 128)
 *   memory:   MiB; "4096" or, since PVE 8, "current=4096"
 *   balloon:  MiB, the balloon's minimum; 0 = ballooning off
 *   cores, sockets:  vCPU maximum = sockets × cores (each defaults to 1)
 *   vcpus:    vCPUs plugged at start (defaults to the maximum)
 *   agent:    "1" / "0" or "enabled=1,..." (a property string)
 *   shares:   the guest's weight in pvestatd's auto-ballooning, 0 .. 50000
 *             (default 1000); 0 takes the guest out of it
 *   smbios1:  its uuid= (the guest's stable UUID when present)
 *   net0 .. net31:  which network devices there are (only that: qemu-server
 *             names each one's host tap "tap<vmid>i<N>", hv-pve.c reads
 *             its counters)
 *
 * THE DESCRIPTION AND THE PER-VM POLICY.  The '#' lines before the first
 * section are the VM's description ("Notes" in the web UI), one line
 * each, percent-encoded by qemu-server (PVE::Tools::encode_text: control
 * and non-ASCII bytes and ':'); they are decoded here.  augur's per-VM
 * policy (plugin/vm.h: the same keys as the libvirt <metadata>) is the
 * first fenced block of the description whose fence says augur (Markdown,
 * so the web UI shows it as a code block):
 *     ```augur
 *     mode = act
 *     mem_max_mib = 4096
 *     ```
 * One "key = value" per line (key: [a-z_]+; blank lines skipped).  It is
 * handed to augurd as the metadata element libvirt would return,
 * <policy><mode>act</mode>...</policy>, which augurd's own parser checks
 * (augur_vm_policy_parse): a bad value is a warning there, as with
 * libvirt.  A line that is not "key = value", or a block never closed,
 * counts in policy_ignored (an unclosed block gives no policy). */
#pragma once

#include <glib.h>

#include "units.h"

#define AUGUR_PVE_MAX_NETS 32           /* net0 .. net31 (qemu-server's MAX_NETS) */

typedef struct {
        char *name;                     /* owned; NULL = absent               */
        gint64 memory_mib;              /* -1 = absent                        */
        gint64 balloon_mib;             /* -1 = absent, 0 = ballooning off    */
        gint64 cores, sockets, vcpus;   /* -1 = absent                        */
        int agent;                      /* -1 = absent, else 0 / 1            */
        gint64 shares;                  /* -1 = absent (pvestatd: 1000)       */
        char uuid[AUGUR_UUID_STRLEN];   /* smbios1 uuid, lower case; "" = none */
        guint32 nets;                   /* bit N: a netN: line                */
        guint ignored;                  /* lines or values not understood     */
        char *description;              /* decoded, owned; NULL = none        */
        char *policy_xml;               /* the augur block as <policy>, owned;
                                         * NULL = no block                    */
        guint policy_ignored;           /* lines of the block not understood  */
} AugurPveConf;

/* Parse len bytes of text (need not end in NUL) into ret (overwritten;
 * clear it with augur_pve_conf_clear()).  FALSE with *error only for text
 * that is not a text file at all (a NUL byte, invalid UTF-8); anything
 * else parses, with what was not understood counted in ret->ignored. */
gboolean augur_pve_conf_parse (const char *text, gsize len, AugurPveConf *ret, GError **error);
void augur_pve_conf_clear (AugurPveConf *c);

/* The augur block of a description as a <policy> element (transfer
 * full), NULL when there is none; *ret_ignored counts the lines skipped. */
char *augur_pve_policy_from_description (const char *description, guint *ret_ignored);

/* description with its augur block replaced by the keys of policy_xml (a
 * <policy> element as augur_vm_policy_to_xml() writes it), or removed
 * when it has none; a new block goes at the end.  (transfer full)  NULL
 * with *error when policy_xml is not such an element. */
char *augur_pve_description_set_policy (const char *description, const char *policy_xml, GError **error);

/* vCPU maximum (sockets × cores) and the count plugged at start. */
int augur_pve_conf_max_vcpus (const AugurPveConf *c);
int augur_pve_conf_vcpus (const AugurPveConf *c);

/* The range a balloon may be set within, KiB: balloon: .. memory:.  Without
 * balloon: the minimum is memory: (Proxmox balloons only guests that name
 * a minimum).  FALSE with a message when memory: is missing or ballooning
 * is off (balloon: 0). */
gboolean augur_pve_conf_balloon_range_kib (const AugurPveConf *c, guint64 *ret_min_kib,
                                           guint64 *ret_max_kib, GError **error);

/* Does Proxmox's own auto-ballooning (pvestatd, PVE::AutoBalloon) move
 * this guest's balloon?  It does for every guest with a balloon minimum
 * below memory: (balloon: set, not 0) unless shares: is 0: on a host under
 * its target (80 % used) it grows such balloons back toward memory: 100
 * MiB per VM per 10 s, and above it shrinks them.  augur then leaves the
 * balloon alone; `shares: 0` hands it to augur. */
gboolean augur_pve_conf_auto_ballooned (const AugurPveConf *c);

/* "100.conf" -> 100.  Only [1-9][0-9]{2,8} ".conf" (Proxmox's vmids are
 * 100 .. 999999999); anything else (backups, "100.conf.tmp", "abc.conf",
 * "0100.conf") is FALSE, and the caller skips the file. */
gboolean augur_pve_vmid_from_filename (const char *filename, int *ret_vmid);

/* A pidfile's text: decimal digits, then optional whitespace.  pid > 1. */
gboolean augur_pve_parse_pidfile (const char *text, gsize len, int *ret_pid);

/* /proc/<pid>/stat: utime and stime (clock ticks) and rss (pages).  The
 * command name in parentheses may hold anything, parentheses too. */
gboolean augur_pve_parse_proc_stat (const char *text, gsize len, guint64 *ret_utime,
                                    guint64 *ret_stime, guint64 *ret_rss_pages);

/* Does a /proc/<pid>/cmdline (NUL-separated arguments, len bytes) name
 * path as a whole: an argument that is path, or holds it after ':' or '='
 * and before ',' or its end ("unix:/run/qemu-server/100.qmp,server=on")? */
gboolean augur_pve_cmdline_names (const char *cmdline, gsize len, const char *path);
