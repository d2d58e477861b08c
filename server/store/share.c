#include "share.h"

#include <stdio.h>
#include <stdlib.h>

int
share_split(long long total, const long long *w, size_t n, long long *out)
{
	__int128 sum = 0, num, den;
	long long left = total, *rem;
	size_t i, j, best;

	if (n == 0)
		return 0;
	if ((rem = calloc(n, sizeof(*rem))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		sum += w[i];
	den = sum > 0 ? sum : (__int128)n;
	for (i = 0; i < n; i++) {
		num = (__int128)total * (sum > 0 ? w[i] : 1);
		out[i] = (long long)(num / den);
		rem[i] = (long long)(num % den);
		left -= out[i];
	}
	/* left < n: each party gets at most one more cent. */
	for (j = 0; j < (size_t)left; j++) {
		best = 0;
		for (i = 1; i < n; i++)
			if (rem[i] > rem[best])
				best = i;
		out[best]++;
		rem[best] = -1;
	}
	free(rem);
	return 0;
}

/* 10^scale for the scales used here (0 to 9). */
static long long
pow10ll(int scale)
{
	long long p = 1;

	while (scale-- > 0)
		p *= 10;
	return p;
}

int
share_parse_decimal(const char *s, int scale, long long max, long long *out)
{
	long long p = pow10ll(scale), whole = 0, frac = 0;
	const char *c = s;
	int digits = 0, decimals = 0;

	if (s == NULL || scale < 0 || scale > 9)
		return -1;
	for (; *c >= '0' && *c <= '9'; c++, digits++) {
		if (whole > max / 10)
			return -1;
		whole = whole * 10 + (*c - '0');
	}
	if (digits == 0)
		return -1;
	if (*c == '.') {
		for (c++; *c >= '0' && *c <= '9'; c++, decimals++) {
			if (decimals >= scale)
				return -1;
			frac = frac * 10 + (*c - '0');
		}
		if (decimals == 0)
			return -1;
	}
	if (*c != '\0' || whole > max / p)
		return -1;
	frac *= pow10ll(scale - decimals);
	if (whole * p > max - frac)
		return -1;
	*out = whole * p + frac;
	return 0;
}

int
share_json_decimal(const json_t *v, int scale, long long max, long long *out)
{
	long long p = pow10ll(scale), c;
	double d, x;

	if (scale < 0 || scale > 9)
		return -1;
	if (json_is_string(v))
		return share_parse_decimal(json_string_value(v), scale, max,
		                           out);
	if (json_is_integer(v)) {
		c = (long long)json_integer_value(v);
		if (c < 0 || c > max / p)
			return -1;
		*out = c * p;
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	/* The decimal c / 10^scale whose nearest binary number is d, if
	 * there is one: both c and 10^scale are exact in a double (below
	 * 2^53), so the division rounds to the double nearest to the
	 * decimal, which is what a JSON parser made of its text. */
	d = json_real_value(v);
	if (!(d >= 0) || d * (double)p > (double)max + 0.5)
		return -1;
	x = d * (double)p + 0.5;
	c = (long long)x;
	if (c > (1LL << 53) || c > max)
		return -1;
	if ((double)c / (double)p != d) {
		/* d * p may have rounded across .5: try the neighbour. */
		if (c > 0 && (double)(c - 1) / (double)p == d)
			c--;
		else if ((double)(c + 1) / (double)p == d && c + 1 <= max)
			c++;
		else
			return -1;
	}
	*out = c;
	return 0;
}

void
share_format(long long v, int scale, int min_decimals, char *out, size_t n)
{
	long long p = pow10ll(scale), whole, frac;
	char digits[16];
	int keep = scale;
	const char *sign = v < 0 ? "-" : "";

	if (v < 0)
		v = -v; /* amounts are far from LLONG_MIN */
	whole = v / p;
	frac = v % p;
	snprintf(digits, sizeof(digits), "%0*lld", scale, frac);
	while (keep > min_decimals && digits[keep - 1] == '0')
		keep--;
	digits[keep] = '\0';
	if (keep > 0)
		snprintf(out, n, "%s%lld.%s", sign, whole, digits);
	else
		snprintf(out, n, "%s%lld", sign, whole);
}

long long
share_mul_div(long long a, long long b, long long c)
{
	__int128 num = (__int128)a * b;

	if (c <= 0)
		return 0;
	return (long long)((2 * num + c) / (2 * (__int128)c));
}

long long
share_prorate(long long total, long long from, long long to, long long term)
{
	if (term <= 0 || to < from)
		return 0;
	return share_mul_div(total, to, term) -
	       share_mul_div(total, from, term);
}

/* An exact decimal string of v / 10^scale: "1800.05", "0.35". */
json_t *
share_json(long long v, int scale)
{
	char s[40];

	share_format(v, scale, 2, s, sizeof(s));
	return json_string(s);
}

/* Adds "<key>_eur", the exact decimal string, next to each integer
 * "<key>_cents" of an object (null stays null). */
void
share_add_eur(json_t *o, const char *key)
{
	char name[64];
	json_t *c;

	snprintf(name, sizeof(name), "%s_cents", key);
	c = json_object_get(o, name);
	snprintf(name, sizeof(name), "%s_eur", key);
	json_object_set_new(o, name,
	                    json_is_integer(c)
	                        ? share_json(json_integer_value(c), MONEY_SCALE)
	                        : json_null());
}

long long
share_unit(long long total, long long n, long long j)
{
	return total / n + (j % n < total % n ? 1 : 0);
}
