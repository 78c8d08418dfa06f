#!/bin/bash
# run-fuzz-activity.sh: `make check`'s entry for the activity fuzz target
# (the guest report parser and line reader); see run-fuzz.sh.
exec "$(dirname -- "${BASH_SOURCE[0]}")/run-fuzz.sh" activity "$@"
