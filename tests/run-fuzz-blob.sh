#!/bin/bash
# run-fuzz-blob.sh: `make check`'s entry for the blob fuzz target; see run-fuzz.sh.
exec "$(dirname -- "${BASH_SOURCE[0]}")/run-fuzz.sh" blob "$@"
