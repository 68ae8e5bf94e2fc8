/* registry: a client of the OCI distribution API on libcurl — manifests and
 * blobs over verified HTTPS (plain HTTP only where Docker would use it),
 * Bearer and Basic auth with a token cache, redirects that never carry
 * credentials to another host, retries with backoff, and blob streaming
 * that resumes with Range and verifies size and digest. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "auth.h"
#include "src/base/digest.h"
#include "src/base/log.h"
#include "manifest.h"
#include "ref.h"
#include "registry.h"
#include "tlsconf.h"
#include "src/base/util.h"

#define USER_AGENT "strata/" PACKAGE_VERSION
#define MAX_REDIRECTS 10
#define MAX_AUTH_ROUNDS 3
#define ERRBODY_MAX 4096
#define HEADER_MAX 8192
#define TOKEN_BODY_MAX (1 << 20)
#define BACKOFF_START_MS 200
#define BACKOFF_CAP_MS 5000
#define RETRY_AFTER_CAP_S 10
#define CONNECT_TIMEOUT_S 30
/* registry.stall_timeout when there is no configuration. */
#define STALL_SECONDS 30
/* A token is dropped this long before the registry would refuse it. */
#define TOKEN_MARGIN_NS (10ULL * 1000000000ULL)
/* The system CA bundle read beside custom CAs (Debian's is about 200 KiB). */
#define CA_BUNDLE_MAX (16 << 20)

/* How the registry host is spoken to, once known. */
enum scheme { SCHEME_UNKNOWN, SCHEME_HTTPS, SCHEME_HTTP };

struct token {
	struct token *next;
	char *scope;
	char *value;
	uint64_t expires_ns; /* now_ns() clock */
};

struct registry {
	char *domain; /* as refs name it: for messages, credentials and certs.d */
	char *https_base, *http_base;     /* "https://registry-1.docker.io" */
	char *https_origin, *http_origin; /* the bases normalised by origin_of */
	const struct strata_conf *conf;
	/* Loopback and registry.insecure hosts are spoken to over plain HTTP
	 * when they do not speak TLS at all; insecure ones' certificates are
	 * not verified. */
	bool may_fall_back, insecure;
	struct tlsconf tls;
	struct buf cainfo; /* tls.cas and the system bundle; empty = curl's defaults */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t lock;
	enum scheme scheme;    /* lock: decided by settle_scheme, then kept */
	struct token *tokens;  /* lock */
	bool basic;            /* lock: the registry asked for Basic auth */
	bool creds_loaded;     /* lock */
	char *user, *password; /* lock: NULL when there are none */

	_Atomic uint64_t requests, bytes, resumes, retries;
};

/* A blob being streamed to the caller across attempts. */
struct blobstream {
	const char *digest;
	int64_t size;   /* declared; -1 when unknown */
	int64_t offset; /* bytes handed to write() so far */
	int64_t skip;   /* bytes still to drop from a 200 answer to a Range request */
	int64_t end;    /* a range's end (exclusive); -1: to the end of the blob */
	struct sha256_ctx *sha;
	int (*write)(void *ctx, const void *data, size_t len);
	void *ctx;
};

/* One easy handle and what its last answer said. */
struct xfer {
	struct registry *r;
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
	/* reset at each status line */
	long status;
	char *content_type;
	char *challenge;   /* WWW-Authenticate, a Bearer one preferred */
	long retry_after;  /* seconds, -1 when absent */
	bool range_bad;    /* a 206 that does not start where we asked */
	/* where the body goes: body (whole, at most max bytes) or bs */
	const char *what; /* for messages */
	struct buf *body;
	size_t max;
	bool count_bytes;
	struct blobstream *bs;
	struct buf errbody;
	int abort; /* negative errno a sink failed with; message in sink_err;
		    * 1: a range is complete inside a whole answer */
	bool once; /* one attempt: the caller has a deadline of its own */
	int64_t range_from; /* where a range request began, for messages */
	struct strata_error sink_err;
	/* Stall detection: a transfer that receives no byte for stall_ns counts
	 * as cut (a blob then resumes). */
	uint64_t stall_ns;
	uint64_t last_byte_ns;  /* now_ns() when dl_seen last grew */
	curl_off_t dl_seen;
	bool stalled;
};

