// SIGHUP (systemctl reload): the handler only counts; each thing that
// reloads (the TLS files at the next handshake, the access rules and the
// directory's in their own thread) compares the count with the one it last
// acted on, so one signal reaches all of them.
#pragma once

namespace tlog::server {

// Installs the handler (once per process; later calls do nothing).
void catch_hangups();
// How many SIGHUPs arrived since catch_hangups().
unsigned hangups();

}  // namespace tlog::server
