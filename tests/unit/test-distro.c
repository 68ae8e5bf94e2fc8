/* test-distro: the os-release parser on real files (this machine's own, and
 * copies of other distributions'), shell quoting checked against /bin/sh
 * itself, systemd's leniencies, and hostile input. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "analyzers/distro.h"
#include "tap.h"
#include "vectors.h"

static const char *const keys[] = { "id", "version_id", "name", "pretty_name", "version_codename" };
static const char *const vars[] = { "ID", "VERSION_ID", "NAME", "PRETTY_NAME", "VERSION_CODENAME" };

static json_t *parse(const char *text, size_t len)
{
	struct strata_error err = STRATA_ERROR_INIT;
	json_t *o = (json_t *)1;
	int rc = os_release_parse(text, len, &o, &err);
	if (rc != 0 || !json_is_object(o)) {
		printf("Bail out! os_release_parse returned %d: %s\n", rc, err.msg);
		exit(99);
	}
	return o;
}

/* The object as "key=value;" for the keys present, in a fixed order. */
static const char *show(json_t *o)
{
	static char buf[4096];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_object_get(o, keys[i]);
		if (v)
			n += snprintf(buf + n, sizeof(buf) - n, "%s=%s;", keys[i], json_string_value(v));
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
	}
	return buf;
}

static const char *parse_show(const char *text)
{
	json_t *o = parse(text, strlen(text));
	const char *s = show(o);
	json_decref(o);
	return s;
}

static const char debian12[] =
	"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	"NAME=\"Debian GNU/Linux\"\n"
	"VERSION_ID=\"12\"\n"
	"VERSION=\"12 (bookworm)\"\n"
	"VERSION_CODENAME=bookworm\n"
	"ID=debian\n"
	"HOME_URL=\"https://www.debian.org/\"\n"
	"SUPPORT_URL=\"https://www.debian.org/support\"\n"
	"BUG_REPORT_URL=\"https://bugs.debian.org/\"\n";

static const char alpine[] =
	"NAME=\"Alpine Linux\"\n"
	"ID=alpine\n"
	"VERSION_ID=3.18.4\n"
	"PRETTY_NAME=\"Alpine Linux v3.18\"\n"
	"HOME_URL=\"https://alpinelinux.org/\"\n"
	"BUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n";

static const char ubuntu[] =
	"PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n"
	"NAME=\"Ubuntu\"\n"
	"VERSION_ID=\"22.04\"\n"
	"VERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
	"VERSION_CODENAME=jammy\n"
	"ID=ubuntu\n"
	"ID_LIKE=debian\n"
	"HOME_URL=\"https://www.ubuntu.com/\"\n"
	"UBUNTU_CODENAME=jammy\n";

static const char ubi[] =
	"NAME=\"Red Hat Enterprise Linux\"\n"
	"VERSION=\"9.2 (Plow)\"\n"
	"ID=\"rhel\"\n"
	"ID_LIKE=\"fedora\"\n"
	"VERSION_ID=\"9.2\"\n"
	"PLATFORM_ID=\"platform:el9\"\n"
	"PRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\n"
	"ANSI_COLOR=\"0;31\"\n"
	"LOGO=\"fedora-logo-icon\"\n"
	"CPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n"
	"REDHAT_SUPPORT_PRODUCT_VERSION=\"9.2\"\n";

static void test_real_files(void)
{
	is_str(parse_show(debian12),
	       "id=debian;version_id=12;name=Debian GNU/Linux;pretty_name=Debian GNU/Linux 12 (bookworm);"
	       "version_codename=bookworm;",
	       "Debian 12");
	is_str(parse_show(alpine), "id=alpine;version_id=3.18.4;name=Alpine Linux;pretty_name=Alpine Linux v3.18;",
	       "Alpine 3.18: no codename");
	is_str(parse_show(ubuntu),
	       "id=ubuntu;version_id=22.04;name=Ubuntu;pretty_name=Ubuntu 22.04.3 LTS;version_codename=jammy;",
	       "Ubuntu 22.04");
	is_str(parse_show(ubi),
	       "id=rhel;version_id=9.2;name=Red Hat Enterprise Linux;pretty_name=Red Hat Enterprise Linux 9.2 (Plow);",
	       "UBI 9: quoted ID");
}

/* What /bin/sh makes of text: the five variables after sourcing it, shown
 * as show() does (an empty variable counts as absent, as in the parser). */
