/* The error bounds behind generator/kernels/_initial.c's TRUST: its polynomial log, sin and cos
 * against the C library's, over every float32 input a draw can give them (u in [2^-34, 1] for
 * the log; turns in [2^-34, 1] for sin and cos of angle = turns * 2pi), in ulp of the library's
 * result, and how often a lane falls back to the library.  About 20 s on one core:
 *
 *   gcc -O2 -ffp-contract=off -fno-math-errno -Wno-psabi $(python3-config --includes) \
 *       benchmarks/initial_error_bounds.c -o /tmp/bounds $(python3-config --ldflags --embed) \
 *       -lm -pthread && /tmp/bounds
 * Measured with glibc 2.36: log 1 ulp, sin 7, cos 10; 5.8e-7 of lanes fall back.
 */
#include "../generator/kernels/_initial.c"

#include <stdio.h>

static double ulps(double approx, double exact)
{
    if (approx == exact)
        return 0;
    return fabs(approx - exact) / (nextafter(fabs(exact), INFINITY) - fabs(exact));
}

int main(void)
{
    double worst_log = 0, worst_sin = 0, worst_cos = 0;
    long count = 0, doubtful = 0;
    const float lowest = 0x1p-34f, one = 1.0f;
    uint32_t first, last;
    memcpy(&first, &lowest, 4);
    memcpy(&last, &one, 4);
    for (uint32_t b = first; b <= last; b += 4) {
        v4d x;
        for (int l = 0; l < 4; l++) {
            const uint32_t bits = b + l > last ? last : b + l;
            float f;
            memcpy(&f, &bits, 4);
            x[l] = f;
        }
        const v4d angle = x * 0x1.921fb54442d18p+2;
        v4d lg = vlog(x), s, c;
        vsincos(angle, &s, &c);
        const v4l doubt = near_midpoint(lg) | near_midpoint(s) | near_midpoint(c);
        for (int l = 0; l < 4; l++) {
            worst_log = fmax(worst_log, ulps(lg[l], log(x[l])));
            worst_sin = fmax(worst_sin, ulps(s[l], sin(angle[l])));
            worst_cos = fmax(worst_cos, ulps(c[l], cos(angle[l])));
            count++;
            doubtful += doubt[l] != 0;
        }
    }
    printf("%ld inputs; worst error in ulp: log %.0f, sin %.0f, cos %.0f (trusted beyond %d); "
           "%.1e of lanes fall back to the library\n", count, worst_log, worst_sin, worst_cos,
           TRUST, (double)doubtful / count);
    return worst_log < TRUST / 4 && worst_sin < TRUST / 4 && worst_cos < TRUST / 4 ? 0 : 1;
}
