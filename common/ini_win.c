/*
 * ini_win: inih's ini_parse_stream() for the Windows build (ini_compat.h),
 * with the semantics of Debian's libinih 55 that conf.c relies on:
 *
 * - a UTF-8 BOM at the start of the file is skipped;
 * - blank lines and lines starting with ';' or '#' are comments;
 * - "[section]" sets the section (names cut to 49 bytes, as inih's 50-byte
 *   buffer); text after the ']' is ignored;
 * - "name = value" or "name: value" (the first '=' or ':'), both sides
 *   trimmed; a ';' after whitespace starts an inline comment, '#' does not;
 * - an indented non-blank line after a name continues it: the handler is
 *   called again with the same name and the line as value (multi-line
 *   values in the style of Python's configparser);
 * - any other line is an error; parsing goes on after an error, and the
 *   number of the first bad line (or of the first line whose handler
 *   returned 0) is returned.
 *
 * Lines are at most INI_MAX_LINE - 1 bytes with their newline. Where inih
 * would cut a longer line into pieces and parse each as a line of its own,
 * this reader skips the whole line and reports it as an error.
 */
#include "ini_compat.h"

#include <ctype.h>
#include <string.h>

#define INI_MAX_LINE 200
#define MAX_SECTION  50
#define MAX_NAME     50

static char *
rstrip(char *s)
{
	char *p = s + strlen(s);

	while (p > s && isspace((unsigned char)*--p))
		*p = '\0';
	return s;
}

static char *
lskip(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* The first of chars in s, or the start of an inline comment (';' after
 * whitespace), or the terminating NUL. */
static char *
find_chars_or_comment(char *s, const char *chars)
{
	int was_space = 0;

	while (*s && (chars == NULL || strchr(chars, *s) == NULL) &&
	       !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static void
copy_cut(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Reads one line into line; returns 1, 0 at the end, or -1 for a line too
 * long (then consumed up to its newline). */
static int
read_line(ini_reader reader, void *stream, char *line)
{
	char rest[INI_MAX_LINE];
	size_t len;

	if (reader(line, INI_MAX_LINE, stream) == NULL)
		return 0;
	len = strlen(line);
	if (len < INI_MAX_LINE - 1 || line[len - 1] == '\n')
		return 1;
	/* The buffer is full without a newline: the line goes on, unless
	 * this was the last line of the stream or only its newline is left. */
	if (reader(rest, INI_MAX_LINE, stream) == NULL ||
	    strcmp(rest, "\n") == 0 || strcmp(rest, "\r\n") == 0)
		return 1;
	while (strchr(rest, '\n') == NULL)
		if (reader(rest, INI_MAX_LINE, stream) == NULL)
			break;
	return -1;
}

int
ini_parse_stream(ini_reader reader, void *stream, ini_handler handler,
                 void *user)
{
	char line[INI_MAX_LINE];
	char section[MAX_SECTION] = "";
	char prev_name[MAX_NAME] = "";
	char *start, *end, *name, *value;
	int lineno = 0, error = 0, r;

	while ((r = read_line(reader, stream, line)) != 0) {
		lineno++;
		if (r == -1) {
			if (!error)
				error = lineno;
			continue;
		}
		start = line;
		if (lineno == 1 && (unsigned char)start[0] == 0xef &&
		    (unsigned char)start[1] == 0xbb &&
		    (unsigned char)start[2] == 0xbf)
			start += 3;
		start = lskip(rstrip(start));

		if (*start == '\0' || *start == ';' || *start == '#') {
			/* blank line or comment */
		} else if (*prev_name && start > line) {
			/* indented: continues the previous name's value */
			if (!handler(user, section, prev_name, start) && !error)
				error = lineno;
		} else if (*start == '[') {
			end = find_chars_or_comment(start + 1, "]");
			if (*end == ']') {
				*end = '\0';
				copy_cut(section, start + 1, sizeof(section));
				prev_name[0] = '\0';
			} else if (!error) {
				error = lineno;
			}
		} else {
			end = find_chars_or_comment(start, "=:");
			if (*end == '=' || *end == ':') {
				*end = '\0';
				name = rstrip(start);
				value = end + 1;
				end = find_chars_or_comment(value, NULL);
				*end = '\0';
				value = lskip(value);
				rstrip(value);
				copy_cut(prev_name, name, sizeof(prev_name));
				if (!handler(user, section, name, value) &&
				    !error)
					error = lineno;
			} else if (!error) {
				error = lineno;
			}
		}
	}
	return error;
}
