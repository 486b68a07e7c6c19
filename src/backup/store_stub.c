/* Stand-ins for cloud backends not in the tree yet (see CMakeLists.txt). */
#include "backup/internal.h"

#define N4J_STUB(fn, scheme)                                                                       \
	int fn(const char *bucket_or_account, const char *rest, struct n4j_store **out,            \
	       struct n4j_error *err)                                                              \
	{                                                                                          \
		(void)bucket_or_account;                                                           \
		(void)rest;                                                                        \
		(void)out;                                                                         \
		return n4j_err(err, N4J_EINVAL,                                                    \
			       scheme ":// targets are not built into this "                       \
				      "operator");                                                 \
	}

#ifdef N4J_STUB_S3
N4J_STUB(n4j_store_open_s3, "s3")
#endif
#ifdef N4J_STUB_GCS
N4J_STUB(n4j_store_open_gcs, "gs")
#endif
#ifdef N4J_STUB_AZURE
N4J_STUB(n4j_store_open_azure, "azb")
#endif
