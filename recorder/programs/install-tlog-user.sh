#!/bin/sh
# Install step for tlog-rec-session: the tlog system account that owns
# recordings, the lock directory for one-recording-per-login, and the
# setuid/setgid bits.
#
# meson's install_mode (owner tlog, mode 6755) can only give the file to tlog
# when the account already exists; otherwise meson keeps the installer as
# owner and still sets 6755, which would leave a setuid-root (or setuid to
# whoever installs) program. So the first thing done here is to take the
# setuid/setgid bits away, and they are given back only once the file
# belongs to tlog.
# With DESTDIR (packaging) or when not root, the account cannot be created:
# the binary is left 0755 and the package's postinst must do the rest
# (create tlog, chown tlog:tlog, chmod 6755, /run/tlog 0700 tlog).
set -eu
bindir=$1
bin="${MESON_INSTALL_DESTDIR_PREFIX}/${bindir}/tlog-rec-session"
chmod 0755 "$bin"
if [ "$(id -u)" != 0 ] || [ -n "${DESTDIR:-}" ]; then
    echo "install-tlog-user: not root or DESTDIR set: $bin left 0755; create the tlog user," \
         "chown tlog:tlog and chmod 6755 it, and create /run/tlog (0700 tlog) in the package scripts" >&2
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
chown tlog:tlog "$bin"
chmod 6755 "$bin"
# cap_setgid lets the recorder replace the user's supplementary groups with
# {tlog} (privsep.cc); it drops every capability right after. setcap after
# chown: chown clears file capabilities.
if command -v setcap >/dev/null 2>&1; then
    setcap cap_setgid+ep "$bin" ||
        echo "install-tlog-user: setcap failed: the recorder will keep the user's supplementary groups" >&2
else
    echo "install-tlog-user: no setcap (libcap2-bin): the recorder will keep the user's supplementary groups" >&2
fi
# The recorder must never be a "valid login shell": su -s SHELL and chsh
# honour another shell only for accounts whose shell /etc/shells lists, so a
# listed recorder lets recorded users leave it (pam_tlog refuses recorded su
# logins while it is listed).
installed="${MESON_INSTALL_PREFIX:-/usr/local}/${bindir}/tlog-rec-session"
if [ -f /etc/shells ] && grep -qxF -e "$installed" -e "$(readlink -f "$bin")" /etc/shells; then
    if command -v remove-shell >/dev/null 2>&1; then
        remove-shell "$installed"
        remove-shell "$(readlink -f "$bin")" 2>/dev/null || true
    else
        grep -vxF -e "$installed" -e "$(readlink -f "$bin")" /etc/shells > /etc/shells.tlog-new || true
        cat /etc/shells.tlog-new > /etc/shells && rm -f /etc/shells.tlog-new
    fi
    echo "install-tlog-user: removed $installed from /etc/shells (a listed recorder lets su -s bypass it)" >&2
fi
# /run is a tmpfs: recreate the lock directory at boot.
if [ -d /usr/lib/tmpfiles.d ]; then
    echo "d /run/tlog 0700 tlog tlog -" > /usr/lib/tmpfiles.d/tlog.conf
fi
