/*
 * ctl_access: mutuctl's access commands: enrolment secrets, admin tokens,
 * foreign agents' credentials,
 * agent revocation and the audit log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"

/* The token given by --token or --token-file (a token is 64 hex
 * digits; room for other forms). */
static char token[1024];

const char *
ctl_token_file(const char *path)
{
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		ctl_die(CTL_EXIT_USAGE, "--token-file %s: %s", path,
		        strerror(errno));
	}
	/* The file opened is the one checked (fstat, not stat). */
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		ctl_die(CTL_EXIT_USAGE, "--token-file %s: not a regular file",
		        path);
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		ctl_die(CTL_EXIT_USAGE,
		        "--token-file %s: mode %04o lets group or "
		        "others read or change the token; chmod 600 %s",
		        path, (unsigned)(sb.st_mode & 07777), path);
	}
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	if (n < 0) {
		ctl_die(CTL_EXIT_USAGE, "--token-file %s: %s", path,
		        strerror(errno));
	}
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	if (token[0] == '\0' || (size_t)n == sizeof(token) - 1) {
		ctl_die(CTL_EXIT_USAGE,
		        "--token-file %s: expected the token on its "
		        "first line",
		        path);
	}
	return token;
}

const char *
ctl_token_arg(char *arg)
{
	static int warned;

	if (!warned)
		fprintf(stderr,
		        "mutuctl: warning: --token shows the token to other "
		        "local users (ps, /proc/PID/cmdline) until mutuctl "
		        "wipes it; use --token-file FILE or MUTU_TOKEN\n");
	warned = 1;
	if (util_strlcpy(token, arg, sizeof(token)) == -1) {
		ctl_die(CTL_EXIT_USAGE, "--token: too long");
	}
	memset(arg, 'x', strlen(arg));
	return token;
}

static json_t *
create_body(const struct ctl *c)
{
	json_t *b = json_pack("{s:s?, s:s?, s:b}", "commune", c->commune,
	                      "label", ctl_opt(c, "label"), "read_only",
	                      json_object_get(c->opts, "read-only") != NULL);
	long long v;

	if (ctl_opt(c, "expires-days")) {
		if (util_parse_ll(ctl_opt(c, "expires-days"), 1, 3660, &v) ==
		    -1) {
			ctl_die(CTL_EXIT_USAGE, "--expires-days: 1 to 3660");
		}
		json_object_set_new(b, "expires_days", json_integer(v));
	}
	if (ctl_opt(c, "max-uses")) {
		if (util_parse_ll(ctl_opt(c, "max-uses"), 1, 1000000, &v) ==
		    -1) {
			ctl_die(CTL_EXIT_USAGE, "--max-uses: 1 to 1000000");
		}
		json_object_set_new(b, "max_uses", json_integer(v));
	}
	return b;
}

/* What cmd_credentials() manages. */
enum cred_kind { CRED_SECRETS, CRED_TOKENS, CRED_FOREIGN };

/* secrets|tokens|foreign-credentials create|list|revoke */
static int
cmd_credentials(const struct ctl *c, int argc, char **argv, enum cred_kind kind)
{
	static const struct column secret_cols[] = {{"ID", "id"},
	                                            {"COMMUNE", "commune"},
	                                            {"LABEL", "label"},
	                                            {"EXPIRES", "expires"},
	                                            {"MAX_USES", "max_uses"},
	                                            {"USES", "uses"},
	                                            {"REVOKED", "revoked"},
	                                            {NULL, NULL}};
	static const struct column token_cols[] = {
	    {"ID", "id"},           {"COMMUNE", "commune"},
	    {"LABEL", "label"},     {"READ_ONLY", "read_only"},
	    {"REVOKED", "revoked"}, {NULL, NULL}};
	static const struct column foreign_cols[] = {
	    {"ID", "id"},           {"COMMUNE", "commune"},
	    {"LABEL", "label"},     {"EXPIRES", "expires"},
	    {"USES", "uses"},       {"LAST_USED", "last_used"},
	    {"REVOKED", "revoked"}, {NULL, NULL}};
	static const struct {
		const char *base, *what, *shown;
		const struct column *cols;
	} kinds[] = {
	    [CRED_SECRETS] = {"/api/v1/secrets", "secret", "secret",
	                      secret_cols},
	    [CRED_TOKENS] = {"/api/v1/tokens", "token", "token", token_cols},
	    [CRED_FOREIGN] = {"/api/v1/foreign-credentials",
	                      "foreign agents' credential", "password",
	                      foreign_cols},
	};
	const char *sub = argc > 1 ? argv[1] : "list";
	char path[256];
	json_t *j, *body;

	if (strcmp(sub, "list") == 0 && argc <= 2) {
		j = ctl_request(c, "GET", kinds[kind].base, NULL);
		ctl_print(c, j, kinds[kind].cols);
	} else if (strcmp(sub, "create") == 0 && argc == 2) {
		if (kind == CRED_FOREIGN &&
		    (ctl_opt(c, "max-uses") ||
		     json_object_get(c->opts, "read-only")))
			ctl_die(CTL_EXIT_USAGE, "foreign-credentials: no "
			                        "--max-uses or --read-only");
		body = create_body(c);
		if (kind == CRED_FOREIGN)
			json_object_del(body, "read_only");
		j = ctl_request(c, "POST", kinds[kind].base, body);
		json_decref(body);
		/* Shown once: the server keeps only its hash. */
		if (kind == CRED_FOREIGN)
			fprintf(stderr, "user: %s (docs/INTEROP.md)\n",
			        json_string_value(json_object_get(j, "user")));
		printf("%s\n", json_string_value(
		                   json_object_get(j, kinds[kind].shown)));
	} else if (strcmp(sub, "revoke") == 0 && argc == 3) {
		snprintf(path, sizeof(path), "%s/%s", kinds[kind].base,
		         argv[2]);
		j = ctl_request(c, "DELETE", path, NULL);
		printf("%s %s revoked\n", kinds[kind].what, argv[2]);
	} else
		return 2;
	json_decref(j);
	return 0;
}

