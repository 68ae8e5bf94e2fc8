/* test-ref: Docker's reference grammar and normalisation (cases after
 * distribution/reference's own tests), transports, loopback detection. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "src/registry/ref.h"
#include "tap.h"
#include "src/base/util.h"

#define H64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define D64 "sha256:" H64

struct valid_case {
	const char *in, *name, *domain, *path, *tag, *digest;
};

static const struct valid_case valid[] = {
	{ "alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL },
	{ "alpine:3.19", "docker.io/library/alpine:3.19", "docker.io", "library/alpine", "3.19", NULL },
	{ "docker.io/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL },
	{ "docker.io/library/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL },
	{ "index.docker.io/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL },
	{ "index.docker.io/foo/bar", "docker.io/foo/bar:latest", "docker.io", "foo/bar", "latest", NULL },
	{ "foo/bar", "docker.io/foo/bar:latest", "docker.io", "foo/bar", "latest", NULL },
	{ "test_com", "docker.io/library/test_com:latest", "docker.io", "library/test_com", "latest", NULL },
	{ "test.com:tag", "docker.io/library/test.com:tag", "docker.io", "library/test.com", "tag", NULL },
	{ "test.com:5000", "docker.io/library/test.com:5000", "docker.io", "library/test.com", "5000", NULL },
	{ "test.com/repo:tag", "test.com/repo:tag", "test.com", "repo", "tag", NULL },
	{ "test:5000/repo", "test:5000/repo:latest", "test:5000", "repo", "latest", NULL },
	{ "test:5000/repo:tag", "test:5000/repo:tag", "test:5000", "repo", "tag", NULL },
	{ "test:5000/repo@" D64, "test:5000/repo@" D64, "test:5000", "repo", NULL, D64 },
	{ "test:5000/repo:tag@" D64, "test:5000/repo:tag@" D64, "test:5000", "repo", "tag", D64 },
	{ "alpine@" D64, "docker.io/library/alpine@" D64, "docker.io", "library/alpine", NULL, D64 },
	{ "lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL },
	{ "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux:latest", "sub-dom1.foo.com", "bar/baz/quux", "latest", NULL },
	{ "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL },
	{ "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", NULL },
	{ "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL },
	{ "foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", NULL },
	{ "foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", NULL },
	{ "192.168.1.1", "docker.io/library/192.168.1.1:latest", "docker.io", "library/192.168.1.1", "latest", NULL },
	{ "192.168.1.1:tag", "docker.io/library/192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", NULL },
	{ "192.168.1.1/repo", "192.168.1.1/repo:latest", "192.168.1.1", "repo", "latest", NULL },
	{ "192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL },
	{ "a.b.c/d", "a.b.c/d:latest", "a.b.c", "d", "latest", NULL },
	{ "localhost/repo", "localhost/repo:latest", "localhost", "repo", "latest", NULL },
	{ "localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000", "a/b", "t", NULL },
	{ "localhost:5000", "docker.io/library/localhost:5000", "docker.io", "library/localhost", "5000", NULL },
	{ "127.0.0.1:5000/strata/base", "127.0.0.1:5000/strata/base:latest", "127.0.0.1:5000", "strata/base", "latest", NULL },
	{ "[2001:db8::1]/repo", "[2001:db8::1]/repo:latest", "[2001:db8::1]", "repo", "latest", NULL },
	{ "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL },
	{ "[::1]:5000/a", "[::1]:5000/a:latest", "[::1]:5000", "a", "latest", NULL },
	{ "a__b/c--d/e.f/g_h", "docker.io/a__b/c--d/e.f/g_h:latest", "docker.io", "a__b/c--d/e.f/g_h", "latest", NULL },
	{ "a---b", "docker.io/library/a---b:latest", "docker.io", "library/a---b", "latest", NULL },
	{ "docker://alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL },
	{ "docker://127.0.0.1:5000/x:y", "127.0.0.1:5000/x:y", "127.0.0.1:5000", "x", "y", NULL },
	/* A registry host named like a transport keeps docker:// in its name. */
	{ "docker://oci:30/alog", "docker://oci:30/alog:latest", "oci:30", "alog", "latest", NULL },
	{ "docker:latest", "docker.io/library/docker:latest", "docker.io", "library/docker", "latest", NULL },
	{ "foo:_tag", "docker.io/library/foo:_tag", "docker.io", "library/foo", "_tag", NULL },
};

struct invalid_case {
	const char *in, *why;
};

