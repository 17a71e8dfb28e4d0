# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# `make install` and `make uninstall`, and the shipped sample configuration.
# The binaries are built once more in a scratch build directory (the schema
# path compiled into them depends on PREFIX), so the tree's build/ is left
# alone. The sample must pass `locguard check-config` as shipped, name every
# key the daemon accepts in its section, and pass with every commented-out
# default switched on.

# lg_make ARGS...: make in the tree, outside of any make that runs this test
# (whose jobserver and variables are not ours), into $T/build.
lg_make() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$LG_ROOT" -j2 BUILD="$T/build" "$@"
}

# expected_files ROOT BINDIR SHARE ETC UNITDIR SYSUSERSDIR: the files an
# install puts under ROOT, sorted.
expected_files() {
    local root=$1 f
    {
        echo "$root$2/locguard"
        echo "$root$2/locguardctl"
        for f in "$LG_ROOT"/migrations/*.sql; do echo "$root$3/locguard/migrations/${f##*/}"; done
        for f in "$LG_ROOT"/sql/*.sql; do echo "$root$3/locguard/sql/${f##*/}"; done
        echo "$root$4/locguard/locguard.conf"
        echo "$root$4/locguard/locguard.conf.sample"
        echo "$root$5/locguard.service"
        echo "$root$6/locguard.conf"
    } | sort
}

test_the_shipped_sample_passes_check_config() {
    local out rc=0
    out=$(env -u LOCGUARD_DATABASE "$BUILD/locguard" check-config \
        -c "$LG_ROOT/service/dist/locguard.conf") || fail "check-config refused the sample: $out"
    assert_match 'locguard.conf: ok' "$out" "check-config's answer"
    # Every commented-out "# key = value" switched on, and every commented-out
    # section ("# [diameter]", optional) with them.
    sed -e 's/^# \([a-z_0-9]* = \)/\1/' -e 's/^# \(\[[a-z]*\]\)$/\1/' \
        "$LG_ROOT/service/dist/locguard.conf" >"$T/all-keys.conf"
    out=$(env -u LOCGUARD_DATABASE "$BUILD/locguard" check-config -c "$T/all-keys.conf" 2>&1) ||
        fail "the sample's defaults, switched on, are refused: $out"
    # A bad file: exit 1 and the line named.
    printf '[daemon]\nlog_level = info\n[database]\npool_size = 0\n' >"$T/bad.conf"
    out=$("$BUILD/locguard" check-config -c "$T/bad.conf" 2>&1) || rc=$?
    assert_eq 1 "$rc" "check-config's exit status on a bad file"
    assert_match 'bad.conf:4: "pool_size" must be an integer' "$out" "the error names the line"
}

