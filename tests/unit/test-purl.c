/* test-purl: package URLs for every package type, the purl spec's
 * percent-encoding (':' kept, '+' and '~' as the spec says), epochs, npm
 * scopes, PyPI name normalisation, a missing distro and hostile names. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/purl.h"
#include "tap.h"

static json_t *debian, *alpine, *rhel, *no_version_distro;

/* purl_build of the package given as JSON text with the distro d. */
static char *purl_of(const char *pkg_json, const json_t *d)
{
	json_error_t e;
	json_t *pkg = json_loads(pkg_json, 0, &e);
	if (!pkg) {
		printf("# bad test JSON: %s\n", e.text);
		exit(99);
	}
	char *p = purl_build(pkg, d);
	json_decref(pkg);
	return p;
}

static void check(const char *pkg_json, const json_t *d, const char *want, const char *what)
{
	char *got = purl_of(pkg_json, d);
	is_str(got, want, "%s", what);
	free(got);
}

static void test_os_packages(void)
{
	check("{\"type\":\"deb\",\"name\":\"libc6\",\"version\":\"2.36-9+deb12u4\",\"architecture\":\"amd64\"}",
	      debian, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
	      "deb: '+' in the version is %2B");
	check("{\"type\":\"deb\",\"name\":\"attr\",\"version\":\"1:2.4.47-2+b1\",\"architecture\":\"amd64\"}",
	      debian, "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64&distro=debian-12",
	      "deb: an epoch's ':' stays unencoded (purl-spec deb test vector)");
	check("{\"type\":\"deb\",\"name\":\"tzdata\",\"version\":\"2024a-0+deb12u1~rc1\",\"architecture\":\"all\"}",
	      debian, "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1~rc1?arch=all&distro=debian-12",
	      "deb: '~' is unreserved and stays");
	check("{\"type\":\"deb\",\"name\":\"LibFoo\",\"version\":\"1.0\"}",
	      debian, "pkg:deb/debian/libfoo@1.0?distro=debian-12",
	      "deb: name lowercased, no arch qualifier when unknown");
	check("{\"type\":\"deb\",\"name\":\"libc6\",\"version\":\"2.36-9\",\"architecture\":\"amd64\"}",
	      NULL, "pkg:deb/libc6@2.36-9?arch=amd64", "deb without a distro: no namespace, no distro");
	check("{\"type\":\"deb\",\"name\":\"libc6\",\"version\":\"2.36-9\",\"architecture\":\"amd64\"}",
	      json_null(), "pkg:deb/libc6@2.36-9?arch=amd64", "deb with distro null");
	check("{\"type\":\"deb\",\"name\":\"bash\",\"version\":\"5.2\",\"architecture\":\"arm64\"}",
	      no_version_distro, "pkg:deb/debian/bash@5.2?arch=arm64&distro=debian",
	      "deb: distro without version_id gives distro=<id>");
	check("{\"type\":\"deb\",\"name\":\"bash\",\"version\":\"\",\"architecture\":\"\"}",
	      debian, "pkg:deb/debian/bash?distro=debian-12", "deb: empty version and arch left out");
	/* The source package as upstream, as syft writes it (Grype matches
	 * Debian's, Alpine's and Red Hat's data by it). */
	check("{\"type\":\"deb\",\"name\":\"libc6\",\"version\":\"2.36-9\",\"architecture\":\"amd64\",\"source\":\"glibc\"}",
	      debian, "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&upstream=glibc", "deb: Source as upstream");
	check("{\"type\":\"deb\",\"name\":\"bsdutils\",\"version\":\"1:2.38.1-5+b1\",\"architecture\":\"amd64\","
	      "\"source\":\"util-linux\",\"source_version\":\"2.38.1-5\"}",
	      debian, "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5",
	      "deb: a source version joins it with '@', encoded");
	check("{\"type\":\"apk\",\"name\":\"musl-utils\",\"version\":\"1.2.4-r2\",\"architecture\":\"x86_64\",\"origin\":\"musl\"}",
	      alpine, "pkg:apk/alpine/musl-utils@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1&upstream=musl", "apk: origin as upstream");
	check("{\"type\":\"rpm\",\"name\":\"bash\",\"version\":\"5.1.8-6.el9\",\"rpm_version\":\"5.1.8\",\"release\":\"6.el9\","
	      "\"arch\":\"x86_64\",\"sourcerpm\":\"bash-5.1.8-6.el9.src.rpm\"}",
	      rhel, "pkg:rpm/rhel/bash@5.1.8-6.el9?arch=x86_64&distro=rhel-9.3&upstream=bash-5.1.8-6.el9.src.rpm",
	      "rpm: the source rpm as upstream");

	check("{\"type\":\"rpm\",\"name\":\"openssl-libs\",\"version\":\"1:3.0.7-27.el9\",\"epoch\":1,"
	      "\"rpm_version\":\"3.0.7\",\"release\":\"27.el9\",\"arch\":\"x86_64\"}",
	      rhel, "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.3&epoch=1",
	      "rpm: epoch as a qualifier, qualifiers sorted by key");
	check("{\"type\":\"rpm\",\"name\":\"bash\",\"version\":\"5.1.8-6.el9\",\"rpm_version\":\"5.1.8\","
	      "\"release\":\"6.el9\",\"arch\":\"x86_64\"}",
	      rhel, "pkg:rpm/rhel/bash@5.1.8-6.el9?arch=x86_64&distro=rhel-9.3", "rpm without epoch");
	check("{\"type\":\"rpm\",\"name\":\"gpg-pubkey\",\"version\":\"2:1.0-1\",\"arch\":\"noarch\"}",
	      rhel, "pkg:rpm/rhel/gpg-pubkey@1.0-1?arch=noarch&distro=rhel-9.3&epoch=2",
	      "rpm: epoch and version taken from \"version\" when the parts are missing");
	check("{\"type\":\"rpm\",\"name\":\"NetworkManager\",\"version\":\"1.44.0-3.el9\",\"epoch\":0,"
	      "\"rpm_version\":\"1.44.0\",\"release\":\"3.el9\",\"arch\":\"x86_64\"}",
	      rhel, "pkg:rpm/rhel/NetworkManager@1.44.0-3.el9?arch=x86_64&distro=rhel-9.3&epoch=0",
	      "rpm: names keep their case, epoch 0 when the header has it");
	check("{\"type\":\"rpm\",\"name\":\"libstdc++\",\"version\":\"11.4.1-2.1.el9\",\"rpm_version\":\"11.4.1\","
	      "\"release\":\"2.1.el9\",\"arch\":\"x86_64\"}",
	      NULL, "pkg:rpm/libstdc%2B%2B@11.4.1-2.1.el9?arch=x86_64", "rpm: '+' in a name, no distro");

	check("{\"type\":\"apk\",\"name\":\"musl\",\"version\":\"1.2.4-r2\",\"architecture\":\"x86_64\"}",
	      alpine, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1", "apk");
	check("{\"type\":\"apk\",\"name\":\"musl\",\"version\":\"1.2.4-r2\",\"architecture\":\"x86_64\"}",
	      NULL, "pkg:apk/musl@1.2.4-r2?arch=x86_64", "apk without a distro");
}

static void test_language_packages(void)
{
	check("{\"type\":\"npm\",\"name\":\"lodash\",\"version\":\"4.17.21\"}", NULL,
	      "pkg:npm/lodash@4.17.21", "npm");
	check("{\"type\":\"npm\",\"name\":\"@babel/core\",\"version\":\"7.23.0\"}", debian,
	      "pkg:npm/%40babel/core@7.23.0", "npm: scope in the namespace, '@' as %40, distro ignored");
	check("{\"type\":\"npm\",\"name\":\"@Types/Node\",\"version\":\"20.1.0-beta+exp.sha.5114f85\"}", NULL,
	      "pkg:npm/%40types/node@20.1.0-beta%2Bexp.sha.5114f85", "npm: lowercased, semver build '+'");
	check("{\"type\":\"npm\",\"name\":\"@/x\",\"version\":\"1\"}", NULL,
	      "pkg:npm/%40%2Fx@1", "npm: an empty scope is not split");
	check("{\"type\":\"npm\",\"name\":\"a/b\",\"version\":\"1\"}", NULL,
	      "pkg:npm/a%2Fb@1", "npm: '/' without a scope is encoded in the name");

	check("{\"type\":\"python\",\"name\":\"Django\",\"version\":\"4.2.7\"}", NULL,
	      "pkg:pypi/django@4.2.7", "pypi: lowercased");
	check("{\"type\":\"python\",\"name\":\"zope.interface\",\"version\":\"6.1\"}", NULL,
	      "pkg:pypi/zope-interface@6.1", "pypi: '.' becomes '-'");
	check("{\"type\":\"python\",\"name\":\"Foo__Bar-._baz\",\"version\":\"1.0.post1\"}", NULL,
	      "pkg:pypi/foo-bar-baz@1.0.post1", "pypi: runs of [-_.] become one '-'");
	check("{\"type\":\"python\",\"name\":\"torch\",\"version\":\"2.1.0+cpu\"}", NULL,
	      "pkg:pypi/torch@2.1.0%2Bcpu", "pypi: local version '+'");

	check("{\"type\":\"gem\",\"name\":\"rails\",\"version\":\"7.1.2\"}", NULL, "pkg:gem/rails@7.1.2", "gem");
	check("{\"type\":\"nuget\",\"name\":\"Newtonsoft.Json\",\"version\":\"13.0.3\"}", NULL,
	      "pkg:nuget/Newtonsoft.Json@13.0.3", "nuget keeps its case");
	check("{\"type\":\"maven\",\"group\":\"org.apache.logging.log4j\",\"name\":\"log4j-core\","
	      "\"version\":\"2.14.1\"}", NULL,
	      "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "maven: group as namespace");
	check("{\"type\":\"maven\",\"name\":\"app\",\"version\":\"1.0-SNAPSHOT\"}", NULL,
	      "pkg:maven/app@1.0-SNAPSHOT", "maven without a group");
	check("{\"type\":\"maven\",\"group\":\"com.google.guava\",\"name\":\"listenablefuture\","
	      "\"version\":\"9999.0-empty-to-avoid-conflict-with-guava\"}", NULL,
	      "pkg:maven/com.google.guava/listenablefuture@9999.0-empty-to-avoid-conflict-with-guava",
	      "maven: long version");
}

static void test_edges(void)
{
	check("{\"type\":\"deb\",\"name\":\"\",\"version\":\"1\"}", debian, NULL, "empty name: NULL");
	check("{\"type\":\"deb\",\"version\":\"1\"}", debian, NULL, "no name: NULL");
	check("{\"type\":\"cargo\",\"name\":\"serde\",\"version\":\"1\"}", NULL, NULL, "unknown type: NULL");
	check("{\"name\":\"x\"}", NULL, NULL, "no type: NULL");
	check("{\"type\":\"gem\",\"name\":\"x\",\"version\":1}", NULL, "pkg:gem/x", "non-string version left out");
	check("{\"type\":\"gem\",\"name\":\"a b?c#d@e&f=g%h\",\"version\":\"1 0\"}", NULL,
	      "pkg:gem/a%20b%3Fc%23d%40e%26f%3Dg%25h@1%200",
	      "separators and '%' in components are encoded, space as %20");
	check("{\"type\":\"gem\",\"name\":\"caf\\u00e9\",\"version\":\"1\"}", NULL,
	      "pkg:gem/caf%C3%A9@1", "UTF-8 bytes are percent-encoded");
	check("{\"type\":\"gem\",\"name\":\"\\u001b[31mred\",\"version\":\"1\"}", NULL,
	      "pkg:gem/%1B%5B31mred@1", "control characters are encoded");
	json_t *odd = json_pack("{s:s, s:s}", "id", "My Distro", "version_id", "1/2");
	check("{\"type\":\"apk\",\"name\":\"x\",\"version\":\"1\"}", odd,
	      "pkg:apk/my%20distro/x@1?distro=My%20Distro-1%2F2",
	      "distro id lowercased in the namespace, qualifier value encoded");
	json_decref(odd);

	/* A long hostile name: the output is bounded by 3 bytes per input byte. */
	size_t n = 100000;
	char *big = malloc(n + 64);
	strcpy(big, "{\"type\":\"gem\",\"name\":\"");
	size_t off = strlen(big);
	memset(big + off, '/', n);
	strcpy(big + off + n, "\",\"version\":\"1\"}");
	char *p = purl_of(big, NULL);
	ok(p && strlen(p) == strlen("pkg:gem/") + 3 * n + 2, "100000 '/' encode to 300000 bytes");
	free(p);
	free(big);
}

static void test_oci(void)
{
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *p = purl_oci("127.0.0.1:5000/team/app:1", d);
	is_str(p, "pkg:oci/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	       "?repository_url=127.0.0.1:5000%2Fteam%2Fapp&tag=1", "oci purl of a registry image");
	free(p);
	p = purl_oci("debian", d);
	ok(p && strstr(p, "pkg:oci/debian@sha256:") == p &&
	   strstr(p, "?repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"),
	   "oci purl of a Docker Hub short name: %s", p ? p : "(null)");
	free(p);
	is_str(purl_oci(NULL, d), NULL, "no ref: NULL");
	is_str(purl_oci("debian", NULL), NULL, "no digest: NULL");
	is_str(purl_oci("UPPER CASE!", d), NULL, "unparseable ref: NULL");
}

int main(void)
{
	debian = json_pack("{s:s, s:s, s:s}", "id", "debian", "version_id", "12", "pretty_name",
			   "Debian GNU/Linux 12 (bookworm)");
	alpine = json_pack("{s:s, s:s}", "id", "alpine", "version_id", "3.19.1");
	rhel = json_pack("{s:s, s:s}", "id", "rhel", "version_id", "9.3");
	no_version_distro = json_pack("{s:s}", "id", "debian");
	test_os_packages();
	test_language_packages();
	test_edges();
	test_oci();
	json_decref(debian);
	json_decref(alpine);
	json_decref(rhel);
	json_decref(no_version_distro);
	return tap_done();
}
