// tlog-rec-session: the recording login shell (installed setuid/setgid tlog).
#include "tlog/rec/recorder.h"

int main(int argc, char** argv) { return tlog::rec::recorder_main(tlog::rec::Program::RecSession, argc, argv); }