static int shell_show(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/test-distro.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "env -i /bin/sh -c '. \"$1\" && printf \"%%s\\036\" \"$ID\" \"$VERSION_ID\" \"$NAME\" "
		 "\"$PRETTY_NAME\" \"$VERSION_CODENAME\"' sh %s 2>/dev/null",
		 path);
	FILE *p = popen(cmd, "r");
	if (!p) {
		unlink(path);
		return -1;
	}
	char raw[8192];
	size_t n = fread(raw, 1, sizeof(raw) - 1, p);
	int status = pclose(p);
	unlink(path);
	if (status != 0)
		return -1;
	raw[n] = '\0';
	size_t o = 0;
	char *s = raw;
	out[0] = '\0';
	for (size_t i = 0; i < 5; i++) {
		char *sep = strchr(s, '\036');
		if (!sep)
			return -1;
		*sep = '\0';
		if (*s)
			o += snprintf(out + o, outlen - o, "%s=%s;", keys[i], s);
		if (o >= outlen)
			o = outlen - 1;
		s = sep + 1;
	}
	return 0;
}

static void test_machine(void)
{
	static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release" };
	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "rb");
		if (!fp) {
			ok(1, "# SKIP %s: not on this machine", files[f]);
			continue;
		}
		static char text[65536];
		size_t n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
		text[n] = '\0';
		json_t *o = parse(text, n);
		char want[4096];
		if (shell_show(text, want, sizeof(want)) < 0) {
			ok(1, "# SKIP %s: /bin/sh cannot source it", files[f]);
		} else {
			is_str(show(o), want, "%s: as /bin/sh reads it", files[f]);
		}
		ok(json_object_get(o, "id") != NULL, "%s: gives an id", files[f]);
		json_decref(o);
	}
}

