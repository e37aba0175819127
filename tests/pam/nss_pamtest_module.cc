// libnss_pamtest.so.2: a test NSS source standing for "the sources after
// tlog" (pam_tlog asks them for the real shell). Answers getpwnam_r from the
// passwd-format file named by PAMTEST_PASSWD. Test code only.
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" __attribute__((visibility("default"))) enum nss_status _nss_pamtest_getpwnam_r(const char* name,
                                                                                          struct passwd* pw, char* buf,
                                                                                          size_t len, int* errnop) {
    const char* path = getenv("PAMTEST_PASSWD");
    FILE* f = path ? fopen(path, "re") : nullptr;
    if (!f) {
        *errnop = ENOENT;
        return NSS_STATUS_UNAVAIL;
    }
    struct passwd* res = nullptr;
    enum nss_status st = NSS_STATUS_NOTFOUND;
    *errnop = ENOENT;
    while (fgetpwent_r(f, pw, buf, len, &res) == 0) {
        if (strcmp(pw->pw_name, name) == 0) {
            st = NSS_STATUS_SUCCESS;
            break;
        }
    }
    if (st != NSS_STATUS_SUCCESS && errno == ERANGE) {
        *errnop = ERANGE;
        st = NSS_STATUS_TRYAGAIN;
    }
    fclose(f);
    return st;
}
