// The recorder programs' logic, so that tlog-rec and tlog-rec-session are
// thin mains: configuration, shell selection, identity switch, session lock,
// writer, encoder, rate limit, transfer and charset handling around the relay.
#pragma once

#include <string>

#include "tlog/rec/config.h"

namespace tlog::rec {

// Runs the program; returns the process exit status.
int recorder_main(Program p, int argc, char** argv);

// The shell encoded in a program name of the "-shell-" form
// ("tlog-rec-session-shell-bin-dash" -> "/bin/dash", "\\-" keeps a dash).
// Empty when the name has no "-shell-".
std::string shell_from_program_name(const std::string& argv0);

// True when `path` is (a link to) a recorder program: running it as the
// recorded shell would loop.
bool is_recorder_program(const std::string& path);

}  // namespace tlog::rec