/* GET what?days=N (default 30) and print it with cols. */
static int
cmd_days_list(const struct ctl *c, const char *what, const struct column *cols)
{
	char path[64];
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/%s?days=%d", what,
	         c->days > 0 ? c->days : 30);
	j = ctl_request(c, "GET", path, NULL);
	ctl_print(c, j, cols);
	json_decref(j);
	return 0;
}

static const struct column audit_cols[] = {
    {"ID", "id"},         {"AT", "at"},
    {"ACTOR", "actor"},   {"COMMUNE", "commune"},
    {"ACTION", "action"}, {"DETAIL", "detail"},
    {NULL, NULL}};
static const struct column gap_cols[] = {
    {"COMMUNE", "commune"},   {"HOST", "hostname"}, {"REASON", "reason"},
    {"FIRST", "first_seq"},   {"LAST", "last_seq"}, {"RECORDS", "records"},
    {"RECEIVED", "received"}, {"DETAIL", "detail"}, {NULL, NULL}};

static void
dump(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* audit retention [DAYS] | audit purge --before YYYY-MM-DD: the audit
 * log's retention (the intercommunal admin's). */
static int
cmd_audit(const struct ctl *c, int argc, char **argv)
{
	json_t *j, *body;
	long long days;

	if (strcmp(argv[1], "retention") == 0 && argc == 2) {
		j = ctl_request(c, "GET", "/api/v1/audit/retention", NULL);
		days = json_integer_value(json_object_get(j, "retention_days"));
		if (c->format == FMT_JSON)
			dump(j);
		else if (days > 0)
			printf("audit entries are kept %lld days\n", days);
		else
			printf("audit entries are kept for ever (no "
			       "retention set)\n");
	} else if (strcmp(argv[1], "retention") == 0 && argc == 3) {
		if (util_parse_ll(argv[2], 0, 3660, &days) == -1) {
			ctl_die(CTL_EXIT_USAGE, "audit retention: DAYS is 0 "
			                        "(keep for ever) to 3660");
		}
		body = json_pack("{s:I}", "days", (json_int_t)days);
		j = ctl_request(c, "PUT", "/api/v1/audit/retention", body);
		json_decref(body);
		if (c->format == FMT_JSON)
			dump(j);
		else
			printf("audit retention %lld days; %lld older entries "
			       "purged\n",
			       days,
			       (long long)json_integer_value(
			           json_object_get(j, "purged")));
	} else if (strcmp(argv[1], "purge") == 0 && argc == 2 &&
	           ctl_opt(c, "before")) {
		body = json_pack("{s:s}", "before", ctl_opt(c, "before"));
		j = ctl_request(c, "POST", "/api/v1/audit/purge", body);
		json_decref(body);
		if (c->format == FMT_JSON)
			dump(j);
		else
			printf("%lld audit entries before %s UTC purged\n",
			       (long long)json_integer_value(
			           json_object_get(j, "purged")),
			       json_string_value(json_object_get(j, "before")));
	} else
		return 2;
	json_decref(j);
	return 0;
}

int
ctl_access(const struct ctl *c, int argc, char **argv)
{
	char path[256];
	json_t *j;

	if (strcmp(argv[0], "secrets") == 0)
		return cmd_credentials(c, argc, argv, CRED_SECRETS);
	if (strcmp(argv[0], "tokens") == 0)
		return cmd_credentials(c, argc, argv, CRED_TOKENS);
	if (strcmp(argv[0], "foreign-credentials") == 0)
		return cmd_credentials(c, argc, argv, CRED_FOREIGN);
	if (strcmp(argv[0], "audit") == 0 && argc == 1)
		return cmd_days_list(c, "audit", audit_cols);
	if (strcmp(argv[0], "audit") == 0)
		return cmd_audit(c, argc, argv);
	if (strcmp(argv[0], "gaps") == 0 && argc == 1)
		return cmd_days_list(c, "gaps", gap_cols);
	if (strcmp(argv[0], "agents") == 0 && argc == 3 &&
	    strcmp(argv[1], "revoke") == 0) {
		snprintf(path, sizeof(path), "/api/v1/agents/%s", argv[2]);
		j = ctl_request(c, "DELETE", path, NULL);
		json_decref(j);
		printf("agent %s revoked: its token no longer works and it "
		       "cannot enrol again\n",
		       argv[2]);
		return 0;
	}
	return -1;
}
