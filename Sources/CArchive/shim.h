#ifndef COTFORGE_CARCHIVE_SHIM_H
#define COTFORGE_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
// AE_IFREG / AE_IFDIR are cast macros that Swift does not import.
static const unsigned int cf_ae_ifreg = AE_IFREG;
static const unsigned int cf_ae_ifdir = AE_IFDIR;
#endif
