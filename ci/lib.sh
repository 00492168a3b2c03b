# Sourced by the ci/ scripts: one list of results, one rule for steps that
# cannot run, one summary.
#
# Nothing is skipped silently. A step that cannot run here (an interpreter,
# tool or toolchain component missing) is a failure when MTMSG_CI_STRICT=1,
# which .ci/run sets: CI installs everything, so there it must run. On a
# developer's machine it is listed as "SKIP" with the reason and the
# command that installs it, and counted in the last line.

ci_results=()
ci_status=0

# ci_run LABEL COMMAND...: runs the command, records pass/FAIL with its
# time, and returns the command's status (so `ci_run ... || continue` works).
ci_run() {
    local label=$1; shift
    echo "=== $label"
    local start=$SECONDS
    if "$@"; then
        ci_results+=("pass  $label ($((SECONDS - start)) s)")
    else
        ci_results+=("FAIL  $label ($((SECONDS - start)) s)")
        ci_status=1
        return 1
    fi
}

# ci_fail LABEL REASON: records a failure that is not a command's status.
ci_fail() {
    ci_results+=("FAIL  $1: $2")
    ci_status=1
}

# ci_cannot_run LABEL REASON: the step cannot run here (see above).
ci_cannot_run() {
    if [ "${MTMSG_CI_STRICT:-0}" = 1 ]; then
        ci_fail "$1" "cannot run: $2"
    else
        ci_results+=("SKIP  $1: $2 (a failure in CI)")
    fi
    echo "cannot run $1: $2" >&2
}

# ci_summary NAME: prints every result and the counts; returns the status.
ci_summary() {
    echo "=== $1 summary"
    printf '%s\n' "${ci_results[@]}"
    local pass fail skip
    pass=$(printf '%s\n' "${ci_results[@]}" | grep -c '^pass')
    fail=$(printf '%s\n' "${ci_results[@]}" | grep -c '^FAIL')
    skip=$(printf '%s\n' "${ci_results[@]}" | grep -c '^SKIP')
    echo "$1: $pass passed, $fail failed, $skip could not run"
    [ "$skip" -eq 0 ] || [ "$fail" -ne 0 ] || echo "$1: not complete: $skip step(s) could not run here"
    return $ci_status
}

# distro_cmodules VERSION: prints the distribution's directory of Lua C
# modules for a version feature (lua51 .. lua55, luajit), if it exists:
# Debian's lua-luv for the event-loop example and tests. The Rust tests
# find it the same way (tests/common/mod.rs).
distro_cmodules() {
    local abi
    case $1 in lua51|luajit) abi=5.1 ;; *) abi=${1#lua}; abi=${abi:0:1}.${abi:1} ;; esac
    local dir="/usr/lib/$(uname -m)-linux-gnu/lua/$abi"
    [ -d "$dir" ] && echo "$dir"
    return 0
}
