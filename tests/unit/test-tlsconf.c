/* test-tlsconf: the certs.d reader against directories made here, with
 * certificates and keys made here with libcrypto. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tap.h"
#include "src/registry/tlsconf.h"
#include "src/base/util.h"

static char root[] = "/tmp/test-tlsconf.XXXXXX";

/* A self-signed certificate and its key, written as PEM to
 * root/name.cert.pem and root/name.key.pem, to be copied about. */
static void make_pair(const char *name)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_sign(x, k, EVP_sha256());
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.cert.pem", root, name);
	FILE *f = fopen(path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key.pem", root, name);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* put("d1/reg:5000/ca.crt", "a.cert.pem"): copies root/a.cert.pem there. */
static void put(const char *rel, const char *from)
{
	char *dst = path_join(root, rel), *src = path_join(root, from), *text = NULL;
	size_t len = 0;
	char *slash = strrchr(dst, '/');
	*slash = '\0';
	mkdir_p(dst, 0755);
	*slash = '/';
	if (read_file(src, 1 << 20, &text, &len) == 0) {
		FILE *f = fopen(dst, "w");
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(text);
	free(src);
	free(dst);
}

static void wipe(void)
{
	char *d1 = path_join(root, "d1"), *d2 = path_join(root, "d2");
	rm_rf(d1);
	rm_rf(d2);
	free(d1);
	free(d2);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 99;
	}
	make_pair("a");
	make_pair("b");
	char *d1 = path_join(root, "d1"), *d2 = path_join(root, "d2");
	char *dirs[] = { d1, d2, NULL };
	char want[1024];
	struct tlsconf t;
	struct strata_error err = STRATA_ERROR_INIT;

	int r = tlsconf_load(&t, "reg:5000", dirs, NULL, &err);
	is_int(r, 0, "no directory: no error");
	is_int(t.cas.len, 0, "no CA");
	ok(!t.cert_path, "no client certificate");
	snprintf(want, sizeof(want), "%s/reg:5000, %s/reg:5000", d1, d2);
	is_str(t.looked_in, want, "the directories looked in, for messages");
	tlsconf_release(&t);

	/* containers layout: any *.crt; Docker's ca.crt in the second. */
	put("d1/reg:5000/lab.crt", "a.cert.pem");
	put("d2/reg:5000/ca.crt", "b.cert.pem");
	put("d1/reg:5000/sub.crt/x", "a.cert.pem"); /* a directory named .crt */
	put("d1/reg:5000/README", "a.key.pem");     /* other names are ignored */
	r = tlsconf_load(&t, "reg:5000", dirs, NULL, &err);
	is_int(r, 0, "CAs of both layouts load");
	is_int(t.ca_files, 2, "both *.crt files, the directory skipped");
	ok(strstr(t.cas.data, "-----BEGIN CERTIFICATE-----") != NULL, "the CAs are PEM");
	tlsconf_release(&t);

	/* The directory is the host as written: with its port. */
	r = tlsconf_load(&t, "reg", dirs, NULL, &err);
	is_int(t.ca_files, 0, "reg is not reg:5000");
	tlsconf_release(&t);

	/* Client pairs: the first in directory order, then name order. */
	wipe();
	put("d1/reg/zz.cert", "b.cert.pem");
	put("d1/reg/zz.key", "b.key.pem");
	put("d1/reg/mm.cert", "a.cert.pem");
	put("d1/reg/mm.key", "a.key.pem");
	put("d2/reg/client.cert", "b.cert.pem");
	put("d2/reg/client.key", "b.key.pem");
	r = tlsconf_load(&t, "reg", dirs, NULL, &err);
	is_int(r, 0, "three client pairs load");
	snprintf(want, sizeof(want), "%s/reg/mm.cert", d1);
	is_str(t.cert_path, want, "the first by name in the first directory is presented");
	snprintf(want, sizeof(want), "%s/reg/mm.key", d1);
	is_str(t.key_path, want, "with its key");
	ok(strstr(t.key.data, "PRIVATE KEY") != NULL, "the key's PEM is kept");
	tlsconf_release(&t);

	/* Broken files are named. */
	struct {
		const char *files[4][2];
		const char *msg;
	} bad[] = {
		{ { { "d1/reg/c.cert", "a.cert.pem" } }, "client certificate '%s/reg/c.cert' has no key '%s/reg/c.key'" },
		{ { { "d1/reg/c.key", "a.key.pem" } }, "client key '%s/reg/c.key' has no certificate '%s/reg/c.cert'" },
		{ { { "d1/reg/c.cert", "a.cert.pem" }, { "d1/reg/c.key", "b.key.pem" } },
		  "client key '%s/reg/c.key' does not match its certificate '%s/reg/c.cert'" },
		{ { { "d1/reg/c.cert", "a.key.pem" }, { "d1/reg/c.key", "a.key.pem" } },
		  "client certificate '%s/reg/c.cert': no PEM certificate in it" },
		{ { { "d1/reg/c.cert", "a.cert.pem" }, { "d1/reg/c.key", "a.cert.pem" } },
		  "client key '%s/reg/c.key': no PEM private key in it" },
		{ { { "d1/reg/x.crt", "a.key.pem" } }, "CA certificate file '%s/reg/x.crt': no PEM certificate in it" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wipe();
		for (int j = 0; j < 4 && bad[i].files[j][0]; j++)
			put(bad[i].files[j][0], bad[i].files[j][1]);
		error_clear(&err);
		r = tlsconf_load(&t, "reg", dirs, NULL, &err);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(want, sizeof(want), bad[i].msg, d1, d1);
#pragma GCC diagnostic pop
		ok(r < 0 && strstr(err.msg, want), "error: %s", want);
		if (!strstr(err.msg, want))
			printf("#   got '%s'\n", err.msg);
		ok(!t.cert_path && !t.cas.len && !t.looked_in, "nothing kept after '%s'", want);
	}

	/* A dangling symbolic link is skipped, as containers/image does. */
	wipe();
	put("d1/reg/real.crt", "a.cert.pem");
	char *dangling = path_join(d1, "reg/gone.crt");
	(void)!symlink("/nonexistent/gone.crt", dangling);
	r = tlsconf_load(&t, "reg", dirs, NULL, &err);
	ok(r == 0 && t.ca_files == 1, "a dangling link is skipped");
	tlsconf_release(&t);
	free(dangling);

	/* registry.ca_file adds to certs.d, and must exist. */
	char *ca = path_join(root, "b.cert.pem");
	r = tlsconf_load(&t, "reg", dirs, ca, &err);
	ok(r == 0 && t.ca_files == 2, "registry.ca_file adds a CA file");
	tlsconf_release(&t);
	error_clear(&err);
	r = tlsconf_load(&t, "reg", NULL, "/nonexistent/ca.pem", &err);
	is_int(r, -ENOENT, "a missing registry.ca_file is an error");
	is_str(err.msg, "cannot read certificate file '/nonexistent/ca.pem': no such file or directory",
	       "naming it");
	r = tlsconf_load(&t, "reg", NULL, NULL, &err);
	ok(r == 0 && !strcmp(t.looked_in, ""), "no certs.d directory at all");
	tlsconf_release(&t);
	tlsconf_release(&t); /* twice is harmless */

	error_clear(&err);
	r = tlsconf_load(&t, "../etc", dirs, NULL, &err);
	is_int(r, -EINVAL, "a host that would leave the directory is refused");

	free(ca);
	free(d1);
	free(d2);
	rm_rf(root);
	return tap_done();
}