static const struct invalid_case invalid[] = {
	{ "", "empty reference" },
	{ "docker://", "empty reference" },
	{ ":justtag", "missing repository name" },
	{ "@" D64, "missing repository name" },
	{ "repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid sha256 digest" },
	{ "repo@sha256:" "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "invalid sha256 digest" },
	{ "validname@invaliddigest:" H64, "unsupported digest algorithm" },
	{ "repo@sha512:" H64 H64, "unsupported digest algorithm" },
	{ "repo@" H64, "invalid digest format" },
	{ "Uppercase:tag", "repository name must be lowercase" },
	{ "test:5000/Uppercase/lowercase:tag", "repository name must be lowercase" },
	{ "docker.io/Library/alpine", "repository name must be lowercase" },
	{ "aa/asdf$$^/aa", "invalid repository name" },
	{ "aa/a..b", "invalid repository name" },
	{ "aa/a._b", "invalid repository name" },
	{ "aa/a___b", "invalid repository name" },
	{ "aa/a-_b", "invalid repository name" },
	{ "-a", "invalid repository name" },
	{ "a-", "invalid repository name" },
	{ "_a", "invalid repository name" },
	{ "foo/", "empty component" },
	{ "foo//bar", "empty component" },
	{ "/foo", "empty component" },
	{ "foo:bar:baz", "invalid repository name" },
	{ "foo:-tag", "invalid tag format" },
	{ "foo:.tag", "invalid tag format" },
	{ "foo:", "invalid tag format" },
	{ "foo@", "invalid digest format" },
	{ "[fe80::1%eth0]:5000/repo", "invalid registry host" },
	{ "[2001:db8::1]", "invalid tag format" },
	{ "-foo.com/bar", "invalid registry host" },
	{ "foo.com:port/bar", "invalid registry host" },
	{ "foo.com:/bar", "invalid registry host" },
	{ H64, "cannot specify 64-byte hexadecimal strings" },
	{ "oci:", "missing layout directory" },
	{ "docker-archive:", "missing archive file" },
};

static void check_valid(const struct valid_case *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct image_ref r;
	int rc = ref_parse(c->in, &r, &err);
	if (!ok(rc == 0, "valid '%s'", c->in)) {
		printf("#   %s\n", err.msg);
		return;
	}
	is_int(r.transport, REF_DOCKER, "'%s' transport", c->in);
	is_str(r.name, c->name, "'%s' name", c->in);
	is_str(r.domain, c->domain, "'%s' domain", c->in);
	is_str(r.path, c->path, "'%s' path", c->in);
	is_str(r.tag, c->tag, "'%s' tag", c->in);
	is_str(r.digest, c->digest, "'%s' digest", c->in);
	ref_release(&r);
}

static void check_invalid(const struct invalid_case *c)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct image_ref r;
	int rc = ref_parse(c->in, &r, &err);
	is_int(rc, -EINVAL, "invalid '%s'", c->in);
	if (!ok(strstr(err.msg, c->why) != NULL, "'%s' says '%s'", c->in, c->why))
		printf("#   got '%s'\n", err.msg);
	ok(!strncmp(err.msg, "invalid reference", 17), "'%s' message starts with the subject", c->in);
	ok(r.name == NULL && r.domain == NULL, "'%s' leaves the ref empty", c->in);
}

static void test_length(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct image_ref r;
	char name[600], tagged[700];

	/* "a.io/" + "a/"*124 + "a" = 5 + 248 + 1 = 254 chars: fine. */
	strcpy(name, "a.io/");
	for (int i = 0; i < 124; i++)
		strcat(name, "a/");
	strcat(name, "a");
	snprintf(tagged, sizeof(tagged), "%s:tag-does-not-count", name);
	ok(ref_parse(tagged, &r, &err) == 0, "name of %zu characters is accepted", strlen(name));
	ref_release(&r);
	/* two more characters: 256 */
	strcat(name, "/a");
	error_clear(&err);
	is_int(ref_parse(name, &r, &err), -EINVAL, "name of %zu characters is refused", strlen(name));
	ok(strstr(err.msg, "must not be more than 255 characters") != NULL, "length message: %s", err.msg);

	/* normalisation counts: docker.io/library/ + 238 = 256 */
	memset(name, 'a', 238);
	name[238] = '\0';
	error_clear(&err);
	is_int(ref_parse(name, &r, &err), -EINVAL, "normalised name over 255 is refused");

	char tag[200];
	memset(tag, 'x', 128);
	tag[128] = '\0';
	snprintf(tagged, sizeof(tagged), "foo:%s", tag);
	error_clear(&err);
	ok(ref_parse(tagged, &r, &err) == 0, "tag of 128 characters is accepted");
	ref_release(&r);
	snprintf(tagged, sizeof(tagged), "foo:%sx", tag);
	error_clear(&err);
	is_int(ref_parse(tagged, &r, &err), -EINVAL, "tag of 129 characters is refused");
}

