/* test-conf: the configuration file parser, value checks, error lines and
 * precedence (default < file < environment < flag). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/conf.h"
#include "src/base/log.h"
#include "tap.h"

static char dir[] = "/tmp/test-conf.XXXXXX";
static char path[256];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

/* Loads text as the file named by --config; returns conf_load_from's result
 * and leaves the message in msg. */
static int load(struct strata_conf *c, const char *text, char *msg, size_t len)
{
	struct strata_error err = STRATA_ERROR_INIT;
	write_conf(text);
	int r = conf_load_from(c, path, &err);
	snprintf(msg, len, "%s", err.msg);
	return r;
}

static const char *origin_of(const struct strata_conf *c, const char *key, char *buf, size_t len)
{
	struct conf_item it;
	buf[0] = '\0';
	for (size_t i = 0; conf_item(c, i, &it) == 0; i++) {
		if (!strcmp(it.key, key))
			snprintf(buf, len, "%s=%s", it.origin, it.text ? it.text : "(unset)");
		conf_item_release(&it);
	}
	return buf;
}

static void test_defaults(void)
{
	struct strata_conf c;
	char msg[1100];
	is_int(load(&c, "", msg, sizeof(msg)), 0, "an empty file loads");
	is_int(c.compression_level, 1, "compression_level default");
	is_int(c.jobs, 3, "jobs default");
	is_int(c.retries, 5, "retries default");
	is_int(c.stall_timeout, 30, "stall_timeout default");
	ok(c.cache_max_size == 0, "cache.max_size defaults to unbounded");
	is_int(c.cache_low_watermark, 90, "low_watermark default");
	ok(c.limits.max_manifest == 4 << 20, "max_manifest_size default");
	ok(c.limits.max_xattr == 64 << 10, "max_xattr default");
	is_int(c.log_level, LOG_LVL_WARN, "log.level default");
	is_int(c.log_syslog, 0, "log.destination default");
	is_int(c.socket_mode, 0600, "socket_mode default");
	is_int(c.allow_other, 0, "allow_other default");
	ok(c.mirrors && !c.mirrors[0], "no mirrors by default");
	ok(c.insecure && !c.insecure[0], "no insecure registries by default");
	is_int(c.config_explicit, 2, "a path given is --config's");
	ok(c.config_path && c.config_path[0] == '/', "config_path is absolute");
	char buf[256];
	is_str(origin_of(&c, "pull.jobs", buf, sizeof(buf)), "default=3", "origin of a default");
	is_str(origin_of(&c, "cache.max_size", buf, sizeof(buf)), "default=none", "unbounded shows as none");
	conf_release(&c);
}

