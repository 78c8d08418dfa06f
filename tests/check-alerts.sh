#!/bin/bash
# check-alerts.sh: data/augur-alerts.yml is valid (promtool check rules)
# and each alert fires when it should and only then (promtool test rules
# with tests/augur-alerts.test.yml); and every metric the rules and the
# Grafana dashboard query is one augurd exports (plugin/metrics.h lists
# the families), so a rename cannot leave them querying nothing.  promtool comes from Debian's
# prometheus package; scripts/install-deps unpacks just that binary.
# Exit: 0 pass, 1 fail, 77 skip (no promtool).
set -uo pipefail
srcdir=${srcdir:-$(dirname -- "$0")}
top=$srcdir/..
bad=0
for name in $(grep -oh 'augur_[a-z_]*' "$top/data/augur-alerts.yml" "$top/data/grafana-dashboard.json" |
              sed 's/_\(bucket\|sum\|count\)$//' | sort -u); do
    grep -q "^ \*   $name\b" "$top/plugin/metrics.h" || { echo "FAIL: $name is queried but not exported"; bad=1; }
done
((bad == 0)) || exit 1
PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
[[ -n $PROMTOOL ]] || { echo "SKIP: promtool not installed (scripts/install-deps unpacks it)"; exit 77; }
"$PROMTOOL" check rules "$srcdir/../data/augur-alerts.yml" || exit 1
cd -- "$srcdir" && "$PROMTOOL" test rules augur-alerts.test.yml || exit 1
