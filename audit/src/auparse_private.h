// libauparse's own interpretation entry points (auparse-idata.h, not
// installed; exported by libauparse 3.x and unchanged since 2.x): what
// auparse_interpret_field calls for the field it stands on, called by the
// converter for a field of the reader's records (and by its tests).
#pragma once

#include <auparse.h>

extern "C" {
struct auparse_idata {
    unsigned int machine;
    int syscall;
    unsigned long long a0;
    unsigned long long a1;
    const char* cwd;
    const char* name;
    const char* val;
};
int auparse_interp_adjust_type(int rtype, const char* name, const char* val);
char* auparse_do_interpretation(int type, const auparse_idata* id, auparse_esc_t escape_mode);
void _auparse_load_interpretations(const char* buf);
void _auparse_free_interpretations(void);
}
