// OpenSSL's libcrypto (Debian libssl-dev; libcrypto.so.3 at run time) for SHA-256 through the EVP digest
// interface: SHA256_Init and its kin are deprecated since OpenSSL 3.0.
#ifndef VITREOUS_CLIBCRYPTO_SHIM_H
#define VITREOUS_CLIBCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
