#ifndef COTFORGE_CZSTD_SHIM_H
#define COTFORGE_CZSTD_SHIM_H
#include <zstd.h>
// ZSTD_CONTENTSIZE_* are expression macros that Swift does not import.
static const unsigned long long cf_zstd_contentsize_unknown = ZSTD_CONTENTSIZE_UNKNOWN;
static const unsigned long long cf_zstd_contentsize_error = ZSTD_CONTENTSIZE_ERROR;
#endif