/* What is asked for, for requests and messages. */
struct target {
	const char *repo;
	char *path;        /* "/v2/<repo>/manifests/<ref>" */
	const char *accept;
	char *what;        /* "manifest 'a/b:tag'" */
	bool manifest;
	const char *reference;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_global(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct registry *r = userp;
	if (data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&r->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct registry *r = userp;
	if (data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&r->share_locks[data]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* "scheme://host:port", lowercased, or NULL when url does not parse. */
static char *origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
		goto out;
	out = str_printf("%s://%s:%s", scheme, host, port);
	for (char *p = out; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* The host part of url for messages ("?" when it does not parse). */
static char *host_of(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0))
		curl_url_get(u, CURLUPART_HOST, &host, 0);
	out = strdup(host ? host : "?");
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

static char *base64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* curl's reason for c, lowercased to read as the tail of our messages. */
static const char *curl_reason(struct xfer *x, CURLcode c)
{
	if (!x->errbuf[0])
		snprintf(x->errbuf, sizeof(x->errbuf), "%s", curl_easy_strerror(c));
	size_t n = strlen(x->errbuf);
	if (n && x->errbuf[n - 1] == '\n')
		x->errbuf[n - 1] = '\0';
	if (isupper((unsigned char)x->errbuf[0]) && !isupper((unsigned char)x->errbuf[1]))
		x->errbuf[0] = (char)tolower((unsigned char)x->errbuf[0]);
	return x->errbuf;
}

/* --- the answer: headers and body ------------------------------------- */

static void xfer_reset_answer(struct xfer *x)
{
	x->status = 0;
	free(x->content_type);
	free(x->challenge);
	x->content_type = x->challenge = NULL;
	x->retry_after = -1;
	x->range_bad = false;
	buf_reset(&x->errbody);
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;
	char line[HEADER_MAX];
	if (len >= sizeof(line))
		return len; /* nothing we read is this long */
	memcpy(line, data, len);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';

	if (!strncmp(line, "HTTP/", 5)) {
		xfer_reset_answer(x);
		const char *sp = strchr(line, ' ');
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return size * n;
	}
	char *colon = strchr(line, ':');
	if (!colon)
		return size * n;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!strcasecmp(line, "WWW-Authenticate")) {
		bool bearer = !strncasecmp(v, "bearer", 6);
		if (!x->challenge || (bearer && strncasecmp(x->challenge, "bearer", 6))) {
			free(x->challenge);
			x->challenge = strdup(v);
		}
	} else if (!strcasecmp(line, "Content-Type")) {
		free(x->content_type);
		x->content_type = strndup(v, strcspn(v, "; \t"));
	} else if (!strcasecmp(line, "Retry-After")) {
		char *end;
		long s = strtol(v, &end, 10);
		if (end != v && *end == '\0' && s >= 0)
			x->retry_after = s;
	} else if (!strcasecmp(line, "Content-Range") && x->bs && x->status == 206) {
		long long start = -1;
		if (sscanf(v, "bytes %lld-", &start) != 1 || start != x->bs->offset)
			x->range_bad = true;
	}
	return size * n;
}

static int blob_sink(struct xfer *x, const char *data, size_t len)
{
	struct blobstream *bs = x->bs;
	if (x->range_bad)
		return error_set(&x->sink_err, -EPROTO,
				 "blob '%s': the registry resumed at the wrong offset", bs->digest);
	if (x->status == 200 && bs->skip > 0) {
		/* The server ignored Range: drop what write() has already seen. */
		size_t drop = (uint64_t)bs->skip < len ? (size_t)bs->skip : len;
		bs->skip -= (int64_t)drop;
		data += drop;
		len -= drop;
		if (!len)
			return 0;
	}
	if (bs->end >= 0 && bs->offset + (int64_t)len > bs->end)
		len = (size_t)(bs->end - bs->offset); /* a server that ignored Range */
	if (bs->size >= 0 && bs->offset + (int64_t)len > bs->size)
		return error_set(&x->sink_err, -EBADMSG,
				 "blob '%s': larger than its declared size of %lld bytes", bs->digest,
				 (long long)bs->size);
	sha256_update(bs->sha, data, len);
	int r = bs->write(bs->ctx, data, len);
	if (r < 0)
		return error_errno(&x->sink_err, r, "blob '%s'", bs->digest);
	bs->offset += (int64_t)len;
	atomic_fetch_add(&x->r->bytes, len);
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;
	bool good = x->status == 200 || (x->bs && x->status == 206);
	if (!good) {
		size_t room = ERRBODY_MAX - x->errbody.len;
		buf_add(&x->errbody, data, len < room ? len : room);
		return len;
	}
	if (x->bs) {
		int r = blob_sink(x, data, len);
		if (r < 0) {
			x->abort = r;
			return 0;
		}
		if (x->bs->end >= 0 && x->bs->offset == x->bs->end && x->status == 200) {
			x->abort = 1; /* the rest of a whole blob is not wanted */
			return 0;
		}
		return len;
	}
	if (x->body->len + len > x->max || buf_add(x->body, data, len) < 0) {
		x->abort = -EFBIG;
		error_set(&x->sink_err, -EFBIG, "registry '%s': %s: larger than %zu bytes",
			  x->r->domain, x->what, x->max);
		return 0;
	}
	if (x->count_bytes)
		atomic_fetch_add(&x->r->bytes, len);
	return len;
}

/* A transfer that stops dead is caught here, stall_ns after its last byte:
 * CURLOPT_LOW_SPEED_TIME alone would notice it some five seconds later, as
 * curl averages the speed over the last seconds, which matters when the
 * timeout is a few seconds. That option stays, for a trickle of bytes. */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = userp;
	uint64_t now = now_ns();
	if (dlnow != x->dl_seen) {
		x->dl_seen = dlnow;
		x->last_byte_ns = now;
		return 0;
	}
	if (now - x->last_byte_ns < x->stall_ns)
		return 0;
	x->stalled = true;
	return 1; /* CURLE_ABORTED_BY_CALLBACK */
}

static int xfer_init(struct xfer *x, struct registry *r)
{
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->retry_after = -1;
	buf_init(&x->errbody, ERRBODY_MAX + 1);
	x->h = curl_easy_init();
	if (!x->h)
		return -ENOMEM;
	CURL *h = x->h;
	curl_easy_setopt(h, CURLOPT_SHARE, r->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	/* A proxy's answer to CONNECT is not the registry's. */
	curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	/* Redirects are followed by hand so that credentials stay with the registry. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	long stall_s = r->conf && r->conf->stall_timeout > 0 ? r->conf->stall_timeout : STALL_SECONDS;
	x->stall_ns = (uint64_t)stall_s * 1000000000ULL;
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* A connection per transfer: layers stream in parallel on connections
	 * of their own, and the shared connection cache holds no multiplexed
	 * HTTP/2 connection. */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, r->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, r->insecure ? 0L : 2L);
	/* registry_open checked that this libcurl takes these. */
#if LIBCURL_VERSION_NUM >= 0x074d00
	if (r->cainfo.len) {
		struct curl_blob b = { r->cainfo.data, r->cainfo.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
#endif
	if (r->tls.cert_path) {
		struct curl_blob c = { r->tls.cert.data, r->tls.cert.len, CURL_BLOB_NOCOPY };
		struct curl_blob k = { r->tls.key.data, r->tls.key.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &k);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return 0;
}

static void xfer_release(struct xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	free(x->content_type);
	free(x->challenge);
	buf_release(&x->errbody);
	x->h = NULL;
	x->content_type = x->challenge = NULL;
}

static CURLcode xfer_perform(struct xfer *x, const char *url, const char *authz,
			     const char *accept, int64_t range_from, int64_t range_end)
{
	struct curl_slist *hdrs = NULL, *t;
	char line[64];
	CURLcode c = CURLE_OUT_OF_MEMORY;
	xfer_reset_answer(x);
	x->abort = 0;
	error_clear(&x->sink_err);
	x->errbuf[0] = '\0';
	x->stalled = false;
	x->dl_seen = 0;
	x->last_byte_ns = now_ns();
	if (accept) {
		char *a = str_printf("Accept: %s", accept);
		t = a ? curl_slist_append(hdrs, a) : NULL;
		free(a);
		if (!t)
			goto out;
		hdrs = t;
	}
	if (range_end >= 0) {
		snprintf(line, sizeof(line), "Range: bytes=%lld-%lld", (long long)range_from,
			 (long long)range_end - 1);
		if (!(t = curl_slist_append(hdrs, line)))
			goto out;
		hdrs = t;
	} else if (range_from > 0) {
		snprintf(line, sizeof(line), "Range: bytes=%lld-", (long long)range_from);
		if (!(t = curl_slist_append(hdrs, line)))
			goto out;
		hdrs = t;
	}
	if (authz) {
		if (!(t = curl_slist_append(hdrs, authz)))
			goto out;
		hdrs = t;
	}
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
	atomic_fetch_add(&x->r->requests, 1);
	log_debug("registry: GET %s%s", url, authz ? " (authorized)" : "");
	c = curl_easy_perform(x->h);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, NULL);
out:
	curl_slist_free_all(hdrs);
	return c;
}

/* --- TLS: plain HTTP where Docker allows it; failed handshakes ---------- */

static enum scheme scheme_get(struct registry *r)
{
	pthread_mutex_lock(&r->lock);
	enum scheme s = r->scheme;
	pthread_mutex_unlock(&r->lock);
	return s;
}

/* Decided once per registry: a host seen to speak TLS is never spoken to
 * over plain HTTP afterwards. */
static void scheme_decide(struct registry *r, enum scheme s)
{
	pthread_mutex_lock(&r->lock);
	if (r->scheme == SCHEME_UNKNOWN) {
		r->scheme = s;
		if (s == SCHEME_HTTP)
			log_info("registry '%s' does not speak TLS: using plain HTTP", r->domain);
		else
			log_debug("registry '%s' speaks TLS", r->domain);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Whether a failed handshake means that the peer does not speak TLS at all:
 * OpenSSL's reasons when a ClientHello is answered by something that is no
 * TLS record, as a plain HTTP server's "HTTP/1.1 400 Bad Request". A
 * certificate problem or a closed connection is not that. */
static bool peer_not_tls(struct xfer *x, CURLcode c)
{
	static const char *const reasons[] = {
		"wrong version number", "packet length too long", "record layer failure",
		"unknown protocol", /* OpenSSL 1.1 */
	};
	if (c != CURLE_SSL_CONNECT_ERROR)
		return false;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strstr(x->errbuf, reasons[i]))
			return true;
	return false;
}

/* curl's reason for a TLS failure without the libraries' prefixes:
 * "certificate has expired", not "SSL certificate problem: certificate has
 * expired" or "OpenSSL/3.0.19: error:0A000086:SSL routines::...". */
static const char *tls_reason(struct xfer *x, CURLcode c)
{
	static const char *const prefixes[] = { "SSL certificate problem: ", "SSL: " };
	const char *why = curl_reason(x, c), *p = strstr(why, "::");
	if (p)
		why = p + 2;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(why, prefixes[i], strlen(prefixes[i])))
			why += strlen(prefixes[i]);
	char *errno_tail = strstr(x->errbuf, ", errno ");
	if (errno_tail)
		*errno_tail = '\0';
	return why;
}

static int on_trace(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	(void)h;
	/* With OpenSSL, curl traces each handshake message it receives:
	 * "TLSv1.3 (IN), TLS handshake, Request CERT (13):". */
	if (type == CURLINFO_TEXT && memmem(data, size, "Request CERT", 12))
		*(bool *)userp = true;
	return 0;
}

/* Whether the server at url asks for a TLS client certificate. The failed
 * transfer cannot say: under TLS 1.3 a server refuses a certificate, or its
 * absence, after the client's side of the handshake is done, and the client
 * sees the connection closed or reset. So one more handshake, traced, on
 * this error path only. */
static bool asks_client_cert(struct registry *r, const char *url)
{
	struct xfer x;
	bool asked = false;
	if (xfer_init(&x, r) == 0) {
		CURL *h = x.h;
		curl_easy_setopt(h, CURLOPT_SHARE, NULL);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_trace);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, &asked);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_perform(h);
	}
	xfer_release(&x);
	return asked;
}

/* A TLS failure of a request to url as one line naming who answered
 * ("registry 'HOST'"), the reason and where certificates were looked for.
 * Returns 0 when c is no TLS failure this can tell, for the caller's own
 * message; else the negative errno, with *retry false: trying again would
 * meet the same certificates. */
static int tls_failure(struct registry *r, struct xfer *x, CURLcode c, const char *url,
		       const char *who, bool *retry, struct strata_error *err)
{
	const char *dirs = r->tls.looked_in && *r->tls.looked_in ? r->tls.looked_in : NULL;
	if (strncasecmp(url, "https://", 8))
		return 0;
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
		*retry = false;
		return error_set(err, -EACCES,
				 "TLS certificate of %s is not trusted: %s (CA certificates looked for in %s%sregistry.ca_file)",
				 who, tls_reason(x, c), dirs ? dirs : "", dirs ? " and " : "");
	case CURLE_SSL_CACERT_BADFILE:
		*retry = false;
		return error_set(err, -EIO, "%s: cannot load the CA certificates: %s", who,
				 tls_reason(x, c));
	case CURLE_SSL_CERTPROBLEM:
		*retry = false;
		return error_set(err, -EACCES, "%s: cannot use the TLS client certificate '%s': %s", who,
				 r->tls.cert_path ? r->tls.cert_path : "?", tls_reason(x, c));
	case CURLE_SSL_CONNECT_ERROR:
		if (peer_not_tls(x, c)) {
			*retry = false;
			return error_set(err, -EPROTO,
					 "%s does not speak TLS: %s (plain HTTP is used only for registries on loopback or listed in registry.insecure)",
					 who, tls_reason(x, c));
		}
		/* fall through */
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING: {
		const char *why = tls_reason(x, c);
		/* A transfer cut after an answer began is no handshake matter. */
		if (x->status || !asks_client_cert(r, url))
			return 0;
		*retry = false;
		if (!r->tls.cert_path)
			return error_set(err, -EACCES,
					 "%s requires a TLS client certificate: none found (NAME.cert and NAME.key looked for in %s)",
					 who, dirs ? dirs : "no directory: registry.certs_dirs is empty");
		return error_set(err, -EACCES, "%s refused the TLS client certificate '%s': %s", who,
				 r->tls.cert_path,
				 strstr(why, "alert") ? why : "the connection was closed after the handshake");
	}
	default:
		return 0;
	}
}

/* " (CODE: message)" from a registry's JSON error body, or "". */
static void error_detail(const struct buf *body, char *out, size_t outlen)
{
	out[0] = '\0';
	json_t *root = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	if (code || msg)
		snprintf(out, outlen, " (%s%s%s)", code ? code : "", code && msg ? ": " : "",
			 msg ? msg : "");
	json_decref(root);
}

/* --- authentication ---------------------------------------------------- */

static int load_credentials(struct registry *r, struct strata_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	if (!r->creds_loaded) {
		char *u = NULL, *p = NULL;
		const struct strata_conf *c = r->conf;
		if (c->auth_host && c->auth_user && !strcmp(c->auth_host, r->domain)) {
			u = strdup(c->auth_user);
			p = strdup(c->auth_password ? c->auth_password : "");
			rc = u && p ? 0 : -ENOMEM;
		} else {
			rc = auth_lookup_credentials(c->credentials, r->domain, &u, &p, err);
		}
		if (rc == 0 || rc == -ENOENT) {
			r->user = u;
			r->password = p;
			r->creds_loaded = true;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static char *scope_of(const char *repo)
{
	return str_printf("repository:%s:pull", repo);
}

/* "Authorization: ..." to send to the registry for repo, or NULL. */
static char *auth_header(struct registry *r, const char *repo)
{
	char *out = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->basic && r->user) {
		char *up = str_printf("%s:%s", r->user, r->password);
		char *b = up ? base64(up) : NULL;
		if (b)
			out = str_printf("Authorization: Basic %s", b);
		if (up)
			explicit_bzero(up, strlen(up));
		free(up);
		free(b);
	} else {
		char *scope = scope_of(repo);
		uint64_t now = now_ns();
		for (struct token *t = r->tokens; scope && t; t = t->next)
			if (!strcmp(t->scope, scope) && t->expires_ns > now) {
				out = str_printf("Authorization: Bearer %s", t->value);
				break;
			}
		free(scope);
	}
	pthread_mutex_unlock(&r->lock);
	return out;
}

static void token_store(struct registry *r, char *scope, char *value, uint64_t expires_ns)
{
	pthread_mutex_lock(&r->lock);
	struct token **pp = &r->tokens;
	while (*pp && strcmp((*pp)->scope, scope))
		pp = &(*pp)->next;
	struct token *t = *pp;
	if (!t && (t = calloc(1, sizeof(*t)))) {
		t->scope = scope;
		scope = NULL;
		*pp = t;
	}
	if (t) {
		free(t->value);
		t->value = value;
		t->expires_ns = expires_ns;
		value = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	free(scope);
	free(value);
}

static int auth_failed(struct registry *r, const char *repo, const char *why,
		       struct strata_error *err)
{
	return error_set(err, -EACCES, "registry '%s': authentication failed for '%s'%s%s%s", r->domain,
			 repo, why ? " (" : "", why ? why : "", why ? ")" : "");
}

/* GETs a token for repo from the challenge's realm, anonymously or with
 * the credentials for this registry, and caches it. */
static int fetch_token(struct registry *r, const struct auth_challenge *ch, const char *repo,
		       bool *retry, struct strata_error *err)
{
	struct xfer x;
	struct buf body = BUF_INIT;
	char *scope = scope_of(repo), *url = NULL, *esc_scope = NULL, *esc_service = NULL;
	char *authz = NULL, *value = NULL, *realm_host = NULL;
	json_t *root = NULL;
	int rc = load_credentials(r, err);
	if (rc < 0)
		return rc;
	rc = xfer_init(&x, r);
	if (rc < 0 || !scope)
		goto nomem;
	x.body = &body;
	x.max = TOKEN_BODY_MAX;
	esc_scope = curl_easy_escape(x.h, scope, 0);
	esc_service = ch->service ? curl_easy_escape(x.h, ch->service, 0) : NULL;
	if (!esc_scope || (ch->service && !esc_service))
		goto nomem;
	url = str_printf("%s%c%s%s%sscope=%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?',
			 esc_service ? "service=" : "", esc_service ? esc_service : "",
			 esc_service ? "&" : "", esc_scope);
	realm_host = host_of(ch->realm);
	if (!url || !realm_host)
		goto nomem;
	pthread_mutex_lock(&r->lock);
	bool have_creds = r->user != NULL;
	char *up = have_creds ? str_printf("%s:%s", r->user, r->password) : NULL;
	pthread_mutex_unlock(&r->lock);
	if (up) {
		char *b = base64(up);
		explicit_bzero(up, strlen(up));
		free(up);
		authz = b ? str_printf("Authorization: Basic %s", b) : NULL;
		free(b);
		if (!authz)
			goto nomem;
	}

	CURLcode c = xfer_perform(&x, url, authz, "application/json", 0, -1);
	if (c != CURLE_OK) {
		char who[512];
		*retry = c != CURLE_PEER_FAILED_VERIFICATION && c != CURLE_WRITE_ERROR;
		snprintf(who, sizeof(who), "token server '%s' of registry '%s'", realm_host, r->domain);
		if ((rc = tls_failure(r, &x, c, url, who, retry, err)) < 0)
			goto out;
		rc = error_set(err, c == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EHOSTUNREACH,
			       "registry '%s': cannot reach token server '%s': %s", r->domain,
			       realm_host, curl_reason(&x, c));
		goto out;
	}
	if (x.status == 401 || x.status == 403) {
		rc = auth_failed(r, repo,
				 have_creds ? "credentials refused by the token server"
					    : "no credentials, anonymous access refused", err);
		goto out;
	}
	if (x.status == 429 || x.status >= 500) {
		*retry = true;
		rc = error_set(err, -EAGAIN, "registry '%s': token server '%s': HTTP %ld", r->domain,
			       realm_host, x.status);
		goto out;
	}
	if (x.status != 200) {
		rc = error_set(err, -EPROTO, "registry '%s': token server '%s': unexpected HTTP status %ld",
			       r->domain, realm_host, x.status);
		goto out;
	}
	root = json_loadb(body.data, body.len, 0, NULL);
	const char *tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok) {
		rc = error_set(err, -EPROTO, "registry '%s': token server '%s': no token in its answer",
			       r->domain, realm_host);
		goto out;
	}
	json_int_t expires = json_integer_value(json_object_get(root, "expires_in"));
	if (expires < 60) /* the distribution spec's default */
		expires = 60;
	uint64_t expires_ns = now_ns() + (uint64_t)expires * 1000000000ULL;
	value = strdup(tok);
	if (!value)
		goto nomem;
	token_store(r, scope, value, expires_ns > TOKEN_MARGIN_NS ? expires_ns - TOKEN_MARGIN_NS : 0);
	scope = value = NULL;
	rc = 0;
	goto out;
nomem:
	rc = error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
out:
	json_decref(root);
	if (authz)
		explicit_bzero(authz, strlen(authz));
	free(authz);
	free(value);
	free(realm_host);
	free(url);
	curl_free(esc_service);
	curl_free(esc_scope);
	free(scope);
	buf_release(&body);
	xfer_release(&x);
	return rc;
}

/* Answers a 401 from the registry. *fresh says a token was fetched during
 * this attempt already: refused again, it means the credentials are bad. */
static int answer_challenge(struct registry *r, struct xfer *x, const char *repo, bool sent_auth,
			    bool *fresh, bool *retry, struct strata_error *err)
{
	struct auth_challenge ch;
	if (!x->challenge || auth_parse_challenge(x->challenge, &ch) < 0)
		return error_set(err, -EPROTO,
				 "registry '%s': HTTP 401 for '%s' without a usable WWW-Authenticate challenge",
				 r->domain, repo);
	int rc = 0;
	if (!strcmp(ch.scheme, "bearer")) {
		if (*fresh) {
			rc = load_credentials(r, err);
			if (rc == 0)
				rc = auth_failed(r, repo, r->user ? "credentials refused"
								  : "no credentials", err);
		} else {
			rc = fetch_token(r, &ch, repo, retry, err);
			*fresh = rc == 0;
		}
	} else if (!strcmp(ch.scheme, "basic")) {
		rc = load_credentials(r, err);
		if (rc == 0 && !r->user)
			rc = auth_failed(r, repo, "no credentials", err);
		else if (rc == 0 && sent_auth)
			rc = auth_failed(r, repo, "credentials refused", err);
		if (rc == 0) {
			pthread_mutex_lock(&r->lock);
			r->basic = true;
			pthread_mutex_unlock(&r->lock);
		}
	} else {
		rc = error_set(err, -EPROTONOSUPPORT,
			       "registry '%s': unsupported authentication scheme '%s'", r->domain,
			       ch.scheme);
	}
	auth_challenge_release(&ch);
	return rc;
}

/* --- one attempt, then the retry loop ------------------------------------ */

static int transport_error(struct registry *r, struct xfer *x, CURLcode c, const char *url,
			   const char *what, bool on_registry, bool *retry, struct strata_error *err)
{
	if (c == CURLE_WRITE_ERROR && x->abort) {
		*retry = false;
		if (x->sink_err.msg[0])
			return error_set(err, x->abort, "%s", x->sink_err.msg);
		return error_errno(err, x->abort, "%s", what);
	}
	if (c == CURLE_ABORTED_BY_CALLBACK && x->stalled) {
		*retry = true;
		return error_set(err, -ETIMEDOUT, "registry '%s': %s: stalled, no data for %llu seconds",
				 r->domain, what, (unsigned long long)(x->stall_ns / 1000000000ULL));
	}
	char who[512], *host = on_registry ? NULL : host_of(url);
	if (on_registry)
		snprintf(who, sizeof(who), "registry '%s'", r->domain);
	else
		snprintf(who, sizeof(who), "'%s' (redirected from registry '%s')", host ? host : "?",
			 r->domain);
	free(host);
	int rc = tls_failure(r, x, c, url, who, retry, err);
	if (rc < 0)
		return rc;
	const char *why = curl_reason(x, c);
	int code;
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		code = -ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = -EHOSTUNREACH;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = -ETIMEDOUT;
		break;
	default:
		code = -EIO;
	}
	*retry = !(c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
		   c == CURLE_UNSUPPORTED_PROTOCOL || c == CURLE_URL_MALFORMAT ||
		   c == CURLE_OUT_OF_MEMORY || c == CURLE_WRITE_ERROR);
	if (code == -ECONNREFUSED || code == -EHOSTUNREACH)
		return error_set(err, code, "cannot reach %s: %s", who, why);
	return error_set(err, code, "registry '%s': %s: %s", r->domain, what, why);
}

static int status_error(struct registry *r, struct xfer *x, const struct target *t, bool *retry,
			struct strata_error *err)
{
	char detail[512];
	long s = x->status;
	error_detail(&x->errbody, detail, sizeof(detail));
	if (s == 404 && t->manifest)
		return error_set(err, -ENOENT, "manifest unknown: '%s%c%s' not found in %s", t->repo,
				 digest_valid(t->reference) ? '@' : ':', t->reference, r->domain);
	if (s == 404)
		return error_set(err, -ENOENT, "%s not found in %s/%s", t->what, r->domain, t->repo);
	if (s == 401 || s == 403)
		return error_set(err, -EACCES, "registry '%s': %s: access denied%s", r->domain,
				 t->what, detail);
	if (s == 416 && x->bs && x->bs->offset > 0)
		return error_set(err, -EBADMSG, "%s: shorter than its declared size (%lld of %lld bytes)",
				 t->what, (long long)x->bs->offset, (long long)x->bs->size);
	if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) {
		*retry = true;
		return error_set(err, s == 429 ? -EAGAIN : -EIO, "registry '%s': %s: HTTP %ld%s",
				 r->domain, t->what, s, detail);
	}
	return error_set(err, -EPROTO, "registry '%s': %s: unexpected HTTP status %ld%s", r->domain,
			 t->what, s, detail);
}

/* Whether a host that may be spoken to over plain HTTP (loopback,
 * registry.insecure) speaks TLS, from one handshake that carries no request
 * and verifies nothing: verification would load the system's CA
 * certificates first, tens of milliseconds per connection with Debian's
 * libcurl, to learn that a plain HTTP registry sends no certificate. The
 * requests verify their own connections; this one is not kept. Returns 0
 * with r->scheme decided, or, when the host cannot be reached, that error
 * as a request's. */
static int settle_scheme(struct registry *r, const char *what, bool *retry,
			 struct strata_error *err)
{
	struct xfer x;
	int rc = xfer_init(&x, r);
	if (rc < 0) {
		xfer_release(&x);
		return error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
	}
	CURL *h = x.h;
	curl_easy_setopt(h, CURLOPT_SHARE, NULL);
	curl_easy_setopt(h, CURLOPT_URL, r->https_base);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	CURLcode c = curl_easy_perform(h);
	/* So does a server that hangs up on a ClientHello without a byte (a plain
	 * HTTP server that drops what it cannot parse): SSL_ERROR_SYSCALL, where
	 * a TLS peer would have sent a record or an alert. Only here: as a
	 * request's reason it says too little to call a registry plain HTTP. */
	if (peer_not_tls(&x, c) ||
	    (c == CURLE_SSL_CONNECT_ERROR && strstr(x.errbuf, "SSL_ERROR_SYSCALL")))
		scheme_decide(r, SCHEME_HTTP);
	/* A TLS alert is a TLS peer refusing something; the request will say what. */
	else if (c == CURLE_OK || (c == CURLE_SSL_CONNECT_ERROR && strstr(x.errbuf, "alert")))
		scheme_decide(r, SCHEME_HTTPS);
	else
		rc = transport_error(r, &x, c, r->https_base, what, true, retry, err);
	xfer_release(&x);
	return rc;
}

/* The URL of path on the registry, over the scheme decided (HTTPS until
 * then). */
static char *registry_url(struct registry *r, enum scheme scheme, const char *path)
{
	return str_printf("%s%s", scheme == SCHEME_HTTP ? r->http_base : r->https_base, path);
}

static bool is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* One attempt: follows redirects and answers auth challenges. Returns 0 on
 * a good answer, else a negative errno with err set; *retry says whether
 * trying again may help. */
static int round_trip(struct registry *r, struct xfer *x, const struct target *t, bool *retry,
		      struct strata_error *err)
{
	enum scheme scheme = scheme_get(r);
	if (scheme == SCHEME_UNKNOWN && r->may_fall_back) {
		int rc = settle_scheme(r, t->what, retry, err);
		if (rc < 0)
			return rc;
		scheme = scheme_get(r);
	}
	char *url = registry_url(r, scheme, t->path);
	bool fresh = false;
	int auth_rounds = 0, redirects = 0, rc;
	int64_t from = x->bs ? x->bs->offset : 0;
	int64_t end = x->bs ? x->bs->end : -1;
	if (x->bs) {
		x->bs->skip = from;
		if (from > 0 && end < 0)
			atomic_fetch_add(&r->resumes, 1);
	}
	for (;;) {
		if (!url)
			return error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
		char *origin = origin_of(url);
		bool on_registry = origin && !strcmp(origin, scheme == SCHEME_HTTP ? r->http_origin
										 : r->https_origin);
		free(origin);
		char *authz = on_registry ? auth_header(r, t->repo) : NULL;
		CURLcode c = xfer_perform(x, url, authz, t->accept, from, end);
		bool sent_auth = authz != NULL;
		free(authz);
		if (c == CURLE_WRITE_ERROR && x->abort > 0)
			c = CURLE_OK; /* the range ended inside a whole answer */
		/* An error answer whose body is cut short (docker-registry's 416
		 * promises the whole blob) is still an answer. */
		if (c != CURLE_OK && !(x->status >= 300 && c != CURLE_WRITE_ERROR)) {
			rc = transport_error(r, x, c, url, t->what, on_registry, retry, err);
			break;
		}
		if (is_redirect(x->status)) {
			char *loc = NULL;
			curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &loc);
			if (!loc || (strncasecmp(loc, "http://", 7) && strncasecmp(loc, "https://", 8))) {
				rc = error_set(err, -EPROTO, "registry '%s': %s: bad redirect (HTTP %ld)",
					       r->domain, t->what, x->status);
				break;
			}
			if (++redirects > MAX_REDIRECTS) {
				rc = error_set(err, -ELOOP, "registry '%s': %s: too many redirects",
					       r->domain, t->what);
				break;
			}
			log_debug("registry: redirected to %s", loc);
			char *next = strdup(loc);
			free(url);
			url = next;
			continue;
		}
		if (x->status == 401 && on_registry) {
			if (++auth_rounds > MAX_AUTH_ROUNDS) {
				rc = auth_failed(r, t->repo, NULL, err);
				break;
			}
			rc = answer_challenge(r, x, t->repo, sent_auth, &fresh, retry, err);
			if (rc < 0)
				break;
			free(url);
			url = registry_url(r, scheme, t->path);
			redirects = 0;
			continue;
		}
		if (x->status == 200 || (x->bs && x->status == 206))
			rc = 0;
		else
			rc = status_error(r, x, t, retry, err);
		break;
	}
	free(url);
	return rc;
}

