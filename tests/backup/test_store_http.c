/*
 * The object-store clients' pure pieces (src/backup/store_http.c): the XML element
 * scanner on the shapes S3 and Azure answer with (and on truncated or hostile input),
 * entity decoding, percent-encoding as SigV4 and Shared Key need it, HMAC-SHA256 against
 * RFC 4231, base64, endpoints and error texts. The network half is env.backup_store_clients.
 */
#include <string.h>

#include "backup/store_http.h"
#include "check.h"

static const char *find(const char *doc, const char *tag, char *out, size_t size)
{
	const char *s, *e, *next;
	if (!n4j_xml_find(doc, doc + strlen(doc), tag, &s, &e, &next))
		return NULL;
	snprintf(out, size, "%.*s", (int)(e - s), s);
	return out;
}

static void test_xml(void)
{
	char b[256];
	/* The first element of that exact name: Blob is not Blobs nor BlobPrefix. */
	const char *az = "<EnumerationResults ServiceEndpoint=\"x\"><Blobs><BlobPrefix><Name>d/"
			 "</Name></BlobPrefix><Blob><Name>a</Name></Blob></Blobs><NextMarker/>"
			 "</EnumerationResults>";
	CHECK_STR(find(az, "Blob", b, sizeof(b)), "<Name>a</Name>");
	CHECK_STR(find(az, "Blobs", b, sizeof(b)),
		  "<BlobPrefix><Name>d/</Name></BlobPrefix><Blob><Name>a</Name></Blob>");
	CHECK_STR(find(az, "NextMarker", b, sizeof(b)), ""); /* <tag/> is empty */
	CHECK_STR(find(az, "EnumerationResults", b, sizeof(b)) ? "found" : NULL, "found");
	CHECK(!find(az, "Marker", b, sizeof(b))); /* NextMarker is not Marker */
	CHECK_STR(find("<a x='1'>v</a>", "a", b, sizeof(b)), "v");
	CHECK_STR(find("<a\n>v</a>", "a", b, sizeof(b)), "v");
	/* Unterminated or truncated answers are "absent", never read past the end. */
	CHECK(!find("<Key>abc", "Key", b, sizeof(b)));
	CHECK(!find("<Key", "Key", b, sizeof(b)));
	CHECK(!find("<", "Key", b, sizeof(b)));
	CHECK(!find("", "Key", b, sizeof(b)));
	CHECK(!find("<Key>abc</Ke", "Key", b, sizeof(b)));
	const char *doc = "<Key>abc</Key>";
	const char *s, *e, *next;
	/* A bounded scan: the end pointer is honoured even inside a longer buffer. */
	CHECK(!n4j_xml_find(doc, doc + 10, "Key", &s, &e, &next));
	CHECK(n4j_xml_find(doc, doc + 14, "Key", &s, &e, &next) && next == doc + 14);
	/* Consecutive elements: next continues after the first. */
	const char *two = "<C><K>1</K></C><C><K>2</K></C>";
	CHECK(n4j_xml_find(two, two + strlen(two), "C", &s, &e, &next));
	CHECK(n4j_xml_find(next, two + strlen(two), "C", &s, &e, &next) &&
	      strncmp(s, "<K>2</K>", 8) == 0);
}

static void test_text(void)
{
	struct n4j_arena *a = n4j_arena_new();
	const char *in = "a &amp; b &lt;c&gt; &quot;&apos; &#65;&#x42; &#xe9;";
	CHECK_STR(n4j_xml_text(a, in, in + strlen(in)), "a & b <c> \"' AB \xc3\xa9");
	const char *bad[] = {"&bogus;", "&amp", "&#;", "&#x110000;", "&#0;", "&#xd800;", "&#12a;"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(!n4j_xml_text(a, bad[i], bad[i] + strlen(bad[i])), "%s", bad[i]);
	CHECK_STR(n4j_xml_text(a, in, in), "");
	n4j_arena_free(a);
}

static void test_encode(void)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	const char *s = "a b/c~d_e.f-g&h=i+j%k\xc3\xa9";
	n4j_uri_encode(&b, s, strlen(s), true);
	CHECK_STR(n4j_buf_cstr(&b), "a%20b/c~d_e.f-g%26h%3Di%2Bj%25k%C3%A9");
	n4j_buf_reset(&b);
	n4j_uri_encode(&b, s, strlen(s), false);
	CHECK_STR(n4j_buf_cstr(&b), "a%20b%2Fc~d_e.f-g%26h%3Di%2Bj%25k%C3%A9");
	n4j_buf_free(&b);

	/* RFC 4231 test case 2. */
	unsigned char mac[32];
	char hex[65];
	CHECK(n4j_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac) == 0);
	n4j_hex(mac, 32, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	char *e = n4j_base64_encode((const unsigned char *)"ab?", 3);
	CHECK_STR(e, "YWI/");
	free(e);
	e = n4j_base64url_encode((const unsigned char *)"ab?>", 4);
	CHECK_STR(e, "YWI_Pg");
	free(e);
	unsigned char *d = NULL;
	size_t n = 0;
	CHECK(n4j_base64_decode("YWI/Pg==", &d, &n) == 0 && n == 4 && memcmp(d, "ab?>", 4) == 0);
	free(d);
	CHECK(n4j_base64_decode("YWI/", &d, &n) == 0 && n == 3);
	free(d);
	CHECK(n4j_base64_decode("YWI", &d, &n) != 0 && !d);
	CHECK(n4j_base64_decode("YW I", &d, &n) != 0);
	CHECK(n4j_base64_decode("Y=I/", &d, &n) != 0);
	CHECK(n4j_base64_decode("not base64!", &d, &n) != 0);
	CHECK(n4j_base64_decode("", &d, &n) != 0);
}

