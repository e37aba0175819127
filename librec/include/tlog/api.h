// What the format library exports. The library is compiled with
// -fvisibility=hidden, so only declarations marked TLOG_API are part of its
// ABI; everything else (anonymous namespaces, helpers in .cc files) stays
// inside librec.so and can change without breaking a program linked to it.
#pragma once

#define TLOG_API __attribute__((visibility("default")))
// For a class nested in an exported one that stays inside the library (the
// pimpl structs): without it, it would inherit TLOG_API.
#define TLOG_LOCAL __attribute__((visibility("hidden")))