test_the_sample_names_every_key_in_its_section() {
    local section key missing= n=0
    # The key table of service/core/config.c: {"section", "key", ...}.
    while read -r section key; do
        awk -v s="$section" -v k="$key" '
            /^(# )?\[[a-z]/ { cur = $0; sub(/^(# )?\[/, "", cur); sub(/[ \]].*/, "", cur) }
            cur == s && ($0 ~ "^" k " = " || $0 ~ "^# " k " = ") { found = 1 }
            END { exit !found }' "$LG_ROOT/service/dist/locguard.conf" ||
            missing="$missing $section.$key"
        n=$((n + 1))
    done < <(sed -n 's/^ *{"\([a-z]*\)", "\([a-z_0-9]*\)",.*/\1 \2/p' "$LG_ROOT/service/core/config.c")
    [ "$n" -ge 40 ] || fail "only $n keys read from service/core/config.c's table"
    assert_eq "" "$missing" "keys missing from service/dist/locguard.conf"
}

test_install_with_destdir_puts_every_file_in_place_and_uninstall_removes_them() {
    local stage=$T/stage version
    lg_make install DESTDIR="$stage" PREFIX=/usr >"$T/install.log" 2>&1 ||
        fail "make install failed: $(tail -n 20 "$T/install.log")"
    assert_eq "$(expected_files "$stage" /usr/bin /usr/share /etc /usr/lib/systemd/system \
        /usr/lib/sysusers.d)" "$(find "$stage" -type f | sort)" "the installed files"
    version=$(lg_make version)
    assert_match '^[0-9]+\.[0-9]+\.[0-9]+' "$version" "make version"
    assert_eq "locguard $version" "$("$stage/usr/bin/locguard" --version)" "locguard --version"
    assert_eq "locguardctl $version" "$("$stage/usr/bin/locguardctl" --version)" \
        "locguardctl --version"
    # The default schema_dir is the installed schema, and the sample says so.
    assert_match 'ok \(schema_dir /usr/share/locguard,' \
        "$(env -u LOCGUARD_DATABASE "$stage/usr/bin/locguard" check-config \
            -c "$stage/etc/locguard/locguard.conf")" "the installed binary's default schema_dir"
    grep -qx '# schema_dir = /usr/share/locguard' "$stage/etc/locguard/locguard.conf" ||
        fail "the installed sample does not show the installed schema_dir"
    grep -qx 'ExecStart=/usr/bin/locguard -c /etc/locguard/locguard.conf' \
        "$stage/usr/lib/systemd/system/locguard.service" || fail "the unit's ExecStart"
    grep -qx 'Type=notify' "$stage/usr/lib/systemd/system/locguard.service" || fail "Type=notify"

    # An operator's configuration survives a second install and the uninstall.
    echo '# edited' >>"$stage/etc/locguard/locguard.conf"
    lg_make install DESTDIR="$stage" PREFIX=/usr >"$T/install2.log" 2>&1 ||
        fail "second make install failed"
    assert_eq '# edited' "$(tail -n 1 "$stage/etc/locguard/locguard.conf")" \
        "the edited configuration kept by install"
    lg_make uninstall DESTDIR="$stage" PREFIX=/usr >"$T/uninstall.log" 2>&1 ||
        fail "make uninstall failed: $(tail -n 20 "$T/uninstall.log")"
    assert_eq "$stage/etc/locguard/locguard.conf" "$(find "$stage" -type f)" \
        "what uninstall leaves: the edited configuration only"
    rm "$stage/etc/locguard/locguard.conf"
    lg_make install DESTDIR="$stage" PREFIX=/usr >/dev/null 2>&1 || fail "third make install"
    lg_make uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null 2>&1 || fail "make uninstall"
    assert_eq "" "$(find "$stage" -type f)" "files left by install + uninstall"
}

test_the_installed_locguard_migrates_from_the_installed_schema() {
    local prefix=$T/prefix db=${DB}_installed n_files n_applied
    lg_make install PREFIX="$prefix" sysconfdir="$prefix/etc" >"$T/install-prefix.log" 2>&1 ||
        fail "make install PREFIX=$prefix failed: $(tail -n 20 "$T/install-prefix.log")"
    # A new empty database; a configuration without schema_dir.
    psql "$(conninfo_for postgres)" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
    printf '[daemon]\nlog_level = warn\n[database]\nconninfo = %s\n' "$(conninfo_for "$db")" \
        >"$T/installed.conf"
    (cd / && env -u LOCGUARD_DATABASE "$prefix/bin/locguard" migrate -c "$T/installed.conf") \
        >"$T/installed-migrate.log" 2>&1 ||
        fail "the installed locguard migrate failed: $(cat "$T/installed-migrate.log")"
    n_files=$(find "$prefix/share/locguard/migrations" -name '*.sql' | wc -l)
    n_applied=$(psql "$(conninfo_for "$db")" -X -Atq -c "SELECT count(*) FROM schema_migrations")
    psql "$(conninfo_for postgres)" -X -q -c "DROP DATABASE $db" >/dev/null
    assert_eq "$n_files" "$n_applied" "migrations applied from $prefix/share/locguard"
    lg_make uninstall PREFIX="$prefix" sysconfdir="$prefix/etc" >/dev/null 2>&1 ||
        fail "make uninstall PREFIX=$prefix failed"
    assert_eq "" "$(find "$prefix" -type f)" "files left by install + uninstall"
}
