#!/bin/sh
# Install step for tlog-rec-session: the tlog system account that owns
# recordings, the lock directory for one-recording-per-login, and the
# setuid/setgid bits (meson's install_mode needs the account to exist when
# it runs, so the ownership is set here again).
# Skipped (with a message) when not installing as root, e.g. into a DESTDIR
# for packaging: the package's postinst then does the same.
set -eu
bindir=$1
if [ "$(id -u)" != 0 ] || [ -n "${DESTDIR:-}" ]; then
    echo "install-tlog-user: not root or DESTDIR set: create the tlog user, /run/tlog and the setuid bits in the package scripts" >&2
    exit 0
fi
if ! getent passwd tlog >/dev/null; then
    if command -v adduser >/dev/null 2>&1; then
        adduser --system --group --home /var/lib/tlog --no-create-home --quiet tlog 2>/dev/null ||
            useradd --system --user-group --home-dir /var/lib/tlog --shell /usr/sbin/nologin tlog
    else
        useradd --system --user-group --home-dir /var/lib/tlog --shell /usr/sbin/nologin tlog
    fi
fi
install -d -o tlog -g tlog -m 0700 /run/tlog
install -d -o tlog -g tlog -m 0750 /var/log/tlog
bin="${MESON_INSTALL_PREFIX}/${bindir}/tlog-rec-session"
if chown tlog:tlog "$bin"; then
    chmod 6755 "$bin"
else
    chmod 0755 "$bin"   # never leave it setuid to anyone else (meson falls back to root)
    echo "install-tlog-user: cannot give $bin to tlog: setuid bits removed" >&2
    exit 1
fi
# /run is a tmpfs: recreate the lock directory at boot.
if [ -d /usr/lib/tmpfiles.d ]; then
    echo "d /run/tlog 0700 tlog tlog -" > /usr/lib/tmpfiles.d/tlog.conf
fi
