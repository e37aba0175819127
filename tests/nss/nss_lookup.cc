// A small client for the NSS tests: resolves users through glibc (so through
// whatever module chain nsswitch.conf or --configure sets) and prints
// NAME:UID:GID:SHELL per entry. Exit 2 when a user is not found.
//
//   nss_lookup [--configure "tlog files"] name NAME | uid UID | enum | loop N NAME...
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" int __nss_configure_lookup(const char* db, const char* service_line);

static void print(const struct passwd* pw) {
    printf("%s:%u:%u:%s\n", pw->pw_name, static_cast<unsigned>(pw->pw_uid), static_cast<unsigned>(pw->pw_gid),
           pw->pw_shell);
}

int main(int argc, char** argv) {
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--configure") == 0) {
        if (__nss_configure_lookup("passwd", argv[i + 1]) != 0) {
            perror("__nss_configure_lookup");
            return 1;
        }
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: nss_lookup [--configure LINE] name NAME|uid UID|enum|loop N NAME...\n");
        return 1;
    }
    const char* cmd = argv[i++];
    if (strcmp(cmd, "name") == 0 && i < argc) {
        errno = 0;
        struct passwd* pw = getpwnam(argv[i]);
        if (!pw) return errno ? 3 : 2;
        print(pw);
    } else if (strcmp(cmd, "uid") == 0 && i < argc) {
        errno = 0;
        struct passwd* pw = getpwuid(static_cast<uid_t>(strtoul(argv[i], nullptr, 10)));
        if (!pw) return errno ? 3 : 2;
        print(pw);
    } else if (strcmp(cmd, "enum") == 0) {
        setpwent();
        while (struct passwd* pw = getpwent()) print(pw);
        endpwent();
    } else if (strcmp(cmd, "loop") == 0 && i < argc) {
        // Repeated lookups with getpwnam_r and a growing buffer (valgrind test).
        const long n = strtol(argv[i++], nullptr, 10);
        for (long k = 0; k < n; ++k) {
            for (int j = i; j < argc; ++j) {
                size_t size = 8;
                for (;;) {
                    char* buf = static_cast<char*>(malloc(size));
                    struct passwd pw, *res = nullptr;
                    int rc = getpwnam_r(argv[j], &pw, buf, size, &res);
                    if (rc == ERANGE) {
                        free(buf);
                        size *= 2;
                        continue;
                    }
                    if (k == 0 && res) print(res);
                    free(buf);
                    break;
                }
            }
        }
        setpwent();
        while (getpwent()) {}
        endpwent();
    } else {
        fprintf(stderr, "nss_lookup: bad command\n");
        return 1;
    }
    return 0;
}
