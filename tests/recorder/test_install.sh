#!/bin/bash
# The install step (suite integration, root): `meson install` creates the tlog
# account (from the installed sysusers.d file), /run/tlog, /var/log/tlog and
# /var/lib/tlog (from the installed tmpfiles.d file), and leaves
# tlog-rec-session owned by tlog with mode 6755. Runs in a private mount
# namespace (run_ns.sh) with a copy of /etc and tmpfs over /usr/local, /run,
# /var/log, /var/lib and /usr/lib/tmpfiles.d, so the host is untouched.
# Usage: run_ns.sh test_install.sh BUILD_DIR
set -euo pipefail
B=$1
[ "${RECTEST_NS:-}" = 1 ] || { echo "FAIL: run through run_ns.sh" >&2; exit 1; }
T=$(mktemp -d /tmp/rec-install.XXXXXX)
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
sed -i '/^tlog:/d' /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null || true
for d in /usr/local /run /var/log /var/lib /usr/lib/tmpfiles.d; do
    [ -d "$d" ] || continue   # never create anything on the host
    mount -t tmpfs -o mode=755 tmpfs "$d"
done
# a recorder listed in /etc/shells (su -s would bypass it): the install removes it
echo /usr/local/bin/tlog-rec-session >> /etc/shells
# only the recorder programs' install matters here
meson install -C "$B" --no-rebuild --tags runtime > "$T/install.log" 2>&1 ||
    { cat "$T/install.log"; echo "FAIL: meson install"; exit 1; }
fail() { echo "FAIL: $*" >&2; cat "$T/install.log" >&2; exit 1; }
getent passwd tlog >/dev/null || fail "tlog account not created"
bin=/usr/local/bin/tlog-rec-session
[ -f "$bin" ] || fail "$bin not installed"
[ "$(stat -c %U:%G:%a "$bin")" = "tlog:tlog:6755" ] || fail "$bin is $(stat -c %U:%G:%a "$bin"), want tlog:tlog:6755"
getcap "$bin" | grep -q "cap_setgid=ep" || fail "$bin lacks cap_setgid=ep: $(getcap "$bin")"
[ "$(stat -c %U:%a /run/tlog)" = "tlog:700" ] || fail "/run/tlog is $(stat -c %U:%a /run/tlog)"
[ "$(stat -c %U /var/log/tlog)" = "tlog" ] || fail "/var/log/tlog not tlog's"
[ "$(stat -c %U:%a /var/lib/tlog)" = "root:755" ] || fail "/var/lib/tlog is $(stat -c %U:%a /var/lib/tlog)"
# under the prefix, never where the distribution's packages own files
grep -Eq "^d +/run/tlog +0700 +tlog +tlog" /usr/local/lib/tmpfiles.d/tlog.conf || fail "no tmpfiles.d entry"
grep -q "^u tlog " /usr/local/lib/sysusers.d/tlog.conf || fail "no sysusers.d entry"
[ -x /usr/local/libexec/tlog-suite/install-tlog-user.sh ] || fail "the install step is not installed for packages"
[ ! -e /usr/lib/tmpfiles.d/tlog.conf ] || fail "a /usr/local install wrote /usr/lib/tmpfiles.d/tlog.conf"
[ "$(stat -c %a /usr/local/bin/tlog-rec)" = "755" ] || fail "tlog-rec must not be setuid"
! grep -qx "$bin" /etc/shells || fail "the recorder is still listed in /etc/shells"
grep -qx /bin/sh /etc/shells || fail "the install step damaged /etc/shells"
# packaging: with DESTDIR the program must never be left setuid (meson would
# leave it 6755 owned by the installer when tlog does not exist)
D=$T/destdir
meson install -C "$B" --no-rebuild --tags runtime --destdir "$D" > "$T/install2.log" 2>&1 || fail "meson install --destdir"
m=$(stat -c %a "$D/usr/local/bin/tlog-rec-session")
[ "$m" = 755 ] || fail "DESTDIR install left tlog-rec-session mode $m"
echo ok
