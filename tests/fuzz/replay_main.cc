// Runs a fuzz target over every file of its corpus (or the files named): the
// corpus is a regression test in the normal build (no libFuzzer needed).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
    size_t n = 0;
    auto run = [&n](const std::filesystem::path& p) {
        std::ifstream f(p, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
        n++;
    };
    for (int a = 1; a < argc; a++) {
        if (!std::filesystem::is_directory(argv[a])) {
            run(argv[a]);
            continue;
        }
        for (const auto& entry : std::filesystem::directory_iterator(argv[a])) run(entry.path());
    }
    std::printf("replayed %zu corpus inputs\n", n);
    return n ? 0 : 1;
}
