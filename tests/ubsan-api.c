/* ubsan-api.c — plugin/api.c and api-request.c, compiled into
 * test-api-ubsan with UBSan (tests/ops.am).  Their symbols take the place
 * of libaugurd.a's copy, so every API call test-api.c makes runs
 * instrumented. */
#include "api.c"
#include "api-request.c"
