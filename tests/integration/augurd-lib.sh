# tests/integration/augurd-lib.sh: helpers to run the real augurd and read
# its history through the real virt-augur, on top of lib.sh.
#
# Sourced after lib.sh.  Uses the build tree (AUGUR_TOP_BUILDDIR, set by
# `make check`; falls back to the source tree for a manual run).

AUGUR_IT_BUILDDIR=${AUGUR_TOP_BUILDDIR:-$AUGUR_IT_SRCDIR}
AUGURD=$AUGUR_IT_BUILDDIR/plugin/augurd
VIRT_AUGUR=$AUGUR_IT_BUILDDIR/virsh-ext/virt-augur
AUGURD_PID=
AUGUR_DB=

augur_it_require_augur() {
    [[ -x $AUGURD && -x $VIRT_AUGUR ]] || augur_it_skip "augurd/virt-augur not built in $AUGUR_IT_BUILDDIR"
    command -v sqlite3 >/dev/null 2>&1 || augur_it_skip "no sqlite3 CLI (apt-get install sqlite3)"
}

# The shipped model: an installed augurd reads $datadir/augur/default.augur,
# which a test machine has only while deb.sh has the package installed, so
# the build's augurd is given the same file from the source tree.  A test
# that names a model itself (--model, or model= in its augur.conf) keeps
# its own.  Prints the options, one per line.
augur_it_model_opts() {   # CONF [augurd options...]
    local conf=$1 a
    shift
    for a in "$@"; do [[ $a == --model* ]] && return 0; done
    grep -qE '^[[:space:]]*model[[:space:]]*=' "$conf" 2>/dev/null && return 0
    printf '%s\n' --model "$AUGUR_IT_SRCDIR/model/default.augur"
}

# augur_it_start_augurd [augurd options...]: runs augurd in the foreground
# (as a background job) against the private libvirtd, logging to
# $AUGUR_IT_DIR/augurd.log.  Stopped by augur_it_stop_augurd or at exit.
augur_it_start_augurd() {
    local model
    AUGUR_DB=${AUGUR_DB:-$AUGUR_IT_DIR/augur.db}
    : >>"$AUGUR_IT_DIR/augur.conf"     # empty: compiled-in defaults only
    mapfile -t model < <(augur_it_model_opts "$AUGUR_IT_DIR/augur.conf" "$@")
    # A private API socket: several test augurds run side by side, and the
    # system's default socket is not theirs.  virt-augur finds it through
    # AUGUR_SOCKET.
    export AUGUR_SOCKET=$AUGUR_IT_DIR/augurd.sock
    "$AUGURD" --foreground --verbose --connect "$AUGUR_IT_URI" --db "$AUGUR_DB" \
        --config "$AUGUR_IT_DIR/augur.conf" --socket "$AUGUR_SOCKET" "${model[@]}" "$@" \
        >>"$AUGUR_IT_DIR/augurd.log" 2>&1 &
    AUGURD_PID=$!
    augur_it_log "augurd pid $AUGURD_PID (${model[*]} $*)"
}

augur_it_stop_augurd() {
    [[ -n $AUGURD_PID ]] || return 0
    kill -TERM "$AUGURD_PID" 2>/dev/null || true
    wait "$AUGURD_PID" 2>/dev/null || true
    AUGURD_PID=
}

# sql QUERY: one value from the history DB (read-only).
augur_it_sql() { sqlite3 -readonly -batch -noheader "$AUGUR_DB" "$1"; }

augur_it__ticks_at_least() {
    [[ -z $AUGURD_PID ]] || kill -0 "$AUGURD_PID" 2>/dev/null ||
        augur_it_fail "augurd exited: $(tail -n 3 "$AUGUR_IT_DIR/augurd.log")"
    (($(augur_it_sql "SELECT count(*) FROM ticks" 2>/dev/null || echo 0) >= $1))
}
# augur_it_wait_ticks N TIMEOUT: until at least N ticks are stored.
augur_it_wait_ticks() { augur_it__poll "$2" augur_it__ticks_at_least "$1"; }

augur_it__log_has() {
    local n
    n=$(grep -c -- "$1" "$AUGUR_IT_DIR/augurd.log" 2>/dev/null) || n=0
    ((n >= $2))
}
# augur_it_wait_log TEXT COUNT TIMEOUT: until augurd.log has COUNT lines with TEXT.
augur_it_wait_log() { augur_it__poll "$3" augur_it__log_has "$1" "$2"; }
