/*
 * share: splitting an amount of cents between parties in proportion to
 * weights, exactly (the parts always add up to the amount).
 */
#ifndef MUTU_SHARE_H
#define MUTU_SHARE_H

#include <stddef.h>

#include <jansson.h>

/* Splits total (>= 0) between n parties in proportion to w (all >= 0; an
 * equal split when they are all zero) with the largest-remainder method:
 * each part is the floor of its exact share, computed in integers, and the
 * cents left go one each to the largest remainders, ties to the earlier
 * party. Writes n parts to out; they add up to total. Returns 0, or -1 on
 * ENOMEM. */
int share_split(long long total, const long long *w, size_t n, long long *out);
/* Part j (from 0, taken modulo n) of total split equally between n > 0
 * parties the same way: total / n, one cent more for the first
 * total % n parties. */
long long share_unit(long long total, long long n, long long j);

/* Exact decimals (docs/LICENCES.md, "Money"): an amount is an integer
 * count of 10^-scale units (scale 2: cents; scale 6: parts per million).
 * share_parse_decimal reads "1234", "1234.5" or "1234.50" (digits, at
 * most scale decimals, no sign, exponent or spaces) into *out, at most
 * max. Returns 0, or -1 if s is not such a decimal. */
int share_parse_decimal(const char *s, int scale, long long max,
                        long long *out);
/* The same from a JSON value: a string as above; an integer (whole
 * units); or a real, accepted only when it is the binary number nearest
 * to a decimal of at most scale decimals (what a JSON parser makes of
 * "3600.1" or "0.35"), read as that decimal, never rounded. Returns 0,
 * or -1 (negative, too many decimals, above max, any other type). */
int share_json_decimal(const json_t *v, int scale, long long max,
                       long long *out);
/* Writes v / 10^scale as a decimal with at least min_decimals decimals
 * (trailing zeros beyond them dropped): (180005, 2, 2) gives "1800.05",
 * (350000, 6, 2) gives "0.35". */
void share_format(long long v, int scale, int min_decimals, char *out,
                  size_t n);
/* a * b / c rounded half up, in 128-bit integers (a, b >= 0, c > 0;
 * 0 when c <= 0). */
long long share_mul_div(long long a, long long b, long long c);
/* The part of total that falls on days [from, to) of a term of term
 * days: C(to) - C(from) with C(x) = total * x / term rounded half up.
 * The parts of consecutive ranges add up to exactly total over the whole
 * term (the cumulative amounts telescope). 0 if to < from. */
long long share_prorate(long long total, long long from, long long to,
                        long long term);

/* Money in cents (scale 2), shares in parts per million (scale 6), and
 * the largest amount of cents the store takes. */
#define MONEY_SCALE 2
#define SHARE_SCALE 6
#define MONEY_MAX   (1LL << 40)

/* An exact decimal string of v / 10^scale ("1800.05", "0.35"), as the
 * API gives amounts and shares; NULL on ENOMEM. */
json_t *share_json(long long v, int scale);
/* Adds "<key>_eur", the exact decimal string, next to the integer
 * "<key>_cents" of object o (a null or absent one gives null). */
void share_add_eur(json_t *o, const char *key);

#endif
