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
 *     <augur:tags>db prod</augur:tags>      names for [guests] include/exclude
 *     <augur:io_max_mib_s>40</augur:io_max_mib_s>   ceiling of a raised
 *                                    disk limit (resize-io.c); unset =
 *                                    augur never raises this guest's disk
 *                                    limits
 *     <augur:net_max_mib_s>10</augur:net_max_mib_s> the same for an
 *                                    interface's <bandwidth> average, each
 *                                    direction; unset = never raised.  A
 *                                    key of its own: a disk and a link
 *                                    differ in scale by orders of
 *                                    magnitude, and a guest that consented
 *                                    to disk raises has not consented to
 *                                    network ones
 *     <augur:cpu_weight_max>4096</augur:cpu_weight_max> ceiling of a
 *                                    raised CPU weight (cpu_shares,
 *                                    resize-cpu.c), 2 to 262144 (cgroup
 *                                    v2 hosts: at most 10000, cpu.weight's
 *                                    range; a value libvirt clamps reads
 *                                    back as someone else's change); unset
 *                                    = augur never moves this guest's weight
 *     <augur:io_max_iops>800</augur:io_max_iops> ceiling of a raised
 *                                    disk IOPS limit (total_iops_sec,
 *                                    read_iops_sec, write_iops_sec), IO/s;
 *                                    unset = augur never raises this
 *                                    guest's IOPS limits (a key of its
 *                                    own: bytes and requests are different
 *                                    units, and so are their ceilings)
 *   </augur:policy>
 * libvirt hands the element back without its prefix when read with
 * virDomainGetMetadata(ELEMENT, "urn:augur:policy:1").  Every element is
 * optional.  Invalid metadata (not XML, a value out of range) produces a
 * warning and the defaults for the invalid keys — never a crash and never a
 * half-parsed value.  It is reloaded on METADATA_CHANGE.
 *
 * TAGS are the guest's names for the host's [guests] include / exclude
 * (plugin/guests.h, "tag:NAME"): space- or comma-separated words of
 * letters, digits, '_', '.' and '-', at most AUGUR_VM_TAG_MAX_CHARS each,
 * case-sensitive, kept as one space-separated list without duplicates.
 * They live in the policy element because libvirt keeps one metadata
 * element per namespace.
 */
#pragma once

#include <glib.h>
#include "augur-config.h"
#include "policy.h"

#define AUGUR_POLICY_NS_URI "urn:augur:policy:1"
#define AUGUR_POLICY_NS_PREFIX "augur"

/* The longest tag, characters: a label, not a description. */
#define AUGUR_VM_TAG_MAX_CHARS 64
/* The tag list, bytes with its NUL: the metadata parser reads at most
 * 255 characters of an element's text. */
#define AUGUR_VM_TAGS_MAX 256
/* The largest io_max_iops, IO/s: 10^8, above any disk's request rate
 * (the fastest NVMe devices do a few 10^6). */
#define AUGUR_VM_IO_MAX_IOPS_MAX 100000000

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
        char tags[AUGUR_VM_TAGS_MAX];  /* "db prod", "" = none (TAGS)          */
        double io_max_mib_s;         /* disk limit ceiling, MiB/s, NAN = unset */
        double net_max_mib_s;        /* interface limit ceiling, ditto         */
        double cpu_weight_max;       /* cpu_shares ceiling, NAN = unset        */
        double io_max_iops;          /* disk IOPS limit ceiling, IO/s, NAN = unset */
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

/* THE KEYS of <augur:policy>, the one table of them (vm.c), in display
 * order: how each is parsed and checked (augur_vm_policy_set), written
 * back (augur_vm_policy_to_xml), shown and removed (virt-augur policy). */
typedef enum {
        AUGUR_VM_KEY_MODE = 0,
        AUGUR_VM_KEY_MEM_MIN,
        AUGUR_VM_KEY_MEM_MAX,
        AUGUR_VM_KEY_VCPUS_MIN,
        AUGUR_VM_KEY_VCPUS_MAX,
        AUGUR_VM_KEY_PRIORITY,
        AUGUR_VM_KEY_TARGET_UTIL,
        AUGUR_VM_KEY_QUANTILE,
        AUGUR_VM_KEY_TAGS,
        AUGUR_VM_KEY_IO_MAX,
        AUGUR_VM_KEY_NET_MAX,
        AUGUR_VM_KEY_CPU_WEIGHT_MAX,
        AUGUR_VM_KEY_IO_MAX_IOPS,
        AUGUR_VM_KEY_N,
} AugurVmKeyId;

typedef struct {
        const char *name;            /* the element, "mem_max_mib"             */
        gsize offset;                /* its field in AugurVmPolicy (a number
                                      * key: a double, or an int if int_field) */
        gboolean int_field;
        gboolean integer;            /* the value must be a whole number       */
        double min, max;             /* allowed, in the key's own unit         */
        double scale;                /* field = value x scale (MiB -> KiB)     */
        const char *fmt;             /* how the value is written back          */
        const char *range;           /* the allowed values, in words           */
} AugurVmKey;

extern const AugurVmKey augur_vm_keys[AUGUR_VM_KEY_N];

/* The key named name, or NULL. */
const AugurVmKey *augur_vm_key (const char *name);
/* Its value as metadata text, NULL when unset (augurd's default in force;
 * transfer full). */
char *augur_vm_policy_value (const AugurVmPolicy *p, const AugurVmKey *k);
/* Remove it: back to augurd's default. */
void augur_vm_policy_unset (AugurVmPolicy *p, const AugurVmKey *k);

/* Is text one valid tag (TAGS)? */
gboolean augur_vm_tag_valid (const char *text);
/* Does the tag list (as in AugurVmPolicy.tags) hold a tag matching the
 * glob spec? */
gboolean augur_vm_tags_match (const char *tags, GPatternSpec *spec);
