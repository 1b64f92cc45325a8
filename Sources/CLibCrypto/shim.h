#ifndef CLIBCRYPTO_SHIM_H
#define CLIBCRYPTO_SHIM_H
// OpenSSL's libcrypto (Debian libssl-dev): SHA-256 of API keys and a constant-time comparison. Nothing else.
#include <openssl/sha.h>
#include <openssl/crypto.h>
#endif