static int request(struct registry *r, struct xfer *x, const struct target *t,
		   struct strata_error *err)
{
	int attempts = 0, max = r->conf && r->conf->retries > 0 && !x->once ? r->conf->retries : 1;
	long delay = BACKOFF_START_MS;
	for (;;) {
		struct strata_error e = STRATA_ERROR_INIT;
		bool retry = false;
		int64_t before = x->bs ? x->bs->offset : 0;
		x->what = t->what;
		if (x->body)
			buf_reset(x->body);
		int rc = round_trip(r, x, t, &retry, &e);
		if (rc == 0 && x->bs && x->bs->end >= 0 && x->bs->offset < x->bs->end) {
			retry = true;
			rc = error_set(&e, -EIO, "registry '%s': %s: connection closed after %lld of %lld bytes of a range",
				       r->domain, t->what, (long long)(x->bs->offset - x->range_from),
				       (long long)(x->bs->end - x->range_from));
		} else if (rc == 0 && x->bs && x->bs->size >= 0 && x->bs->offset < x->bs->size) {
			retry = true;
			rc = error_set(&e, -EIO, "registry '%s': %s: connection closed after %lld of %lld bytes",
				       r->domain, t->what, (long long)x->bs->offset,
				       (long long)x->bs->size);
		}
		if (rc == 0)
			return 0;
		bool progress = x->bs && x->bs->offset > before;
		if (progress)
			attempts = 0;
		if (!retry || ++attempts >= max) {
			if (retry && max > 1)
				error_set(err, rc, "%s (after %d attempts)", e.msg, attempts);
			else
				error_set(err, rc, "%s", e.msg);
			return rc;
		}
		long wait = progress ? 0 : delay;
		if (x->retry_after >= 0 && !progress)
			wait = (x->retry_after > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : x->retry_after) * 1000;
		log_debug("registry: %s; %s in %ld ms", e.msg, progress ? "resuming" : "retrying", wait);
		if (wait)
			sleep_ms(wait);
		if (!progress)
			delay = delay * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : delay * 2;
		atomic_fetch_add(&r->retries, 1);
	}
}

