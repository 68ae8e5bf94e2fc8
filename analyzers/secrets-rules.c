/* secrets-rules: the built-in rule table of the secrets analyzer. Changing a
 * rule changes secrets_ruleset_id(), hence the memo key. Syntax and the
 * meaning of (?<secret>...) are described in secrets.h.
 *
 * Boundaries are written so that near misses do not match: a token class
 * without '-' ends with \b; one with '-' or '_' in its alphabet ends with a
 * consumed non-token character or end of line (not shown in the record).
 * Private keys need their BEGIN line followed by base64 (raw or inside a
 * JSON string with "\n" escapes), so code that merely names the marker, and
 * public keys and certificates, are not findings; the record shows the BEGIN
 * line. */
#include "config.h"

#include "secrets.h"

/* A PEM private key of one type: BEGIN line, optional legacy encryption
 * headers, then the first base64 of the body (the masked part). */
#define PEM_KEY(type) \
	"-----BEGIN " type "PRIVATE KEY-----(?:\\s|\\\\[rn])+" \
	"(?:Proc-Type:[^\\n]*?(?:\\s|\\\\[rn])+DEK-Info:[^\\n]*?(?:\\s|\\\\[rn])+)?" \
	"(?<secret>[A-Za-z0-9+/=]{20})"

/* An assignment in code or configuration, value quoted: password = "...",
 * "api_key": "...", 'secret' => '...', token := "...". */
#define QUOTED_ASSIGNMENT(names) \
	"(?i)(?:" names ")[\"']?\\s*(?:=>|:=|[:=])\\s*[\"'](?<secret>[^\"'\\s]{8,128})[\"']"

const struct secrets_rule secrets_builtin_rules[] = {
	{ "aws-access-key-id", "AWS access key ID", SECRETS_CRITICAL,
	  "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\\b", 0 },
	{ "aws-secret-access-key", "AWS secret access key", SECRETS_CRITICAL,
	  "(?i)aws_?secret_?access_?key[\"']?\\s*(?:=>|:=|[:=])\\s*[\"']?"
	  "(?<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)", 0 },

	{ "rsa-private-key", "RSA private key", SECRETS_HIGH, PEM_KEY("RSA "), 0 },
	{ "ec-private-key", "EC private key", SECRETS_HIGH, PEM_KEY("EC "), 0 },
	{ "dsa-private-key", "DSA private key", SECRETS_HIGH, PEM_KEY("DSA "), 0 },
	{ "openssh-private-key", "OpenSSH private key", SECRETS_HIGH, PEM_KEY("OPENSSH "), 0 },
	{ "pkcs8-private-key", "PKCS#8 private key", SECRETS_HIGH, PEM_KEY(""), 0 },
	{ "encrypted-private-key", "Encrypted PKCS#8 private key", SECRETS_MEDIUM,
	  PEM_KEY("ENCRYPTED "), 0 },
	{ "pgp-private-key", "PGP private key block", SECRETS_HIGH,
	  "-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\\s|\\\\[rn])+"
	  "(?:[A-Za-z-]+:[^\\n]*?(?:\\s|\\\\[rn])+)*(?<secret>[A-Za-z0-9+/=]{20})", 0 },

	{ "github-pat", "GitHub personal access token", SECRETS_CRITICAL,
	  "\\bghp_[A-Za-z0-9]{36}\\b", 0 },
	{ "github-oauth-token", "GitHub OAuth access token", SECRETS_CRITICAL,
	  "\\bgho_[A-Za-z0-9]{36}\\b", 0 },
	{ "github-user-token", "GitHub user-to-server token", SECRETS_CRITICAL,
	  "\\bghu_[A-Za-z0-9]{36}\\b", 0 },
	{ "github-server-token", "GitHub server-to-server token", SECRETS_CRITICAL,
	  "\\bghs_[A-Za-z0-9]{36}\\b", 0 },
	{ "github-refresh-token", "GitHub refresh token", SECRETS_CRITICAL,
	  "\\bghr_[A-Za-z0-9]{36}\\b", 0 },
	{ "github-fine-grained-pat", "GitHub fine-grained personal access token", SECRETS_CRITICAL,
	  "\\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\\b", 0 },
	{ "gitlab-pat", "GitLab personal access token", SECRETS_CRITICAL,
	  "\\b(?<secret>glpat-[A-Za-z0-9_-]{20})(?:[^A-Za-z0-9_-]|$)", 0 },

	{ "slack-token", "Slack token", SECRETS_HIGH,
	  "\\b(?<secret>xox[bpar]-[0-9]{1,20}-[0-9A-Za-z-]{8,})(?:[^0-9A-Za-z-]|$)", 0 },
	{ "slack-webhook-url", "Slack incoming webhook URL", SECRETS_MEDIUM,
	  "https://hooks\\.slack\\.com/services/"
	  "(?<secret>T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24})\\b", 0 },

	{ "stripe-secret-key", "Stripe live secret key", SECRETS_CRITICAL,
	  "\\b(?:sk|rk)_live_[0-9A-Za-z]{24,99}\\b", 0 },
	{ "stripe-test-key", "Stripe test secret key", SECRETS_LOW,
	  "\\bsk_test_[0-9A-Za-z]{24,99}\\b", 0 },

	{ "google-api-key", "Google API key", SECRETS_HIGH,
	  "\\b(?<secret>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)", 0 },
	{ "gcp-service-account", "Google Cloud service account key", SECRETS_CRITICAL,
	  "\"type\"\\s*:\\s*\"service_account\""
	  "[\\s\\S]+?\"private_key\"\\s*:\\s*\"-----BEGIN[A-Z ]{0,20}PRIVATE KEY-----(?:\\s|\\\\[rn])+"
	  "(?<secret>[A-Za-z0-9+/=]{20})", 0 },

	{ "npm-token", "npm access token", SECRETS_CRITICAL, "\\bnpm_[A-Za-z0-9]{36}\\b", 0 },
	{ "pypi-token", "PyPI upload token", SECRETS_CRITICAL,
	  "\\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", 0 },

	{ "jwt", "JSON Web Token", SECRETS_MEDIUM,
	  "\\beyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}", 0 },

	{ "generic-password", "Password in an assignment", SECRETS_MEDIUM,
	  QUOTED_ASSIGNMENT("password|passwd"), SECRETS_GENERIC },
	{ "generic-api-key", "API key or secret in an assignment", SECRETS_MEDIUM,
	  QUOTED_ASSIGNMENT("api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|"
			    "auth[_-]?token|secret"), SECRETS_GENERIC },
	/* Environment files, shell, Dockerfile ENV: upper-case names and no
	 * blanks around '=', as shell wants, which keeps code out. */
	{ "generic-env-secret", "Secret in an environment variable", SECRETS_MEDIUM,
	  "^[ \\t]*(?:export[ \\t]+|ENV[ \\t]+)?[A-Z0-9_]*"
	  "(?:PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|TOKEN|ACCESS_KEY|PRIVATE_KEY)[A-Z0-9_]*"
	  "=(?<secret>[^\\s\"'#]{8,128})[ \\t]*\\r?$", SECRETS_GENERIC },
};

const size_t secrets_builtin_count = sizeof(secrets_builtin_rules) / sizeof(secrets_builtin_rules[0]);