static void test_quoting(void)
{
	static const struct {
		const char *text, *want, *what;
	} cases[] = {
		{ "ID=\"a\\\"b\\\\c\\$d\\`e\"\n", "id=a\"b\\c$d`e;", "double-quote escapes" },
		{ "ID=\"a\\nb\\x\"\n", "id=a\\nb\\x;", "other backslashes stay in double quotes" },
		{ "ID='a\\\"b $c'\n", "id=a\\\"b $c;", "single quotes are literal" },
		{ "ID=a\\ b\\$\n", "id=a b$;", "unquoted backslash escapes" },
		{ "ID=\"ab\"'cd'ef\n", "id=abcdef;", "segments concatenate" },
		{ "ID=\"multi\nline\"\nNAME=n\n", "id=multi\nline;name=n;", "a quoted newline" },
		{ "ID=\"cont\\\ninued\"\n", "id=continued;", "backslash-newline in double quotes" },
		{ "ID=con\\\ntinued\n", "id=continued;", "backslash-newline unquoted" },
		{ "ID=x # comment\n", "id=x;", "a trailing comment" },
		{ "ID=x#y\n", "id=x#y;", "a '#' inside a word is literal" },
		{ "ID=\"x\"#y\n", "id=x#y;", "a '#' after a quote is literal" },
		{ "# ID=commented\nID=real\n", "id=real;", "a comment line" },
		{ "   # indented comment\n\n\n\tID=tab\n", "id=tab;", "blank lines, indentation" },
		{ "ID=first\nID=second\n", "id=second;", "the last assignment wins" },
		{ "ID=x\nID=\n", "", "an empty value removes it" },
		{ "ID=\"\"\n", "", "an empty quoted value is absent" },
		{ "ID=\"unterminated\nNAME=n\n", "", "an unclosed quote swallows the rest" },
		{ "ID='unterminated\nNAME=n\n", "", "an unclosed single quote too" },
		{ "ID = spaced\n", "id=spaced;", "white space around '=' (systemd)" },
		{ "NAME=Foo Bar  \n", "name=Foo Bar;", "spaces in an unquoted value (systemd), trailing dropped" },
		{ "ID=crlf\r\nNAME=\"q\"\r\n", "id=crlf;name=q;", "CRLF lines" },
		{ "export ID=exp\n", "id=exp;", "export" },
		{ "garbage line\n=x\n9ID=x\nID\nID=ok", "id=ok;", "lines that are no assignment; no final newline" },
		{ "id=lower\n", "", "keys are case-sensitive" },
		{ "IDX=no\nXID=no\n", "", "only whole keys" },
		{ "ID=#hash\n", "id=#hash;", "a value starting with '#'" },
		{ "ID= #c\n", "", "'#' after white space following '=' is a comment" },
		{ "ID=trail\\", "id=trail\\;", "a backslash at the end of the input" },
		{ "", "", "empty input" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		is_str(parse_show(cases[i].text), cases[i].want, "%s", cases[i].what);
}

/* A random value in shell quoting that /bin/sh reads without expanding
 * anything: safe unquoted characters and escapes, double-quoted text with
 * its four escapes and stray backslashes, single-quoted text. */
static void random_value(char *out, size_t max)
{
	static const char safe[] = "abcXYZ019._-/:+@%,";
	static const char dq[] = "ab #'!*?=;&|<>(){}[]~ \t\n";
	static const char sq[] = "ab \"\\$`#!*?\n\t;&|()";
	size_t n = 0;
	int segs = 1 + rand() % 4;
	for (int s = 0; s < segs && n + 20 < max; s++) {
		int kind = rand() % 3;
		int len = rand() % 6;
		if (kind == 0) {
			for (int i = 0; i < len && n + 4 < max; i++) {
				if (rand() % 4 == 0) {
					out[n++] = '\\';
					out[n++] = "$`\"'\\ #;&|"[rand() % 10];
				} else {
					out[n++] = safe[rand() % (sizeof(safe) - 1)];
				}
			}
		} else if (kind == 1) {
			out[n++] = '"';
			for (int i = 0; i < len && n + 5 < max; i++) {
				int r = rand() % 5;
				if (r == 0) {
					out[n++] = '\\';
					out[n++] = "$`\"\\\n"[rand() % 5];
				} else if (r == 1) {
					out[n++] = '\\';
					out[n++] = "abn "[rand() % 4];
				} else {
					out[n++] = dq[rand() % (sizeof(dq) - 1)];
				}
			}
			out[n++] = '"';
		} else {
			out[n++] = '\'';
			for (int i = 0; i < len && n + 3 < max; i++)
				out[n++] = sq[rand() % (sizeof(sq) - 1)];
			out[n++] = '\'';
		}
	}
	out[n] = '\0';
}

static void test_against_sh(void)
{
	if (access("/bin/sh", X_OK) != 0) {
		ok(1, "# SKIP no /bin/sh");
		return;
	}
	srand(5);
	int rounds = 150, same = 0, ran = 0;
	char text[4096], want[4096], got[4096];
	for (int r = 0; r < rounds; r++) {
		size_t n = 0;
		for (size_t k = 0; k < 5; k++) {
			char v[512];
			random_value(v, sizeof(v));
			n += snprintf(text + n, sizeof(text) - n, "%s%s=%s\n", rand() % 3 ? "" : "# c\n", vars[k], v);
		}
		if (shell_show(text, want, sizeof(want)) < 0)
			continue;
		ran++;
		json_t *o = parse(text, strlen(text));
		snprintf(got, sizeof(got), "%s", show(o));
		json_decref(o);
		if (!strcmp(got, want)) {
			same++;
		} else if (same + 1 == ran) {
			printf("# input:\n# %s\n# sh:     %s\n# parser: %s\n", text, want, got);
		}
	}
	ok(ran > rounds / 2, "/bin/sh sourced %d of %d random files", ran, rounds);
	is_int(same, ran, "the parser reads every one as /bin/sh does");
}

static void test_hostile(void)
{
	size_t big = 16u << 20;
	char *s = malloc(big + 64);

	strcpy(s, "ID=\"");
	memset(s + 4, 'x', big);
	strcpy(s + 4 + big, "\"\nNAME=n\n");
	double t = vec_seconds();
	json_t *o = parse(s, strlen(s));
	is_int(strlen(json_string_value(json_object_get(o, "id"))), big, "a 16 MB quoted value");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(o);

	memcpy(s, "ID='", 4);
	memset(s + 4, '\n', big);
	s[4 + big] = '\0';
	t = vec_seconds();
	o = parse(s, strlen(s));
	is_str(show(o), "", "16 MB of newlines in an unclosed quote");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(o);

	size_t n = 0;
	for (size_t i = 0; i < (1u << 20); i++) {
		memcpy(s + n, "X=\\\n", 4);
		n += 4;
	}
	memcpy(s + n, "\nID=end\n", 9);
	t = vec_seconds();
	o = parse(s, strlen(s));
	is_str(show(o), "id=end;", "1 M continuation lines");
	printf("# " "in linear time (%.3f s)" " (timed: a figure, not a pass condition)\n", vec_seconds() - t);
	json_decref(o);

	static const char nul[] = "ID=a\0b\nNAME=\"\xff\xfe\"\n";
	o = parse(nul, sizeof(nul) - 1);
	ok(json_object_get(o, "id") && json_object_get(o, "name"), "NUL and invalid UTF-8 in values");
	char *dump = json_dumps(o, 0);
	ok(dump != NULL, "serialises: %s", dump ? dump : "(null)");
	free(dump);
	json_decref(o);

	srand(6);
	int fine = 1;
	for (int round = 0; round < 500 && fine; round++) {
		size_t len = (size_t)(rand() % 2048);
		for (size_t i = 0; i < len; i++)
			s[i] = "ID=\"'\\\n# \tNAME_x\0\r$`"[rand() % 20];
		struct strata_error err = STRATA_ERROR_INIT;
		json_t *r = NULL;
		fine = os_release_parse(s, len, &r, &err) == 0 && json_is_object(r);
		json_decref(r);
	}
	ok(fine, "random inputs always give an object");
	free(s);
}

int main(void)
{
	test_real_files();
	test_machine();
	test_quoting();
	test_against_sh();
	test_hostile();
	return tap_done();
}
