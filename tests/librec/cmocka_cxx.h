// cmocka from C++: its header needs these C headers first.
#pragma once
// cmocka defines fail() as a macro, which breaks std::basic_ios::fail():
// every C++ header a test uses is included before it.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
extern "C" {
#include <cmocka.h>
}
#include <string>

// Fails the test with a message when `cond` is false, printing both strings.
#define assert_str_eq(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())
