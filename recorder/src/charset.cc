#include "tlog/rec/charset.h"

#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <strings.h>

#include <stdexcept>

namespace tlog::rec {

std::string locale_codeset() {
    const char* c = nl_langinfo(CODESET);
    return c ? c : "";
}

bool codeset_is_utf8(const std::string& c) {
    return strcasecmp(c.c_str(), "UTF-8") == 0 || strcasecmp(c.c_str(), "utf8") == 0;
}

ToUtf8::ToUtf8(const std::string& from) {
    iconv_t cd = iconv_open("UTF-8", from.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1))  // NOLINT(performance-no-int-to-ptr): iconv_open's error value
        throw std::runtime_error("cannot convert from " + from + " to UTF-8: iconv does not know it");
    cd_ = cd;
}

ToUtf8::~ToUtf8() { iconv_close(static_cast<iconv_t>(cd_)); }

std::string_view ToUtf8::convert(std::string_view in) {
    std::string src;
    std::string_view data = in;
    if (!carry_.empty()) {
        src = carry_ + std::string(in);
        carry_.clear();
        data = src;
    }
    out_.clear();
    out_.resize(data.size() * 4 + 16);
    char* ip = const_cast<char*>(data.data());
    size_t il = data.size();
    char* op = out_.data();
    size_t ol = out_.size();
    while (il) {
        size_t r = iconv(static_cast<iconv_t>(cd_), &ip, &il, &op, &ol);
        if (r != static_cast<size_t>(-1)) break;
        if (errno == EINVAL) {  // cut character: wait for the rest
            carry_.assign(ip, il);
            break;
        }
        if (errno == EILSEQ) {  // invalid in the source: pass the byte on as is
            *op++ = *ip++;
            ol--;
            il--;
            continue;
        }
        if (errno == E2BIG) {  // cannot happen with 4x room, but be safe
            size_t used = static_cast<size_t>(op - out_.data());
            out_.resize(out_.size() * 2);
            op = out_.data() + used;
            ol = out_.size() - used;
            continue;
        }
        break;
    }
    return std::string_view(out_.data(), static_cast<size_t>(op - out_.data()));
}

}  // namespace tlog::rec
