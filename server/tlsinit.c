#include "tlsinit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util.h"

static EVP_PKEY *
new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return 0;
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is
 * NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
          long days)
{
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509 *c = X509_new();

	if (c == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) == NULL)
		goto fail;
	X509_set_version(c, 2);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), days * 86400);
	X509_set_pubkey(c, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "O", MBSTRING_UTF8,
	                           (const unsigned char *)"mutu", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN",
	                           MBSTRING_UTF8, (const unsigned char *)cn, -1,
	                           -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(issuer ? issuer : c));
	BN_free(bn);
	return c;
fail:
	BN_free(bn);
	X509_free(c);
	(void)issuer_key;
	return NULL;
}

/* "a.example,10.0.0.5" -> "DNS:a.example,IP:10.0.0.5" */
static int
san_of(const char *hosts, char *out, size_t n)
{
	char copy[1024], *tok, *save = NULL;
	unsigned char addr[16];
	size_t len = 0;
	int w;

	if (util_strlcpy(copy, hosts, sizeof(copy)) == -1)
		return -1;
	out[0] = '\0';
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int ip = inet_pton(AF_INET, tok, addr) == 1 ||
		         inet_pton(AF_INET6, tok, addr) == 1;
		if (*tok == '\0' ||
		    strspn(tok, "abcdefghijklmnopqrstuvwxyz"
		                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                "0123456789.-:*") != strlen(tok))
			return -1;
		w = snprintf(out + len, n - len, "%s%s:%s", len ? "," : "",
		             ip ? "IP" : "DNS", tok);
		if (w < 0 || (size_t)w >= n - len)
			return -1;
		len += (size_t)w;
	}
	return len > 0 ? 0 : -1;
}

static int
write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	if (b == NULL)
		return -1;
	if ((key && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
	                                     NULL) != 1) ||
	    (cert && PEM_write_bio_X509(b, cert) != 1))
		goto fail;
	len = BIO_get_mem_data(b, &data);
	rc = util_write_file(path, data, (size_t)len, key ? 0600 : 0644);
fail:
	BIO_free(b);
	return rc;
}

/* Loads ca.pem and ca.key from dir if both exist: 1, 0 if absent, -1. */
static int
load_ca(const char *dir, X509 **ca, EVP_PKEY **key)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	*ca = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	*key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	return *ca && *key ? 1 : -1;
}

static int
new_ca(const char *dir, X509 **ca, EVP_PKEY **key)
{
	char path[4096], cn[64], id[9];
	unsigned char raw[4];

	/* A name of its own: two sites' CAs must never be confused. */
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	snprintf(id, sizeof(id), "%02x%02x%02x%02x", raw[0], raw[1], raw[2],
	         raw[3]);
	snprintf(cn, sizeof(cn), "mutu private CA %s", id);
	if ((*key = new_key()) == NULL ||
	    (*ca = make_cert(*key, cn, NULL, NULL, 3653)) == NULL ||
	    add_ext(*ca, *ca, NID_basic_constraints,
	            "critical,CA:TRUE,"
	            "pathlen:0") == -1 ||
	    add_ext(*ca, *ca, NID_key_usage, "critical,keyCertSign,cRLSign") ==
	        -1 ||
	    add_ext(*ca, *ca, NID_subject_key_identifier, "hash") == -1 ||
	    X509_sign(*ca, *key, EVP_sha256()) == 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	if (write_pem(path, *key, NULL) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	return write_pem(path, NULL, *ca);
}

/* The CA's revocation list: empty, valid a year, signed by the CA. */
static int
write_crl(const char *dir, X509 *ca, EVP_PKEY *cakey)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
	char path[4096];
	BIO *b = NULL;
	char *data;
	long len;
	int rc = -1;

	if (crl == NULL || now == NULL || next == NULL)
		goto fail;
	X509_gmtime_adj(now, 0);
	X509_gmtime_adj(next, 365L * 86400);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(crl, now);
	X509_CRL_set1_nextUpdate(crl, next);
	if (X509_CRL_sign(crl, cakey, EVP_sha256()) == 0 ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_CRL(b, crl) != 1)
		goto fail;
	len = BIO_get_mem_data(b, &data);
	snprintf(path, sizeof(path), "%s/crl.pem", dir);
	rc = util_write_file(path, data, (size_t)len, 0644);
fail:
	BIO_free(b);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return rc;
}

int
tlsinit_create(const char *dir, const char *hosts, const char *crl_url,
               char *err, size_t errlen)
{
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	char san[2048], path[4096], first[256], dp[600];
	int rc = -1, have;

	if (san_of(hosts, san, sizeof(san)) == -1) {
		snprintf(err, errlen,
		         "hosts: expected DNS names or addresses "
		         "separated by commas");
		return -1;
	}
	util_strlcpy(first, hosts, sizeof(first));
	first[strcspn(first, ",")] = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((have = load_ca(dir, &ca, &cakey)) == -1 ||
	    (have == 0 && new_ca(dir, &ca, &cakey) == -1))
		goto fail;
	if ((key = new_key()) == NULL ||
	    (cert = make_cert(key, first, ca, cakey, 731)) == NULL ||
	    add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") ==
	        -1 ||
	    add_ext(cert, ca, NID_key_usage,
	            "critical,digitalSignature,keyEncipherment") == -1 ||
	    add_ext(cert, ca, NID_ext_key_usage, "serverAuth") == -1 ||
	    add_ext(cert, ca, NID_subject_alt_name, san) == -1 ||
	    (snprintf(dp, sizeof(dp), "URI:%s", crl_url),
	     add_ext(cert, ca, NID_crl_distribution_points, dp) == -1) ||
	    X509_sign(cert, cakey, EVP_sha256()) == 0)
		goto fail;
	if (write_crl(dir, ca, cakey) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/server.key", dir);
	if (write_pem(path, key, NULL) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/server.pem", dir);
	if (write_pem(path, NULL, cert) == -1)
		goto fail;
	rc = 0;
fail:
	if (rc == -1)
		snprintf(err, errlen, "%s: cannot create the certificates: %s",
		         dir, ERR_reason_error_string(ERR_get_error()));
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return rc;
}

long long
tlsinit_expiry(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	long long t = -1;
	struct tm tm;

	if (cert != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		t = (long long)timegm(&tm);
	X509_free(cert);
	BIO_free(bio);
	return t;
}
