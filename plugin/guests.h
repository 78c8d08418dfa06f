/* guests.h — which guests augurd watches: augur.conf's [guests] include
 * and exclude.
 *
 * WHAT IT IS.  The filter (patterns parsed from the two keys, a pure
 * match of a name, a UUID and a tag list) and the daemon's record of it
 * (AugurGuests: each guest's tags, read once from its metadata, and its
 * verdict, logged when it changes).  What it is not: the place that skips
 * the work.  The hypervisor table asks augur_guests_keep() about each
 * running guest before it reads its stats (hv.h, guests_with_stats), the
 * activity module before it opens a guest's channel (activity.h), and the
 * daemon before it records a guest's events or sets its stats period.
 *
 * THE RULE.  A guest is watched when include is empty or one of its
 * patterns matches it, and no exclude pattern matches it: exclude wins.
 * An excluded guest is not collected at all: no stats call, no sample, no
 * decision, no action, no metrics series, no guest channel, no event row.
 * With both keys empty nothing is asked: the tick's one stats call as
 * before, and no metadata read.
 *
 * PATTERNS, space- or comma-separated; globs are GLib's (* any run, ? one
 * character; no [classes]), matched against the whole text:
 *   GLOB          the guest's name            db-*  web?  test
 *   name:GLOB     the same, spelt out (for a name with a colon)
 *   tag:GLOB      one of the guest's tags (<augur:tags> in its policy
 *                 metadata, vm.h), case-sensitive    tag:prod  tag:db-*
 *   uuid:GLOB     the guest's UUID, case-insensitive
 *   a bare UUID   (8-4-4-4-12 hex digits, as `virsh domuuid` prints it)
 *                 the guest's UUID too: it is what an admin pastes.  A
 *                 name glob never matches UUIDs otherwise: "*db*" would
 *                 match a UUID with "db" in its hex.
 * Refused, with the word and why: an unknown prefix ("tags:db", "id:3";
 * a word of letters before the first colon is taken as a prefix), an
 * empty pattern after a prefix, a tag pattern with a character a tag
 * cannot have, a uuid pattern with one a UUID cannot have, and more than
 * AUGUR_GUESTS_MAX_PATTERNS patterns in one key.
 *
 * TAGS cost one metadata read per guest, only when a pattern names a tag:
 * at its first listing, then again after a METADATA_CHANGE event or a
 * reconnect.  A read that fails keeps the guest's last verdict; a guest
 * with none yet waits (is not collected) until a read works.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "hv.h"

/* Patterns per key, at most: a host's list of exceptions, not a database. */
#define AUGUR_GUESTS_MAX_PATTERNS 256

typedef struct AugurGuestFilter AugurGuestFilter;

/* Parse include and exclude (NULL or "" = none).  FALSE with the key, the
 * word and why (G_OPTION_ERROR_BAD_VALUE). */
AugurGuestFilter *augur_guest_filter_new (const char *include, const char *exclude, GError **error);
void augur_guest_filter_free (AugurGuestFilter *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurGuestFilter, augur_guest_filter_free)

/* Check one key's text (augur-config.c): FALSE with the word and why. */
gboolean augur_guest_patterns_check (const char *text, GError **error);

/* Neither key has a pattern: every guest is watched. */
gboolean augur_guest_filter_is_all (const AugurGuestFilter *f);
/* A pattern names a tag: matching needs the guest's tags. */
gboolean augur_guest_filter_needs_tags (const AugurGuestFilter *f);

/* Is the guest watched?  tags: its tag list ("db prod", NULL = none).
 * When it is not, *ret_rule (if not NULL) says why (transfer full):
 * "exclude = tag:db" (the first exclude pattern that matched) or
 * "include = web-* tag:prod (nothing matched)". */
gboolean augur_guest_filter_match (const AugurGuestFilter *f, const char *name, const char *uuid,
                                   const char *tags, char **ret_rule);

