/*
 * share: splitting an amount of cents between parties in proportion to
 * weights, exactly (the parts always add up to the amount).
 */
#ifndef MUTU_SHARE_H
#define MUTU_SHARE_H

#include <stddef.h>

/* Splits total (>= 0) between n parties in proportion to w (all >= 0; an
 * equal split when they are all zero) with the largest-remainder method:
 * each part is the floor of its exact share, computed in integers, and the
 * cents left go one each to the largest remainders, ties to the earlier
 * party. Writes n parts to out; they add up to total. Returns 0, or -1 on
 * ENOMEM. */
int share_split(long long total, const long long *w, size_t n, long long *out);

#endif
