/* Unit tests for auth: WWW-Authenticate parsing and config.json credentials. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/registry/auth.h"
#include "tap.h"
#include "src/base/util.h"

static void challenge_ok(const char *h, const char *scheme, const char *realm, const char *service,
			 const char *scope)
{
	struct auth_challenge c;
	int r = auth_parse_challenge(h, &c);
	is_int(r, 0, "parse [%s]", h);
	if (r < 0)
		return;
	is_str(c.scheme, scheme, "  scheme");
	is_str(c.realm, realm, "  realm");
	is_str(c.service, service, "  service");
	is_str(c.scope, scope, "  scope");
	auth_challenge_release(&c);
}

static void challenge_bad(const char *h)
{
	struct auth_challenge c;
	int r = auth_parse_challenge(h, &c);
	is_int(r, -EINVAL, "reject [%s]", h ? h : "(null)");
	ok(!c.scheme && !c.realm && !c.service && !c.scope, "  nothing left allocated");
	if (r == 0)
		auth_challenge_release(&c);
}

static void test_challenges(void)
{
	challenge_ok("Bearer realm=\"https://x/token\",service=\"reg\",scope=\"repository:a/b:pull\"",
		     "bearer", "https://x/token", "reg", "repository:a/b:pull");
	challenge_ok("Basic realm=\"x\"", "basic", "x", NULL, NULL);
	challenge_ok("basic", "basic", NULL, NULL, NULL);
	challenge_ok("  BEARER   scope = \"repository:a:pull,push\" ,  realm=\"http://h:1/t\"  ,service=svc",
		     "bearer", "http://h:1/t", "svc", "repository:a:pull,push");
	challenge_ok("Bearer realm=tok,unknown=\"1,2\",Service=\"s\"", "bearer", "tok", "s", NULL);
	challenge_ok("Bearer realm=\"a\\\"b\\\\c\"", "bearer", "a\"b\\c", NULL, NULL);
	challenge_bad("Bearer realm=\"\",realm=\"x\"");
	challenge_ok("Bearer realm=\"r\", Basic realm=\"y\"", "bearer", "r", NULL, NULL);
	challenge_ok("Basic realm=\"y\", Bearer realm=\"r\"", "basic", "y", NULL, NULL);
	challenge_ok("Basic realm=\"x\",,, ", "basic", "x", NULL, NULL);

	challenge_bad(NULL);
	challenge_bad("");
	challenge_bad("   ");
	challenge_bad("Bearer");
	challenge_bad("Bearer service=\"reg\"");
	challenge_bad("Bearer realm=\"unterminated");
	challenge_bad("Bearer realm=\"x\\");
	challenge_bad("Bearer realm=");
	challenge_bad("Bearer realm=\"x\" junk=");
	challenge_bad("\"quoted\" realm=x");
	challenge_bad("=,,=");
	challenge_bad("Bearer realm=\"x\" \"y\"");
	challenge_bad("Bea(rer realm=x");
	challenge_bad("Basic realm=@");
}

static char dir[] = "/tmp/test-auth.XXXXXX";

static char *write_conf(const char *name, const char *json)
{
	char *p = path_join(dir, name);
	FILE *f = fopen(p, "w");
	fputs(json, f);
	fclose(f);
	return p;
}

static void creds(const char *path, const char *host, int want_r, const char *want_user,
		  const char *want_pw)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char *u = (char *)"x", *pw = (char *)"x";
	int r = auth_lookup_credentials(path, host, &u, &pw, &err);
	is_int(r, want_r, "credentials for '%s' (%s)", host, err.msg[0] ? err.msg : "no message");
	is_str(u, want_user, "  user");
	is_str(pw, want_pw, "  password");
	if (want_r == -EBADMSG)
		ok(err.msg[0] != '\0' && strstr(err.msg, path), "  message names the file: %s", err.msg);
	free(u);
	free(pw);
}

static void test_credentials(void)
{
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	/* "alice:s3cr:et" and "bob:pw" */
	char *good = write_conf("good.json",
		"{\"auths\": {"
		" \"https://index.docker.io/v1/\": {\"auth\": \"YWxpY2U6czNjcjpldA==\"},"
		" \"127.0.0.1:5000\": {\"auth\": \"Ym9iOnB3\"},"
		" \"http://reg.example:8080/v2/\": {\"username\": \"carol\", \"password\": \"p\"},"
		" \"https://nopad.example\": {\"auth\": \"Ym9iOnB3\"},"
		" \"tokenonly.example\": {\"identitytoken\": \"abc\"},"
		" \"broken.example\": {\"auth\": \"!!!\"},"
		" \"nocolon.example\": {\"auth\": \"Ym9i\"}"
		"}, \"credsStore\": \"desktop\"}");
	creds(good, "docker.io", 0, "alice", "s3cr:et");
	creds(good, "127.0.0.1:5000", 0, "bob", "pw");
	creds(good, "reg.example:8080", 0, "carol", "p");
	creds(good, "REG.example:8080", 0, "carol", "p");
	creds(good, "nopad.example", 0, "bob", "pw");
	creds(good, "127.0.0.1", -ENOENT, NULL, NULL);
	creds(good, "reg.example", -ENOENT, NULL, NULL);
	creds(good, "tokenonly.example", -ENOENT, NULL, NULL);
	creds(good, "broken.example", -EBADMSG, NULL, NULL);
	creds(good, "nocolon.example", -EBADMSG, NULL, NULL);

	char *noauths = write_conf("noauths.json", "{\"credsStore\": \"x\"}");
	creds(noauths, "docker.io", -ENOENT, NULL, NULL);
	char *notjson = write_conf("notjson.json", "{\"auths\": {");
	creds(notjson, "docker.io", -EBADMSG, NULL, NULL);
	char *badauths = write_conf("badauths.json", "{\"auths\": [1]}");
	creds(badauths, "docker.io", -EBADMSG, NULL, NULL);
	char *missing = path_join(dir, "missing.json");
	creds(missing, "docker.io", -ENOENT, NULL, NULL);

	/* path NULL: $DOCKER_CONFIG/config.json, then $HOME/.docker/config.json */
	char *home = path_join(dir, "home");
	char *dotdocker = path_join(home, ".docker");
	mkdir_p(dotdocker, 0700);
	char *homeconf = path_join(dotdocker, "config.json");
	FILE *f = fopen(homeconf, "w");
	fputs("{\"auths\": {\"h.example\": {\"auth\": \"Ym9iOnB3\"}}}", f);
	fclose(f);
	setenv("HOME", home, 1);
	setenv("DOCKER_CONFIG", dir, 1); /* dir has no config.json */
	creds(NULL, "h.example", 0, "bob", "pw");
	char *dc = write_conf("config.json", "{\"auths\": {\"h.example\": {\"username\": \"dc\", \"password\": \"1\"}}}");
	creds(NULL, "h.example", 0, "dc", "1");
	unsetenv("DOCKER_CONFIG");
	creds(NULL, "h.example", 0, "bob", "pw");
	creds(NULL, "other.example", -ENOENT, NULL, NULL);

	free(dc);
	free(homeconf);
	free(dotdocker);
	free(home);
	free(missing);
	free(badauths);
	free(notjson);
	free(noauths);
	free(good);
	rm_rf(dir);
}

int main(void)
{
	test_challenges();
	test_credentials();
	return tap_done();
}
