/* collect.h — stage 1 of the tick, the parser half: a guest's stats record
 * turned into a plain AugurDomainSample.
 *
 * The record is libvirt's typed parameters, as `virsh domstats` names them
 * (units.h augur_stat_info): the libvirt backend gets them from its one
 * virConnectGetAllDomainStats() call per tick (plugin/hv-libvirt.c), and
 * the tests' fake backend from a captured `virsh domstats --raw` text dump
 * (tests/fake-hv.c).  The parser is pure: it never touches a connection;
 * the call itself, and its errors, are the backend's (hv.h). */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include "units.h"

#define AUGUR_COLLECT_ERROR (augur_collect_error_quark ())
GQuark augur_collect_error_quark (void);

typedef enum {
        AUGUR_COLLECT_ERROR_TRANSIENT,  /* a dump that does not parse         */
} AugurCollectError;

/* Parse one record's typed parameters into out (cleared first).  Unknown
 * fields are ignored; missing fields stay absent.  Values that cannot be
 * right (negative sizes, a field of the wrong type) are dropped and counted
 * in *ret_rejected (may be NULL). */
void augur_collect_parse_params (const virTypedParameter *params, int nparams,
                                 AugurDomainSample *out, guint *ret_rejected);

/* A GArray of AugurDomainSample whose elements are cleared on free. */
GArray *augur_collect_sample_array_new (guint reserve);

/* Parse a `virsh domstats --raw` text dump ("Domain: 'name'" then
 * "  key=value" lines) into samples: how tests feed captured records
 * through the same parser.  uuids are derived from names. */
GArray *augur_collect_parse_domstats_text (const char *text, GError **error);