/* --- the interface ------------------------------------------------------ */

/* Reads the registry's certificates (tlsconf.h), once per registry. Custom
 * CAs are trusted besides the system's, as Docker and podman trust them:
 * curl's CA blob replaces its default CA file (it would still read the
 * default CA directory), so the blob carries that file's certificates too. */
static int tls_setup(struct registry *r, struct strata_error *err)
{
	const struct strata_conf *c = r->conf;
	int rc = tlsconf_load(&r->tls, r->domain, c ? c->certs_dirs : NULL, c ? c->ca_file : NULL,
			      err);
	if (rc < 0 || (!r->tls.cas.len && !r->tls.cert_path))
		return rc;
	CURL *h = curl_easy_init();
	if (!h)
		return error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
	/* This libcurl must take certificates from memory. */
	struct curl_blob none = { "", 0, CURL_BLOB_NOCOPY };
	CURLcode cc = CURLE_OK;
	if (r->tls.cas.len) {
#if LIBCURL_VERSION_NUM >= 0x074d00
		cc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &none);
#else
		cc = CURLE_NOT_BUILT_IN;
#endif
	}
	if (cc == CURLE_OK && r->tls.cert_path)
		cc = curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &none);
	if (cc != CURLE_OK) {
		curl_easy_cleanup(h);
		return error_set(err, -ENOTSUP,
				 "registry '%s': this libcurl (%s) cannot use the certificates of %s: %s",
				 r->domain, curl_version_info(CURLVERSION_NOW)->ssl_version,
				 r->tls.cas.len ? "certs.d or registry.ca_file" : r->tls.cert_path,
				 curl_easy_strerror(cc));
	}
	const char *bundle = NULL;
