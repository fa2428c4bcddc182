/* extract_sqlite.c — stub until the VFS lands */
#include "server/extract_int.h"
int ex_sqlite(struct ex_ctx *x) { ex_malformed(x, "sqlite: not yet"); return 0; }