static void test_transports(void)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct image_ref r;
	char cwd[PATH_MAX], *want;

	ok(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");

	ok(ref_parse("oci:/nonexistent-strata/layout:base", &r, &err) == 0, "oci with tag");
	is_int(r.transport, REF_OCI, "oci transport");
	is_str(r.file, "/nonexistent-strata/layout", "oci dir");
	is_str(r.tag, "base", "oci tag");
	is_str(r.digest, NULL, "oci digest");
	is_str(r.domain, NULL, "oci has no domain");
	is_str(r.name, "oci:/nonexistent-strata/layout:base", "oci name");
	is_str(ref_reference(&r), "base", "oci reference is the tag");
	want = ref_repository(&r);
	is_str(want, "oci:/nonexistent-strata/layout", "oci repository");
	free(want);
	ref_release(&r);

	ok(ref_parse("oci:/nonexistent-strata/layout", &r, &err) == 0, "oci without tag");
	is_str(r.tag, NULL, "oci without tag has no tag");
	is_str(ref_reference(&r), NULL, "oci reference is NULL");
	is_str(r.name, "oci:/nonexistent-strata/layout", "oci name without tag");
	ref_release(&r);

	ok(ref_parse("oci:/nonexistent-strata/a:b/c", &r, &err) == 0, "oci dir with ':'");
	is_str(r.file, "/nonexistent-strata/a:b/c", "':' followed by a path is part of the dir");
	is_str(r.tag, NULL, "no tag then");
	ref_release(&r);

	ok(ref_parse("oci:/nonexistent-strata/a:b:v1.0", &r, &err) == 0, "oci dir with two ':'");
	is_str(r.file, "/nonexistent-strata/a:b", "only the last ':' splits");
	is_str(r.tag, "v1.0", "tag after the last ':'");
	ref_release(&r);

	ok(ref_parse("oci::tag", &r, &err) == 0, "oci ':tag'");
	want = path_join(cwd, ":tag");
	is_str(r.file, want, "an empty dir does not split");
	is_str(r.tag, NULL, "so there is no tag");
	free(want);
	ref_release(&r);

	ok(ref_parse("oci:relative-layout-strata:t", &r, &err) == 0, "relative oci dir");
	want = path_join(cwd, "relative-layout-strata");
	is_str(r.file, want, "relative dir made absolute");
	free(want);
	ref_release(&r);

	ok(ref_parse("oci:/nonexistent-strata/l@" D64, &r, &err) == 0, "oci with digest");
	is_str(r.file, "/nonexistent-strata/l", "oci digest dir");
	is_str(r.digest, D64, "oci digest");
	is_str(ref_reference(&r), D64, "oci reference is the digest");
	ref_release(&r);

	ok(ref_parse("oci:/", &r, &err) == 0, "oci root dir");
	is_str(r.file, "/", "root stays root");
	ref_release(&r);

	ok(ref_parse("docker-archive:/nonexistent-strata/a.tar", &r, &err) == 0, "docker-archive");
	is_int(r.transport, REF_DOCKER_ARCHIVE, "docker-archive transport");
	is_str(r.file, "/nonexistent-strata/a.tar", "archive file");
	is_str(r.name, "docker-archive:/nonexistent-strata/a.tar", "archive name");
	is_str(r.tag, NULL, "archive tag");
	ref_release(&r);

	ok(ref_parse("docker-archive:rel-strata.tar", &r, &err) == 0, "relative docker-archive");
	want = path_join(cwd, "rel-strata.tar");
	is_str(r.file, want, "archive made absolute");
	free(want);
	ref_release(&r);

	ok(ref_parse("localhost:5000/a/b:t@" D64, &r, &err) == 0, "registry tag+digest");
	is_str(ref_reference(&r), D64, "digest wins over tag");
	want = ref_repository(&r);
	is_str(want, "localhost:5000/a/b", "repository has no tag");
	free(want);
	ref_release(&r);

	ref_release(NULL);
	ok(1, "ref_release(NULL) is fine");
}

static void test_loopback(void)
{
	static const char *yes[] = { "localhost", "localhost:5000", "LOCALHOST", "127.0.0.1",
				     "127.0.0.1:5000", "127.1.2.3:80", "127.255.255.254", "::1",
				     "[::1]", "[::1]:5000", "0:0:0:0:0:0:0:1", "[0:0:0:0:0:0:0:1]:443" };
	static const char *no[] = { "", "example.com", "localhost.example.com", "128.0.0.1",
				    "10.0.0.1:5000", "[::2]:5000", "::2", "127.0.0.1.nip.io",
				    "1270.0.0.1", "[::1", "[::1]x", "docker.io", "0.0.0.0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		is_int(ref_host_is_loopback(yes[i]), 1, "'%s' is loopback", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		is_int(ref_host_is_loopback(no[i]), 0, "'%s' is not loopback", no[i]);
	is_int(ref_host_is_loopback(NULL), 0, "NULL is not loopback");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		check_valid(&valid[i]);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		check_invalid(&invalid[i]);
	test_length();
	test_transports();
	test_loopback();
	return tap_done();
}