#if LIBCURL_VERSION_NUM >= 0x075400
	if (r->tls.cas.len)
		curl_easy_getinfo(h, CURLINFO_CAINFO, &bundle);
#endif
	rc = 0;
	if (r->tls.cas.len) {
		char *sys = NULL;
		size_t len = 0;
		if (bundle && read_file(bundle, CA_BUNDLE_MAX, &sys, &len) < 0)
			log_debug("registry '%s': cannot read the system CA bundle '%s'", r->domain, bundle);
		if (buf_add(&r->cainfo, r->tls.cas.data, r->tls.cas.len) < 0 ||
		    (sys && (buf_addch(&r->cainfo, '\n') < 0 || buf_add(&r->cainfo, sys, len) < 0)))
			rc = error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
		free(sys);
	}
	curl_easy_cleanup(h);
	if (rc == 0)
		log_debug("registry '%s': %d CA certificate file(s)%s%s", r->domain, r->tls.ca_files,
			  r->tls.cert_path ? ", client certificate " : "",
			  r->tls.cert_path ? r->tls.cert_path : "");
	return rc;
}

int registry_open(const char *domain, const struct strata_conf *conf, struct registry **out,
		  struct strata_error *err)
{
	*out = NULL;
	pthread_once(&curl_once, curl_global);
	if (curl_init_result != CURLE_OK)
		return error_set(err, -EIO, "cannot initialise libcurl: %s",
				 curl_easy_strerror(curl_init_result));
	struct registry *r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, -ENOMEM, "registry '%s': out of memory", domain);
	pthread_mutex_init(&r->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&r->share_locks[i], NULL);
	buf_init(&r->cainfo, 0);
	r->conf = conf;
	r->domain = strdup(domain);
	const char *host = strcmp(domain, "docker.io") ? domain : "registry-1.docker.io";
	r->insecure = conf && conf_is_insecure(conf, domain);
	r->may_fall_back = r->insecure || ref_host_is_loopback(domain);
	r->https_base = str_printf("https://%s", host);
	r->http_base = str_printf("http://%s", host);
	if (!r->domain || !r->https_base || !r->http_base) {
		registry_free(r);
		return error_set(err, -ENOMEM, "registry '%s': out of memory", domain);
	}
	r->https_origin = origin_of(r->https_base);
	r->http_origin = origin_of(r->http_base);
	if (!r->https_origin || !r->http_origin) {
		registry_free(r);
		return error_set(err, -EINVAL, "invalid registry host '%s'", domain);
	}
	int rc = tls_setup(r, err);
	if (rc < 0) {
		registry_free(r);
		return rc;
	}
	r->share = curl_share_init();
	if (!r->share) {
		registry_free(r);
		return error_set(err, -ENOMEM, "registry '%s': out of memory", domain);
	}
	curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
	curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = r;
	return 0;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	/* The share's connections go before the certificates they were made with. */
	if (r->share)
		curl_share_cleanup(r->share);
	tlsconf_release(&r->tls);
	buf_release(&r->cainfo);
	while (r->tokens) {
		struct token *t = r->tokens;
		r->tokens = t->next;
		free(t->scope);
		free(t->value);
		free(t);
	}
	if (r->password)
		explicit_bzero(r->password, strlen(r->password));
	free(r->user);
	free(r->password);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&r->share_locks[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->https_origin);
	free(r->http_origin);
	free(r->https_base);
	free(r->http_base);
	free(r->domain);
	free(r);
}

