/* tlsconf: a registry host's CA certificates and client certificate from
 * the certs.d directories of containers/image and Docker, and
 * registry.ca_file; every file is checked when it is read, so that a broken
 * one is named at once rather than failing a handshake later. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsconf.h"
#include "src/base/util.h"

/* A CA bundle may be a whole system bundle (about 200 KiB on Debian). */
#define PEM_FILE_MAX (8 << 20)

static const char *why_of(int code, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(-code));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Never asks for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

static int count_certs(const struct buf *pem)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	int n = 0;
	X509 *x;
	while (bio && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL))) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	return n;
}

/* Reads path whole into out. 0, -ENOENT (a dangling symbolic link, or a
 * file removed since the directory was listed), or another negative errno
 * with err set. */
static int read_pem(const char *path, struct buf *out, struct strata_error *err)
{
	char *text = NULL, why[128];
	size_t len = 0;
	int r = read_file(path, PEM_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r == -EFBIG)
		return error_set(err, r, "certificate file '%s': larger than %d bytes", path, PEM_FILE_MAX);
	if (r < 0)
		return error_set(err, r, "cannot read certificate file '%s': %s", path,
				 why_of(r, why, sizeof(why)));
	buf_reset(out);
	r = buf_add(out, text, len);
	explicit_bzero(text, len);
	free(text);
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

/* Appends the CA certificates of path to t->cas. */
static int add_cas(struct tlsconf *t, const char *path, bool must_exist, struct strata_error *err)
{
	struct buf pem = BUF_INIT;
	int r = read_pem(path, &pem, err);
	if (r == -ENOENT && !must_exist) {
		r = 0;
		goto out;
	}
	if (r == -ENOENT) {
		r = error_set(err, r, "cannot read certificate file '%s': no such file or directory", path);
		goto out;
	}
	if (r < 0)
		goto out;
	if (count_certs(&pem) == 0) {
		r = error_set(err, -EINVAL, "CA certificate file '%s': no PEM certificate in it", path);
		goto out;
	}
	if (buf_add(&t->cas, pem.data, pem.len) < 0 || buf_addch(&t->cas, '\n') < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	t->ca_files++;
out:
	buf_release(&pem);
	return r;
}

/* Checks the client pair cert_path/key_path; the first good one found is
 * kept in t. */
static int add_client_pair(struct tlsconf *t, const char *cert_path, const char *key_path,
			   struct strata_error *err)
{
	struct buf cert = BUF_INIT, key = BUF_INIT;
	BIO *cb = NULL, *kb = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int r = read_pem(cert_path, &cert, err);
	if (r == -ENOENT) {
		r = 0; /* gone since the listing: as containers/image, no pair */
		goto out;
	}
	if (r < 0 || (r = read_pem(key_path, &key, err)) < 0) {
		if (r == -ENOENT)
			r = error_set(err, r, "client certificate '%s' has no key '%s'", cert_path, key_path);
		goto out;
	}
	cb = BIO_new_mem_buf(cert.data, (int)cert.len);
	kb = BIO_new_mem_buf(key.data, (int)key.len);
	if (!cb || !kb) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!(x = PEM_read_bio_X509(cb, NULL, no_passphrase, NULL))) {
		r = error_set(err, -EINVAL, "client certificate '%s': no PEM certificate in it", cert_path);
		goto out;
	}
	if (!(pk = PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL))) {
		r = error_set(err, -EINVAL,
			      "client key '%s': no PEM private key in it (an encrypted key cannot be used)",
			      key_path);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		r = error_set(err, -EINVAL, "client key '%s' does not match its certificate '%s'",
			      key_path, cert_path);
		goto out;
	}
	if (!t->cert_path) {
		t->cert_path = strdup(cert_path);
		t->key_path = strdup(key_path);
		if (!t->cert_path || !t->key_path || buf_add(&t->cert, cert.data, cert.len) < 0 ||
		    buf_add(&t->key, key.data, key.len) < 0) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	r = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	ERR_clear_error();
	explicit_bzero(key.data, key.len);
	buf_release(&key);
	buf_release(&cert);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suffix);
	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*stem = n - m;
	return true;
}

