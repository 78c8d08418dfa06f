/* ubsan-api.c — plugin/api.c, compiled into test-api-ubsan with UBSan
 * (tests/ops.am).  Its symbols take the place of libaugurd.a's copy, so
 * every API call test-api.c makes runs instrumented. */
#include "api.c"