/* GETs t whole into body (at most max bytes). */
static int fetch_whole(struct registry *r, struct target *t, size_t max, struct buf *body,
		       bool blob, char **content_type, struct strata_error *err)
{
	struct xfer x;
	int rc = xfer_init(&x, r);
	if (rc < 0 || !t->path || !t->what) {
		rc = error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
		goto out;
	}
	x.body = body;
	x.max = max;
	x.count_bytes = blob;
	rc = request(r, &x, t, err);
	if (rc == 0 && content_type && x.content_type)
		*content_type = strdup(x.content_type);
out:
	xfer_release(&x);
	free(t->path);
	free(t->what);
	return rc;
}

int registry_get_manifest(struct registry *r, const char *repo, const char *reference,
			  size_t max, struct buf *body, char **content_type,
			  struct strata_error *err)
{
	if (content_type)
		*content_type = NULL;
	bool pinned = digest_valid(reference);
	struct target t = {
		.repo = repo,
		.path = str_printf("/v2/%s/manifests/%s", repo, reference),
		.accept = MANIFEST_ACCEPT,
		.what = str_printf("manifest '%s%c%s'", repo, pinned ? '@' : ':', reference),
		.manifest = true,
		.reference = reference,
	};
	return fetch_whole(r, &t, max, body, false, content_type, err);
}

