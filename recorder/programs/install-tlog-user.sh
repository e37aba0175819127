#!/bin/sh
# Install step for tlog-rec-session: the tlog system account that owns
# recordings, its directories, and the setuid/setgid bits. One script for
# both ways of installing:
#
#   install-tlog-user.sh BINDIR SYSUSERS TMPFILES         run by `meson install`
#   install-tlog-user.sh --package BIN SYSUSERS TMPFILES  run by a package's postinst
#
# SYSUSERS and TMPFILES are the installed sysusers.d and tmpfiles.d files
# (dist/): the account and the directories are made from them.
#
# meson's install_mode (owner tlog, mode 6755) can only give the file to tlog
# when the account already exists; otherwise meson keeps the installer as
# owner and still sets 6755, which would leave a setuid-root (or setuid to
# whoever installs) program. So under meson the first thing done here is to
# take the setuid/setgid bits away; they are given back only once the file
# belongs to tlog. With DESTDIR (packaging) or when not root, nothing else is
# done: the binary is left 0755 and the package's postinst runs this script
# with --package, which records the owner and mode with dpkg-statoverride
# (so dpkg keeps them across upgrades) instead of chown/chmod.
set -eu
package=no
if [ "${1:-}" = --package ]; then
    package=yes
    bin=$2
    installed=$bin
    shift 2
else
    bindir=$1
    shift
    bin="${MESON_INSTALL_DESTDIR_PREFIX}/${bindir}/tlog-rec-session"
    installed="${MESON_INSTALL_PREFIX:-/usr/local}/${bindir}/tlog-rec-session"
    chmod 0755 "$bin"
    if [ "$(id -u)" != 0 ] || [ -n "${DESTDIR:-}" ]; then
        echo "install-tlog-user: not root or DESTDIR set: $bin left 0755; the package's postinst" \
             "must run install-tlog-user.sh --package $installed" >&2
        exit 0
    fi
fi
sysusers=$1
tmpfiles=$2

# The account: from the sysusers.d file where systemd-sysusers exists (the
# same file other distributions use), else the Debian way (adduser), else
# useradd.
if ! getent passwd tlog >/dev/null; then
    if command -v systemd-sysusers >/dev/null 2>&1 && [ -f "$sysusers" ]; then
        systemd-sysusers "$sysusers"
    elif command -v adduser >/dev/null 2>&1; then
        adduser --system --group --home /var/lib/tlog --no-create-home --quiet tlog
    else
        useradd --system --user-group --home-dir /var/lib/tlog --shell /usr/sbin/nologin tlog
    fi
fi
# The directories: from the tmpfiles.d file (also made at every boot: /run is
# a tmpfs), or by hand where systemd-tmpfiles is missing.
if command -v systemd-tmpfiles >/dev/null 2>&1 && [ -f "$tmpfiles" ]; then
    systemd-tmpfiles --create "$tmpfiles"
else
    install -d -o tlog -g tlog -m 0700 /run/tlog
    install -d -o tlog -g tlog -m 0750 /var/log/tlog
    install -d -o root -g root -m 0755 /var/lib/tlog
fi

if [ "$package" = yes ]; then
    # dpkg applies the override now and on every later unpack of the file.
    if ! dpkg-statoverride --list "$bin" >/dev/null; then
        dpkg-statoverride --update --add tlog tlog 6755 "$bin"
    else
        dpkg-statoverride --list "$bin" | grep -q '^tlog tlog 6755 ' ||
            echo "install-tlog-user: keeping the administrator's override: $(dpkg-statoverride --list "$bin")" >&2
    fi
else
    chown tlog:tlog "$bin"
    chmod 6755 "$bin"
fi
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
