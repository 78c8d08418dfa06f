/* collect.h — stage 1 of the tick: one virConnectGetAllDomainStats() call
 * turned into plain AugurDomainSample structs.
 *
 * The parser is pure: it takes typed-parameter records (live, or rebuilt
 * from a captured `virsh domstats` text dump in tests) and never touches a
 * connection.  Errors come in two kinds, after mom's collectors: TRANSIENT
 * (skip this tick, e.g. a timeout or a domain vanishing mid-call) and FATAL
 * (the connection is gone: reconnect). */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "units.h"

#define AUGUR_COLLECT_ERROR (augur_collect_error_quark ())
GQuark augur_collect_error_quark (void);

typedef enum {
        AUGUR_COLLECT_ERROR_TRANSIENT,
        AUGUR_COLLECT_ERROR_FATAL,
} AugurCollectError;

/* The stats groups of the one per-tick call. */
#define AUGUR_COLLECT_STATS (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | \
                             VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU | \
                             VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK)
#define AUGUR_COLLECT_FLAGS (VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | \
                             VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)

/* Parse one record's typed parameters into out (cleared first).  Unknown
 * fields are ignored; missing fields stay absent.  Values that cannot be
 * right (negative sizes, a field of the wrong type) are dropped and counted
 * in *ret_rejected (may be NULL). */
void augur_collect_parse_params (const virTypedParameter *params, int nparams,
                                 AugurDomainSample *out, guint *ret_rejected);

/* Make the one stats call and parse every record.  On success *ret_samples
 * is a GArray of AugurDomainSample (names owned, cleared by the array). */
gboolean augur_collect_domains (virConnectPtr conn, GArray **ret_samples,
                                GError **error);

/* A GArray of AugurDomainSample whose elements are cleared on free. */
GArray *augur_collect_sample_array_new (guint reserve);

/* Parse a `virsh domstats --raw` text dump ("Domain: 'name'" then
 * "  key=value" lines) into samples: how tests feed captured records
 * through the same parser.  uuids are derived from names. */
GArray *augur_collect_parse_domstats_text (const char *text, GError **error);
