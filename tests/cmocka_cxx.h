// cmocka from C++, for every cmocka test (include "cmocka_cxx.h"; tests/ is
// on their include path).
#pragma once
// cmocka defines fail() as a macro, which breaks std::basic_ios::fail():
// every standard C++ header the tests use is included before it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
// cmocka's header needs these C headers first.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

// Compares two strings of any kind (std::string, const char *) with
// cmocka's string comparison, which prints both on failure.
#define assert_str_eq(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())