int registry_get_blob(struct registry *r, const char *repo, const char *digest, size_t max,
		      struct buf *body, struct strata_error *err)
{
	struct target t = {
		.repo = repo,
		.path = str_printf("/v2/%s/blobs/%s", repo, digest),
		.what = str_printf("blob '%s'", digest),
		.reference = digest,
	};
	return fetch_whole(r, &t, max, body, true, NULL, err);
}

int registry_stream_blob(struct registry *r, const char *repo, const char *digest, int64_t size,
			 int (*write)(void *ctx, const void *data, size_t len), void *ctx,
			 struct strata_error *err)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	if (digest_parse(digest, want) < 0)
		return error_set(err, -EINVAL, "blob '%s': invalid digest", digest);
	struct blobstream bs = {
		.digest = digest, .size = size, .end = -1, .sha = sha256_new(), .write = write,
		.ctx = ctx,
	};
	struct target t = {
		.repo = repo,
		.path = str_printf("/v2/%s/blobs/%s", repo, digest),
		.what = str_printf("blob '%s'", digest),
		.reference = digest,
	};
	struct xfer x;
	int rc = xfer_init(&x, r);
	if (rc < 0 || !bs.sha || !t.path || !t.what) {
		rc = error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
		goto out;
	}
	x.bs = &bs;
	rc = request(r, &x, &t, err);
	if (rc < 0)
		goto out;
	sha256_final(bs.sha, got);
	if (memcmp(got, want, SHA256_LEN)) {
		char hex[DIGEST_STR_MAX];
		digest_format(got, hex);
		rc = error_set(err, -EBADMSG, "blob '%s': digest mismatch (got %s)", digest, hex);
	}
