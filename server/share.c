#include "share.h"

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