/* "include = all, exclude = test-* tag:scratch": the filter in effect,
 * for the log (transfer full). */
char *augur_guest_filter_describe (const AugurGuestFilter *f);

/* ---------------------------------------------------- the daemon's record */

typedef struct AugurGuests AugurGuests;

/* A guest was watched and is excluded now (a reload, new tags): drop
 * what augurd keeps about it. */
typedef void (*AugurGuestsExcludedFunc) (const char *uuid, gpointer user_data);

AugurGuests *augur_guests_new (AugurGuestsExcludedFunc excluded, gpointer user_data);
void augur_guests_free (AugurGuests *gs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurGuests, augur_guests_free)

/* Use f (transfer full) from now on; every verdict is made again at the
 * guest's next listing (a guest whose verdict changes is logged then).
 * Logs the filter in effect. */
void augur_guests_set_filter (AugurGuests *gs, AugurGuestFilter *f);
const AugurGuestFilter *augur_guests_get_filter (const AugurGuests *gs);

/* Every guest is watched: augur_guests_keep() need not be asked. */
gboolean augur_guests_all (const AugurGuests *gs);

/* The start of a tick: guests not listed for two ticks are forgotten. */
void augur_guests_new_round (AugurGuests *gs);

/* Is g watched?  Reads its tags when the filter needs them and they are
 * not known (one metadata read through hv.h).  A change of verdict is
 * logged once, and a guest that was watched and is excluded now goes to
 * the excluded callback.  gs is a gpointer: this is an AugurHvKeepFunc. */
gboolean augur_guests_keep (AugurHvGuest *g, gpointer gs);

/* The guest's tags may have changed (METADATA_CHANGE): read them again. */
void augur_guests_metadata_changed (AugurGuests *gs, const char *uuid);
/* After a reconnect: every guest's tags are read again. */
void augur_guests_reconnected (AugurGuests *gs);

/* Is uuid excluded by its last verdict?  *ret_rule is borrowed. */
gboolean augur_guests_is_excluded (const AugurGuests *gs, const char *uuid, const char **ret_rule);
gboolean augur_guests_is_excluded_name (const AugurGuests *gs, const char *name);

/* One excluded guest, as the API and the store show it. */
typedef struct {
        const char *uuid;
        const char *name;
        const char *rule;               /* as augur_guest_filter_match() says */
} AugurExcludedGuest;

/* The guests excluded at the last listing, by name (GArray of
 * AugurExcludedGuest, strings borrowed from gs until its next call). */
GArray *augur_guests_excluded (const AugurGuests *gs);
/* The same as a JSON array of {"uuid","name","rule"}: added to b (the
 * API's "domains" answer), or as text for the store's meta key
 * AUGUR_GUESTS_META_EXCLUDED (transfer full). */
void augur_guests_add_excluded (const AugurGuests *gs, JsonBuilder *b);
char *augur_guests_excluded_json (const AugurGuests *gs);

/* Such a JSON array read back: a GPtrArray of {uuid, name, rule} GStrv
 * (transfer full); empty when json is NULL or not such an array. */
GPtrArray *augur_guests_excluded_parse (const char *json);
/* In such a JSON array (the store's AUGUR_GUESTS_META_EXCLUDED, NULL
 * allowed), the guest named domain (its name, or its UUID in any case):
 * TRUE with its name, UUID and rule (each transfer full, when not NULL).
 * FALSE when it is not there or the text is not such an array. */
gboolean augur_guests_excluded_lookup (const char *json, const char *domain, char **ret_name,
                                       char **ret_uuid, char **ret_rule);

/* The store's meta keys that `virt-augur list`, `top` and `explain` read:
 * the filter in effect (augur_guest_filter_describe()) and the excluded
 * guests (augur_guests_excluded_json()). */
#define AUGUR_GUESTS_META_FILTER "guests.filter"
#define AUGUR_GUESTS_META_EXCLUDED "guests.excluded"