static bool listed(char **names, size_t n, const char *name)
{
	return bsearch(&name, names, n, sizeof(*names), cmp_names) != NULL;
}

/* The names in dir, sorted (as Go's os.ReadDir gives them to
 * containers/image). -ENOENT when dir does not exist. */
static int list_dir(const char *dir, char ***out, size_t *count, struct strata_error *err)
{
	char why[128];
	DIR *d = opendir(dir);
	*out = NULL;
	*count = 0;
	if (!d) {
		int r = -errno;
		if (r == -ENOENT || r == -ENOTDIR)
			return -ENOENT;
		return error_set(err, r, "cannot read certificate directory '%s': %s", dir,
				 why_of(r, why, sizeof(why)));
	}
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == alloc) {
			size_t na = alloc ? 2 * alloc : 16;
			char **nn = realloc(names, na * sizeof(*nn));
			if (!nn) {
				r = -ENOMEM;
				break;
			}
			names = nn;
			alloc = na;
		}
		if (!(names[n] = strdup(e->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		while (n)
			free(names[--n]);
		free(names);
		return error_set(err, r, "out of memory");
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
}

/* Reads one DIR/HOST directory into t. */
static int load_dir(struct tlsconf *t, const char *dir, struct strata_error *err)
{
	char **names;
	size_t n, stem;
	int r = list_dir(dir, &names, &n, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *name = names[i];
		char *path = path_join(dir, name), *other = NULL;
		struct stat st;
		if (!path) {
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		/* Directories and the like are not certificates. */
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (ends_with(name, ".crt", &stem)) {
			r = add_cas(t, path, false, err);
		} else if (ends_with(name, ".cert", &stem)) {
			char *key = str_printf("%.*s.key", (int)stem, name);
			other = key ? path_join(dir, key) : NULL;
			if (!other)
				r = error_set(err, -ENOMEM, "out of memory");
			else if (!listed(names, n, key))
				r = error_set(err, -ENOENT, "client certificate '%s' has no key '%s'", path,
					      other);
			else
				r = add_client_pair(t, path, other, err);
			free(key);
		} else if (ends_with(name, ".key", &stem)) {
			char *cert = str_printf("%.*s.cert", (int)stem, name);
			other = cert ? path_join(dir, cert) : NULL;
			if (!other)
				r = error_set(err, -ENOMEM, "out of memory");
			else if (!listed(names, n, cert))
				r = error_set(err, -ENOENT,
					      "client key '%s' has no certificate '%s' (CA certificates end in .crt)",
					      path, other);
			free(cert);
		}
		free(other);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int tlsconf_load(struct tlsconf *t, const char *host, char *const *dirs, const char *ca_file,
		 struct strata_error *err)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->cas, 0);
	buf_init(&t->cert, 0);
	buf_init(&t->key, 0);
	struct buf looked = BUF_INIT;
	int r = 0;
	/* A host written as a path would leave the directory. */
	if (!*host || strchr(host, '/') || !strcmp(host, ".") || !strcmp(host, "..")) {
		r = error_set(err, -EINVAL, "invalid registry host '%s'", host);
		goto out;
	}
	for (char *const *d = dirs; d && *d && r == 0; d++) {
		char *dir = path_join(*d, host);
		if (!dir || buf_addf(&looked, "%s%s", looked.len ? ", " : "", dir) < 0)
			r = error_set(err, -ENOMEM, "out of memory");
		else
			r = load_dir(t, dir, err);
		free(dir);
	}
	if (r == 0 && ca_file && *ca_file)
		r = add_cas(t, ca_file, true, err);
	if (r < 0)
		goto out;
	t->looked_in = buf_detach(&looked, NULL);
	if (!t->looked_in)
		r = error_set(err, -ENOMEM, "out of memory");
out:
	buf_release(&looked);
	if (r < 0)
		tlsconf_release(t);
	return r;
}

void tlsconf_release(struct tlsconf *t)
{
	if (!t)
		return;
	explicit_bzero(t->key.data, t->key.len);
	buf_release(&t->key);
	buf_release(&t->cert);
	buf_release(&t->cas);
	free(t->cert_path);
	free(t->key_path);
	free(t->looked_in);
	t->cert_path = t->key_path = t->looked_in = NULL;
	t->ca_files = 0;
}
