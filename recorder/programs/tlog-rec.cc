// tlog-rec: records a program (or the user's shell) run on purpose by the user.
#include "tlog/rec/recorder.h"

int main(int argc, char** argv) { return tlog::rec::recorder_main(tlog::rec::Program::Rec, argc, argv); }