static void test_endpoint(void)
{
	struct n4j_endpoint ep;
	CHECK(n4j_endpoint_parse("http://127.0.0.1:10000/devstoreaccount1/", &ep) == 0);
	CHECK_STR(ep.scheme, "http");
	CHECK_STR(ep.hostport, "127.0.0.1:10000");
	CHECK_STR(ep.base, "/devstoreaccount1");
	CHECK(n4j_endpoint_parse("HTTPS://s3.example.com", &ep) == 0);
	CHECK_STR(ep.scheme, "https");
	CHECK_STR(ep.base, "");
	CHECK(n4j_endpoint_parse("ftp://x", &ep) != 0);
	CHECK(n4j_endpoint_parse("127.0.0.1:9000", &ep) != 0);
	CHECK(n4j_endpoint_parse("http://user:pw@host/", &ep) != 0); /* credentials in a URL */
	CHECK(n4j_endpoint_parse("http://host/?sig=x", &ep) != 0);
	CHECK(n4j_endpoint_parse("http:///path", &ep) != 0);

	struct n4j_arena *a = n4j_arena_new();
	char *first, *prefix;
	CHECK(n4j_target_split(a, "container/a/b/", &first, &prefix) == 0);
	CHECK_STR(first, "container");
	CHECK_STR(prefix, "a/b/");
	CHECK(n4j_target_split(a, "container", &first, &prefix) == 0);
	CHECK_STR(prefix, "");
	CHECK(n4j_target_split(a, "/x", &first, &prefix) != 0);
	n4j_arena_free(a);
}

static void test_clean(void)
{
	char out[32];
	const char *m = "  Server failed.\nRequestId:abc\nTime:x";
	n4j_store_clean_text(m, strlen(m), sizeof(out) - 1, out, sizeof(out));
	CHECK_STR(out, "Server failed."); /* first line only */
	const char *c = "a\tb\x01"
			"c";
	n4j_store_clean_text(c, strlen(c), sizeof(out) - 1, out, sizeof(out));
	CHECK_STR(out, "a b c");
	const char *longer = "0123456789abcdefghij";
	n4j_store_clean_text(longer, strlen(longer), 5, out, sizeof(out));
	CHECK_STR(out, "01234");
	n4j_store_clean_text(longer, strlen(longer), 100, out, 4); /* the buffer bounds too */
	CHECK_STR(out, "012");
}

static void test_size(void)
{
	const char *ok = "1234", *zero = "0", *big = "9223372036854775806";
	CHECK_INT(n4j_parse_size(ok, ok + 4), 1234);
	CHECK_INT(n4j_parse_size(ok, ok + 2), 12); /* bounded by e, not by the NUL */
	CHECK_INT(n4j_parse_size(zero, zero + 1), 0);
	CHECK_INT(n4j_parse_size(big, big + strlen(big)), 9223372036854775806LL);
	const char *bad[] = {"", "-1", "+1", "12a", " 1", "99999999999999999999", "1.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(n4j_parse_size(bad[i], bad[i] + strlen(bad[i])) == -1, "%s", bad[i]);
}

int main(void)
{
	test_size();
	test_xml();
	test_text();
	test_encode();
	test_endpoint();
	test_clean();
	CHECK_DONE();
}
