#!/bin/bash
# run-fuzz-api.sh: `make check`'s entry for the api fuzz target; see run-fuzz.sh.
exec "$(dirname -- "${BASH_SOURCE[0]}")/run-fuzz.sh" api "$@"
