#!/bin/bash
# run-fuzz-trace.sh: `make check`'s entry for the trace fuzz target; see run-fuzz.sh.
exec "$(dirname -- "${BASH_SOURCE[0]}")/run-fuzz.sh" trace "$@"