out:
	xfer_release(&x);
	sha256_free(bs.sha);
	free(t.path);
	free(t.what);
	return rc;
}

static int range_write(void *ctx, const void *data, size_t len)
{
	return buf_add(ctx, data, len) < 0 ? -ENOMEM : 0;
}

int registry_get_range(struct registry *r, const char *repo, const char *digest, uint64_t off,
		       uint64_t len, struct buf *out, struct strata_error *err)
{
	struct blobstream bs = {
		.digest = digest, .size = -1, .offset = (int64_t)off, .end = (int64_t)(off + len),
		.sha = sha256_new(), .write = range_write, .ctx = out,
	};
	struct target t = {
		.repo = repo,
		.path = str_printf("/v2/%s/blobs/%s", repo, digest),
		.what = str_printf("blob '%s' bytes %llu-%llu", digest, (unsigned long long)off,
				   (unsigned long long)(off + len - 1)),
		.reference = digest,
	};
	struct xfer x;
	int rc;

	buf_reset(out);
	if (len == 0 || off + len > INT64_MAX)
		return error_set(err, -EINVAL, "blob '%s': invalid range", digest);
	rc = xfer_init(&x, r);
	if (rc < 0 || !bs.sha || !t.path || !t.what || buf_grow(out, len) < 0) {
		rc = error_set(err, -ENOMEM, "registry '%s': out of memory", r->domain);
		goto out;
	}
	x.bs = &bs;
	x.once = true;
	x.range_from = (int64_t)off;
	rc = request(r, &x, &t, err);
out:
	xfer_release(&x);
	sha256_free(bs.sha);
	free(t.path);
	free(t.what);
	return rc;
}

void registry_get_stats(struct registry *r, struct registry_stats *out)
{
	out->requests = atomic_load(&r->requests);
	out->bytes = atomic_load(&r->bytes);
	out->resumes = atomic_load(&r->resumes);
	out->retries = atomic_load(&r->retries);
}
