// Our SHA-256 and HMAC-SHA256 against the NIST and RFC 4231 vectors and
// against OpenSSL for every length around the block boundaries, split
// into updates of every size.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cmocka_cxx.h"
#include "tlog/sha256.h"

static std::string hex(const tlog::Sha256::Digest& d) { return tlog::Sha256::hex(d); }

static void test_vectors(void**) {
    assert_str_eq(hex(tlog::Sha256::of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_str_eq(hex(tlog::Sha256::of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_str_eq(hex(tlog::Sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    tlog::Sha256 h;
    std::string a(1000, 'a');
    for (int i = 0; i < 1000; i++) h.update(a);
    assert_str_eq(hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // RFC 4231 test case 2 and 6 (key longer than a block).
    tlog::HmacSha256 m("Jefe");
    tlog::Sha256 in = m.begin();
    in.update("what do ya want for nothing?");
    assert_str_eq(hex(m.finish(in)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    tlog::HmacSha256 m6(std::string(131, '\xaa'));
    tlog::Sha256 in6 = m6.begin();
    in6.update("Test Using Larger Than Block-Size Key - Hash Key First");
    assert_str_eq(hex(m6.finish(in6)), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_against_openssl(void**) {
    std::mt19937 rng(99);
    std::string data(1200, 0);
    for (auto& c : data) c = static_cast<char>(rng());
    for (size_t len = 0; len <= data.size(); len += (len < 300 ? 1 : 37)) {
        unsigned char want[32];
        unsigned int n = 0;
        EVP_Digest(data.data(), len, want, &n, EVP_sha256(), nullptr);
        for (size_t step : {size_t(1), size_t(7), size_t(63), size_t(64), size_t(65), len + 1}) {
            tlog::Sha256 h;
            for (size_t off = 0; off < len; off += step) h.update(data.data() + off, std::min(step, len - off));
            auto got = h.finish();
            assert_memory_equal(got.data(), want, 32);
        }
        std::string key = data.substr(len % 100, len % 90);
        unsigned char hm[32];
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), len, hm, &n);
        tlog::HmacSha256 mac(key);
        tlog::Sha256 in = mac.begin();
        in.update(data.data(), len);
        auto got = mac.finish(in);
        assert_memory_equal(got.data(), hm, 32);
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_against_openssl),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