static void test_good_file(void)
{
	struct strata_conf c;
	char msg[1100], buf[256];
	int r = load(&c,
		     "# a comment\n"
		     "; another\n"
		     "\n"
		     "[store]\n"
		     "path = \"/srv/strata store\"  # quoted, blanks kept\n"
		     "[cache]\n"
		     "  max_size = 4GiB\n"
		     "low_watermark=75 ; trailing comment\n"
		     "[chunks]\n"
		     "compression_level = 9\n"
		     "[pull]\n"
		     "platform = linux/arm64/v8\n"
		     "jobs = 8\n"
		     "[registry]\n"
		     "mirrors = docker.io=https://mirror.example, quay.io=q.example:5000\n"
		     "insecure = 'lab:5000, other'\n"
		     "credentials = /etc/strata/auth.json\n"
		     "retries = 2\n"
		     "[limits]\n"
		     "max_entries = 10\n"
		     "max_path = 100\n"
		     "max_name = 50\n"
		     "max_depth = 20\n"
		     "max_layer_size = 1.5T\n"
		     "max_manifest_size = 512K\n"
		     "max_xattr = 1M\n"
		     "[log]\n"
		     "level = debug\n"
		     "destination = syslog\n"
		     "[daemon]\n"
		     "socket_mode = 0660\n"
		     "allow_other = yes\n",
		     msg, sizeof(msg));
	is_int(r, 0, "a file with every key loads");
	if (r < 0) {
		printf("#   %s\n", msg);
		return;
	}
	is_str(c.store, "/srv/strata store", "quoted store path");
	ok(c.cache_max_size == 4ULL << 30, "max_size 4GiB");
	is_int(c.cache_low_watermark, 75, "low_watermark with a ; comment");
	is_int(c.compression_level, 9, "compression_level");
	is_str(c.platform, "linux/arm64/v8", "platform");
	is_int(c.jobs, 8, "jobs");
	is_str(c.mirrors[0], "docker.io=https://mirror.example", "first mirror");
	is_str(c.mirrors[1], "quay.io=q.example:5000", "second mirror");
	ok(!c.mirrors[2], "two mirrors");
	is_str(conf_mirror(&c, "docker.io"), "https://mirror.example", "conf_mirror finds docker.io");
	ok(conf_mirror(&c, "docker") == NULL, "conf_mirror needs the whole host");
	ok(conf_is_insecure(&c, "lab:5000") && conf_is_insecure(&c, "other"), "insecure list");
	is_str(c.credentials, "/etc/strata/auth.json", "credentials");
	is_int(c.retries, 2, "retries");
	ok(c.limits.max_entries == 10 && c.limits.max_path == 100 && c.limits.max_name == 50 &&
	   c.limits.max_depth == 20, "count limits");
	ok(c.limits.max_layer_size == 1536ULL << 30, "max_layer_size 1.5T");
	ok(c.limits.max_manifest == 512 << 10, "max_manifest_size 512K");
	ok(c.limits.max_xattr == 1 << 20, "max_xattr 1M");
	is_int(c.log_level, LOG_LVL_DEBUG, "log level");
	is_int(c.log_syslog, 1, "log destination");
	is_int(c.socket_mode, 0660, "socket mode");
	is_int(c.allow_other, 1, "allow_other");
	is_str(origin_of(&c, "store.path", buf, sizeof(buf)), "file:5=/srv/strata store", "store origin has its line");
	is_str(origin_of(&c, "cache.max_size", buf, sizeof(buf)), "file:7=4G", "size shown in its unit");
	is_str(origin_of(&c, "daemon.socket_mode", buf, sizeof(buf)), "file:31=0660", "mode shown in octal");
	is_str(origin_of(&c, "registry.insecure", buf, sizeof(buf)), "file:16=lab:5000, other", "list shown joined");
	conf_release(&c);

	is_int(load(&c, "[cache]\nmax_size = none\n", msg, sizeof(msg)), 0, "max_size none");
	ok(c.cache_max_size == 0, "none is unbounded");
	conf_release(&c);
	is_int(load(&c, "[cache]\nmax_size = 0\n[pull]\nplatform =\n", msg, sizeof(msg)), 0, "max_size 0, empty platform");
	ok(c.cache_max_size == 0 && c.platform == NULL, "0 is unbounded, empty platform is the host's");
	conf_release(&c);
	is_int(load(&c, "[limits]\nmax_entries = 5\nmax_entries = 6\n", msg, sizeof(msg)), 0, "a repeated key");
	ok(c.limits.max_entries == 6, "the last one wins");
	conf_release(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[cache]\nmaxsize = 3\n", ":2: unknown key 'maxsize' in [cache]" },
		{ "\n\n[cachey]\n", ":3: unknown section '[cachey]'" },
		{ "[cache\n", ":1: invalid section header '[cache'" },
		{ "[cache] junk\n", ":1: invalid section header" },
		{ "max_size = 3\n", ":1: key 'max_size' before any [section]" },
		{ "[cache]\njust words\n", ":2: expected 'key = value' or '[section]'" },
		{ "[cache]\n\n\n\n\n\nmax_size = lots\n", ":7: invalid size 'lots' for cache.max_size" },
		{ "[cache]\nmax_size = -1G\n", ":2: invalid size '-1G' for cache.max_size" },
		{ "[cache]\nmax_size = 3Q\n", ":2: invalid size '3Q' for cache.max_size" },
		{ "[cache]\nlow_watermark = 5\n", ":2: number '5' for cache.low_watermark is outside 10..100" },
		{ "[chunks]\ncompression_level = 3x\n", ":2: invalid number '3x' for chunks.compression_level" },
		{ "[pull]\njobs = -2\n", ":2: invalid number '-2' for pull.jobs" },
		{ "[pull]\nplatform = linux\n", ":2: invalid platform 'linux' for pull.platform" },
		{ "[registry]\nmirrors = docker.io\n", ":2: invalid mirror 'docker.io' for registry.mirrors" },
		{ "[registry]\nretries = 0\n", ":2: number '0' for registry.retries is outside 1..100" },
		{ "[registry]\nstall_timeout = 0\n", ":2: number '0' for registry.stall_timeout is outside 1..3600" },
		{ "[limits]\nmax_entries = 0\n", ":2: number '0' for limits.max_entries is below 1" },
		{ "[limits]\nmax_layer_size = none\n", ":2: invalid size 'none' for limits.max_layer_size" },
		{ "[log]\nlevel = loud\n", ":2: invalid log level 'loud' for log.level" },
		{ "[log]\ndestination = file\n", ":2: invalid log destination 'file' for log.destination" },
		{ "[daemon]\nsocket_mode = 0888\n", ":2: invalid mode '0888' for daemon.socket_mode" },
		{ "[daemon]\nsocket_mode = 01777\n", ":2: invalid mode '01777' for daemon.socket_mode" },
		{ "[daemon]\nallow_other = maybe\n", ":2: invalid boolean 'maybe' for daemon.allow_other" },
		{ "[store]\npath = \"/x\n", ":2: unterminated quoted value for store.path" },
		{ "[store]\npath = \"/x\" y\n", ":2: text after the quoted value for store.path" },
		{ "[store]\npath =\n", ":2: empty value for store.path" },
		{ "[cache]\nmax_size = 0.5\n", ":2: invalid size '0.5' for cache.max_size" },
		{ "[cache]\nmax_size = 0x10\n", ":2: invalid size '0x10' for cache.max_size" },
		{ "[pull]\njobs = 0x10\n", ":2: invalid number '0x10' for pull.jobs" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strata_conf c;
		char msg[1100], want[600];
		int r = load(&c, cases[i].text, msg, sizeof(msg));
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		ok(r == -EINVAL && !strncmp(msg, want, strlen(want)) && !strchr(msg, '\n'), "error: %s",
		   cases[i].want);
		if (r != -EINVAL || strncmp(msg, want, strlen(want)))
			printf("#   got %d '%s'\n#   want '%s'\n", r, msg, want);
		ok(c.store == NULL && c.origins == NULL, "nothing left allocated after '%s'", cases[i].want);
	}
}

static void test_precedence(void)
{
	struct strata_conf c;
	struct strata_error err = STRATA_ERROR_INIT;
	char msg[1100], buf[256];

	setenv("STRATA_CACHE_MAX_SIZE", "2G", 1);
	setenv("STRATA_STORE", "/env/store", 1);
	int r = load(&c, "[store]\npath = /file/store\n[cache]\nmax_size = 3G\nlow_watermark = 50\n", msg,
		     sizeof(msg));
	is_int(r, 0, "file with environment overrides loads");
	ok(c.cache_max_size == 2ULL << 30, "environment beats file");
	is_int(c.cache_low_watermark, 50, "file beats default");
	is_str(origin_of(&c, "cache.max_size", buf, sizeof(buf)), "env STRATA_CACHE_MAX_SIZE=2G", "env origin");
	is_str(origin_of(&c, "cache.low_watermark", buf, sizeof(buf)), "file:5=50", "file origin");
	is_str(c.store, "/env/store", "STRATA_STORE beats [store] path");
	is_int(conf_set(&c, "store.path", "/flag/store", "flag --store", &err), 0, "conf_set");
	is_str(c.store, "/flag/store", "flag beats environment");
	is_str(origin_of(&c, "store.path", buf, sizeof(buf)), "flag --store=/flag/store", "flag origin");
	r = conf_set(&c, "pull.jobs", "0", "flag --jobs", &err);
	is_int(r, -EINVAL, "conf_set checks the value");
	is_str(err.msg, "flag --jobs: number '0' for pull.jobs is outside 1..64", "conf_set error");
	error_clear(&err);
	is_int(conf_set(&c, "pull.nope", "1", "flag", &err), -ENOENT, "conf_set of an unknown key");
	conf_release(&c);

	setenv("STRATA_CACHE_MAX_SIZE", "lots", 1);
	r = load(&c, "", msg, sizeof(msg));
	is_int(r, -EINVAL, "a bad environment value fails");
	ok(!strncmp(msg, "environment variable STRATA_CACHE_MAX_SIZE: invalid size 'lots' for cache.max_size",
		    strlen("environment variable STRATA_CACHE_MAX_SIZE: invalid size 'lots' for cache.max_size")),
	   "the environment error names the variable (%s)", msg);
	/* Numbers that only looked like sizes: each refused, none unbounded. */
	static const char *const bad[] = { "0.5", "0x10", "17e18", "1e3", "inf", " 12", "12 ", "+5", "1..2", ".5G" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("STRATA_CACHE_MAX_SIZE", bad[i], 1);
		r = load(&c, "", msg, sizeof(msg));
		ok(r == -EINVAL && strstr(msg, "invalid size") && !strchr(msg, '\n'),
		   "STRATA_CACHE_MAX_SIZE=%s is refused (%s)", bad[i], msg);
	}
	setenv("STRATA_CACHE_MAX_SIZE", "16777216T", 1);
	r = load(&c, "", msg, sizeof(msg));
	ok(r == -EINVAL && strstr(msg, "too large"), "a size past 2^64 bytes is too large (%s)", msg);
	unsetenv("STRATA_CACHE_MAX_SIZE");
	unsetenv("STRATA_STORE");

	/* The environment names the file; --config wins over it. */
	setenv("STRATA_CONFIG", path, 1);
	write_conf("[pull]\njobs = 7\n");
	error_clear(&err);
	is_int(conf_load(&c, &err), 0, "STRATA_CONFIG names the file");
	is_int(c.jobs, 7, "its settings apply");
	is_int(c.config_explicit, 1, "named by the environment");
	conf_release(&c);
	setenv("STRATA_CONFIG", "/nonexistent/strata.conf", 1);
	r = conf_load(&c, &err);
	is_int(r, -ENOENT, "a missing STRATA_CONFIG file is an error");
	ok(strstr(err.msg, "cannot read configuration file '/nonexistent/strata.conf'") != NULL, "saying which: %s",
	   err.msg);
	error_clear(&err);
	is_int(conf_load_from(&c, path, &err), 0, "--config wins over STRATA_CONFIG");
	conf_release(&c);
	unsetenv("STRATA_CONFIG");
	r = conf_load_from(&c, "/nonexistent/other.conf", &err);
	is_int(r, -ENOENT, "a missing --config file is an error");
	error_clear(&err);
}

static void test_sizes(void)
{
	uint64_t n = 0;
	ok(conf_parse_size("512M", &n) == 0 && n == 512ULL << 20, "512M");
	ok(conf_parse_size("4GiB", &n) == 0 && n == 4ULL << 30, "4GiB");
	ok(conf_parse_size("1.5T", &n) == 0 && n == 1536ULL << 30, "1.5T");
	ok(conf_parse_size("123", &n) == 0 && n == 123, "123");
	ok(conf_parse_size("lots", &n) == -EINVAL, "lots");
	ok(conf_parse_duration("12h", &n) == 0 && n == 12 * 3600, "12h");
	ok(conf_parse_duration("7x", &n) == -EINVAL, "7x");
	ok(conf_parse_size("0.5", &n) == -EINVAL, "0.5 (no byte is half)");
	ok(conf_parse_size("0.5K", &n) == 0 && n == 512, "0.5K");
	ok(conf_parse_size("0x10", &n) == -EINVAL, "0x10 (no hex)");
	ok(conf_parse_size("17e18", &n) == -EINVAL, "17e18 (no exponent)");
	ok(conf_parse_size("18446744073709551615", &n) == 0 && n == UINT64_MAX, "2^64 - 1 bytes");
	ok(conf_parse_size("18446744073709551616", &n) == -EINVAL, "2^64 bytes");
	ok(conf_parse_size("16777216T", &n) == -ERANGE, "16777216T is too large");
	ok(conf_parse_size("0.0000001K", &n) == -EINVAL, "less than a byte");
	ok(conf_parse_size("0", &n) == 0 && n == 0, "0");
	ok(conf_parse_duration("1e3", &n) == -EINVAL, "1e3s (no exponent)");
	ok(conf_parse_duration("1.5h", &n) == 0 && n == 5400, "1.5h");
}

/* The file itself: a NUL byte in it, or a FIFO or a device for a file. */
static void test_file_kinds(void)
{
	struct strata_conf c;
	struct strata_error err = STRATA_ERROR_INIT;
	FILE *f = fopen(path, "w");
	if (!f)
		exit(99);
	fwrite("[cache]\nmax_size = 1G\0\n[pull]\njobs = 99\n", 1, 41, f);
	fclose(f);
	int r = conf_load_from(&c, path, &err);
	ok(r == -EINVAL && strstr(err.msg, "a NUL byte at offset 21"), "a NUL byte is an error (%s)", err.msg);
	char fifo[300];
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", dir);
	if (mkfifo(fifo, 0600) == 0) {
		error_clear(&err);
		r = conf_load_from(&c, fifo, &err);
		ok(r == -EINVAL && strstr(err.msg, "is not a regular file"), "a FIFO is refused, at once (%s)", err.msg);
		unlink(fifo);
	}
	error_clear(&err);
	r = conf_load_from(&c, "/dev/zero", &err);
	ok(r == -EINVAL && strstr(err.msg, "is not a regular file"), "so is a device (%s)", err.msg);
	unlink(path);
}

/* [memo]: the shared tier's address, durations, and a password never shown. */
static void test_memo(void)
{
	struct strata_conf c;
	struct conf_redis_url u;
	char msg[1100], o[1200];
	uint64_t ms;

	is_int(load(&c, "", msg, sizeof(msg)), 0, "defaults load");
	ok(c.memo_redis == NULL, "memo.redis is unset by default");
	is_str(c.memo_redis_prefix, "strata:", "memo.redis_prefix default");
	is_str(origin_of(&c, "memo.redis_ttl", o, sizeof(o)), "default=30d", "memo.redis_ttl default, shown as 30d");
	is_str(origin_of(&c, "memo.redis_timeout", o, sizeof(o)), "default=500ms", "memo.redis_timeout default");
	conf_release(&c);

	is_int(load(&c, "[memo]\nredis = redis://scan:s3cr%40t@redis.fleet:6380/2\nredis_ttl = 12h\n"
		       "redis_timeout = 1.5s\nredis_connect_timeout = 40ms\nredis_hmac_key_file = /etc/strata/hmac\n",
		       msg, sizeof(msg)), 0, "a [memo] section loads (%s)", msg);
	is_int(c.memo_redis_ttl_ms, 12 * 3600000ull, "redis_ttl 12h");
	is_int(c.memo_redis_timeout_ms, 1500, "redis_timeout 1.5s");
	is_int(c.memo_redis_connect_timeout_ms, 40, "redis_connect_timeout 40ms");
	is_str(origin_of(&c, "memo.redis", o, sizeof(o)), "file:2=redis://scan:*****@redis.fleet:6380/2",
	       "config show does not show the password");
	is_str(origin_of(&c, "memo.redis_timeout", o, sizeof(o)), "file:4=1500ms", "1.5s is shown as 1500ms");
	conf_release(&c);

	is_int(conf_parse_redis_url("redis://scan:s3cr%40t@redis.fleet:6380/2", &u), 0, "a full address parses");
	is_str(u.user, "scan", "user");
	is_str(u.password, "s3cr@t", "password, percent-decoded");
	is_str(u.host, "redis.fleet", "host");
	ok(u.port == 6380 && u.db == 2, "port and database");
	conf_redis_url_release(&u);
	is_int(conf_parse_redis_url("redis://[::1]", &u), 0, "an IPv6 host in brackets, no port");
	ok(!strcmp(u.host, "::1") && u.port == 6379 && u.db == 0 && !u.user && !u.password, "defaults: 6379, db 0");
	conf_redis_url_release(&u);
	is_int(conf_parse_redis_url("redis://:pw@h", &u), 0, "a password without a user");
	ok(!u.user && !strcmp(u.password, "pw"), "is a password alone");
	conf_redis_url_release(&u);
	static const char *const bad[] = {
		"http://h:6379", "redis://", "redis://h:0", "redis://h:65536", "redis://h:12x", "redis://h/x",
		"redis://h?db=1", "redis://u:p%zz@h", "redis://u:p%00@h", "redis://[::1", "redis://h:6379:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(conf_parse_redis_url(bad[i], &u) == -EINVAL, "'%s' is refused", bad[i]);
		conf_redis_url_release(&u);
	}
	char *red = conf_redis_url_redacted("redis://u:p@ss@h:1");
	is_str(red, "redis://u:*****@h:1", "redaction takes the last '@' of the authority");
	free(red);

	is_int(load(&c, "[memo]\nredis = redis://u:hunter2@h:99999\n", msg, sizeof(msg)), -EINVAL,
	       "a bad address is an error");
	ok(strstr(msg, "invalid address") && !strstr(msg, "hunter2"), "which does not show the password (%s)", msg);
	is_int(load(&c, "[memo]\nredis_ttl = 3 days\n", msg, sizeof(msg)), -EINVAL, "a bad duration is an error");
	ok(strstr(msg, "invalid duration '3 days' for memo.redis_ttl") != NULL, "naming it (%s)", msg);
	is_int(load(&c, "[memo]\nredis_timeout = 0\n", msg, sizeof(msg)), -EINVAL, "a zero timeout is refused");
	is_int(load(&c, "[memo]\nredis_prefix = a b\n", msg, sizeof(msg)), -EINVAL, "a prefix with a blank is refused");
	is_int(load(&c, "[memo]\nredis_hmac_key_file = key\n", msg, sizeof(msg)), -EINVAL,
	       "a relative key file is refused");
	ok(conf_parse_duration_ms("250ms", &ms) == 0 && ms == 250, "250ms");
	ok(conf_parse_duration_ms("2", &ms) == 0 && ms == 2000, "a bare number is seconds");
	ok(conf_parse_duration_ms("30d", &ms) == 0 && ms == 30 * 86400000ull, "30d");
	ok(conf_parse_duration_ms("5us", &ms) == -EINVAL, "5us is refused");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof(path), "%s/strata.conf", dir);
	/* Only what each test sets may be in the environment. */
	extern char **environ;
	for (size_t i = 0; environ[i];) {
		char name[128];
		size_t len = strcspn(environ[i], "=");
		if (strncmp(environ[i], "STRATA_", 7) || len >= sizeof(name)) {
			i++;
			continue;
		}
		memcpy(name, environ[i], len);
		name[len] = '\0';
		unsetenv(name);
	}
	test_defaults();
	test_good_file();
	test_errors();
	test_precedence();
	test_sizes();
	test_file_kinds();
	test_memo();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
