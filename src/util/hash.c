#include <openssl/evp.h>

#include "util/util.h"

void n4j_sha256_hex(const void *data, size_t len, char out[N4J_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		/* Only fails on a broken libcrypto; an all-zero hash never matches a real one. */
		for (int i = 0; i < N4J_SHA256_HEX_LEN; i++)
			out[i] = '0';
		out[N4J_SHA256_HEX_LEN] = '\0';
		return;
	}
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[N4J_SHA256_HEX_LEN] = '\0';
}
