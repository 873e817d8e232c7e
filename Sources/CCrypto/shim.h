#ifndef COTFORGE_CCRYPTO_SHIM_H
#define COTFORGE_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
