# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The daemon under systemd's Type=notify, for real: a second daemon is
# started with $NOTIFY_SOCKET naming a Unix datagram socket this test listens
# on (perl's Socket module: perl-base, in every Debian), as systemd does. It
# must send READY=1 once the ready file lists every zone, and STOPPING=1 when
# SIGTERM starts the drain, and still exit 0.

# notify_listen SOCKET READY_FILE LOG: receives datagrams on SOCKET until
# killed; writes one line per state variable sent ("READY=1", "STATUS=..."),
# each followed by " zones=N": the lines READY_FILE held when it arrived.
notify_listen() {
    perl -MSocket -e '
        my ($path, $ready) = @ARGV;
        socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
        bind($s, pack_sockaddr_un($path)) or die "bind $path: $!";
        $| = 1;
        while (defined(recv($s, my $msg, 65536, 0))) {
            my $zones = 0;
            if (open(my $f, "<", $ready)) { $zones++ while <$f>; close($f); }
            print "$_ zones=$zones\n" for split /\n/, $msg;
        }' "$1" "$2" >"$3" 2>&1 &
    echo $!
}

test_ready_after_the_ready_file_and_stopping_on_sigterm() {
    local dir=${T}-notify listener rc=0
    mkdir -p "$dir"
    cp "$T/admin.token" "$dir/admin.token"
    listener=$(notify_listen "$dir/notify.sock" "$dir/ready" "$dir/notify.log")
    # shellcheck disable=SC2064 # the listener's pid now
    trap "kill $listener 2>/dev/null || true" EXIT
    wait_for 10 "the notify socket" test -S "$dir/notify.sock"

    # This subshell's own daemon: its own configuration, ready file and ports.
    T=$dir
    export NOTIFY_SOCKET=$dir/notify.sock
    start_daemon || fail "the daemon with NOTIFY_SOCKET did not start"
    wait_for 10 "READY=1 on the notify socket" grep -q '^READY=1 ' "$dir/notify.log"
    assert_eq "READY=1 zones=3" "$(grep '^READY=1 ' "$dir/notify.log")" \
        "READY=1 sent once, after the ready file listed the 3 zones"
    assert_match '^STATUS=serving 3 zones' "$(grep '^STATUS=serving' "$dir/notify.log")" \
        "the status once ready"
    ! grep -q '^STOPPING=1' "$dir/notify.log" || fail "STOPPING=1 before any signal"

    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || rc=$?
    rm -f "$dir/daemon.pid"
    assert_eq 0 "$rc" "exit status after SIGTERM"
    wait_for 5 "STOPPING=1 on the notify socket" grep -q '^STOPPING=1 ' "$dir/notify.log"
    assert_eq 1 "$(grep -c '^READY=1' "$dir/notify.log")" "READY=1 sent exactly once"
}
