"""Helpers of the Python tests, one module per subject (tests/README.md):
terminal   a program on a fresh pty, the recording read back with codec-tool
namespace  a private mount namespace: users, /dev, sshd_config, rsyslogd, journald
security_env  the setuid/setgid-tlog recorder installed in a namespace (Env)
login      the real login path through sshd, PAM and NSS (Login, Auditd)
player     tlog-play on a pty and in tmux, recordings made with codec-tool
browser    headless Chromium over the DevTools protocol (web pages: evaluate, wait, errors)
server     tlog-server started with its log in a file and its port read (start)
Found through PYTHONPATH=<source root>/tests, which every meson test that
runs Python sets."""
