/* Fused CPU kernel for generator.dynamics.landscape (see generator/kernels/cpu.py).
 *
 * Each thread takes grid points one at a time and keeps a point's state as
 * structure-of-arrays of its *distinct* points with multiplicities, SIMD over the rows i
 * of the attention (8 lanes), with a polynomial exp2 on scores prescaled by log2(e).
 *
 * Why this shape: points cluster.  Two bit-identical points receive identical updates
 * forever, so they are merged into one point whose softmax weight is multiplied by its
 * count.  On the paper's seeds the number k of distinct points stays at n = 20 for about
 * 5 steps, then collapses to 1 or 2 within a step or two, and ceil(k/8) * k vector exps
 * per step replace n * n scalar ones.  A grid point with k == 1 has converged for good and
 * stops.  One whose state repeats bit for bit after p <= PERIOD_MAX steps (a fixed point,
 * a sign flip through a negative eigenvalue of W_V, a short cycle) is periodic for good,
 * and its state at step T is one it has already been in.  Both shortcuts are exact for
 * this kernel's own arithmetic.  Grid points down to k == 2 move to a pack (below) that
 * steps four of them in one vector.
 *
 * Where a grid point's scores are bounded (unshifted()), the softmax skips its row maximum
 * and each score goes straight into exp2, in one pass over the keys.
 *
 * The vector code is written once with GCC vector extensions and instantiated twice:
 * for AVX2+FMA (chosen at run time when the CPU has them) and for the target's baseline
 * (SSE2 on x86-64, NEON on aarch64), so the module runs on any machine it builds on.
 *
 * With a speed buffer it also writes generator.dynamics' speed field: each grid point keeps
 * s, the first step of its current synchronised run, and the sum of its spreads, updated
 * after every step (a maximum of k numbers next to a step's k^2 exps); the shortcuts know
 * the rest of the orbit, so they stay exact up to the order of the sum (see cycle_rest).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 8
#define AI static inline __attribute__((always_inline))

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

typedef struct {
    float wq[4], wv[4];       /* row-major (2, 2) */
    const float *x0;          /* (G or 1, n, 2) */
    const float *ab;          /* (G, 2) */
    uint8_t *out;             /* (G,) */
    float *speed;             /* (G,), or NULL: labels only */
    Py_ssize_t G;
    int n, shared, iterations;
    float threshold;
    int scaled_values;        /* |W_V|_F <= 2^30, for unshifted() */
    float wq_norm;            /* |W_Q|_F, scores' units */
    atomic_llong next;        /* first grid point not yet claimed by a thread */
    atomic_int failed;        /* a thread could not allocate its workspace */
} Job;

/* States kept per grid point: the current one and the HISTORY - 1 before it. */
#define HISTORY 4
#define PERIOD_MAX (HISTORY - 1)

/* Per-thread grid point in flight and its O(n) buffers.  The state d steps ago is
 * x*[(now - d) % HISTORY]; the step writes the next state over the oldest. */
typedef struct {
    float *x1[HISTORY], *x2[HISTORY];
    int ks[HISTORY];                /* distinct points in each state */
    uint32_t print[HISTORY];        /* bits of each state's first point, to compare fast */
    int now;
    float *m;                       /* multiplicities of the points in the current state */
    float *ka, *kb, *mv1, *mv2;     /* keys and count-weighted values of this step */
    v8f *score;                     /* one row block's scores, (k,) vectors */
    int *idx;                       /* merge's */
    Py_ssize_t g;                   /* the grid point, -1 when done */
    float a, b;
    int unshifted;                  /* scores bounded: softmax without the row maximum */
    int t, c0;                      /* steps done; which distinct point point 0 is */
    int s;                          /* first step of the synchronised run reaching step t */
    double sum;                     /* of the spreads of steps 0..t */
    void *block;
} Work;

/* Once a grid point is down to two distinct points (where most grid points that do not
 * synchronise spend most of their steps), a step of the general state is a handful of
 * vector operations on 2 of the 8 lanes, bound by the latency of one long chain (exp,
 * divisions, square root).  So such points are stepped PACK at a time, point i of slot s
 * in lane 2s + i: a quarter of the chains.  Each slot's HISTORY serves the period test. */
#define PACK (LANES / 2)

typedef struct {
    v8f x1[HISTORY], x2[HISTORY];   /* the state d steps ago is x*[(now - d) % HISTORY] */
    v8f m, a, b;                    /* multiplicities; each slot's a and b in both lanes */
    int now;
    Py_ssize_t g[PACK];             /* grid point in each slot, -1 when free */
    int t[PACK], c0[PACK];          /* steps done; which lane (0 or 1) point 0 is in */
    int s[PACK];                    /* as Work's s and sum */
    double sum[PACK];
    int since[PACK];                /* steps done in the pack: the history that is its own */
} Pack;

AI v8f vsplat(float s) { return (v8f){s, s, s, s, s, s, s, s}; }
AI v8i isplat(int32_t s) { return (v8i){s, s, s, s, s, s, s, s}; }

/* a > b ? a : b, lane by lane (maxps), as a bit select: GCC vectorises that reliably. */
AI v8f vmax(v8f a, v8f b)
{
    v8i gt = a > b;
    return (v8f)((gt & (v8i)a) | (~gt & (v8i)b));
}

/* 2^x for -126 <= x <= 127 (scores in units of log2(e)): a degree-5 fit of 2^r on
 * [-1/2, 1/2] (relative error 2e-7, under 2 ulp), scaled by 2^round(x) through the exponent
 * bits.  At x = -126 the result is a subnormal near 1e-38 rather than exact, far below float
 * resolution next to any weight that matters.  A NaN stays NaN, as in the reference. */
AI v8f vexp2(v8f x)
{
    const v8f magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    v8f t = x + magic;
    v8f r = x - (t - magic);
    v8f p = vsplat(1.328230369836092e-3f);
    p = p * r + 9.675590321421623e-3f;
    p = p * r + 5.550695210695267e-2f;
    p = p * r + 2.4022118747234344e-1f;
    p = p * r + 6.931470036506653e-1f;
    p = p * r + 1.0000001192092896f;
    /* The low 9 bits of t are round(x) mod 2^9 (those of magic are zero), so shifting them
     * into the exponent field adds round(x) to p's exponent. */
    return (v8f)((v8i)p + ((v8i)t << 23));
}

/* 2^(x - max) for scores x and their row maximum: below -126 clamped. */
AI v8f vexp2_below(v8f x, v8f max)
{
    return vexp2(vmax(vsplat(-126.0f), x - max));
}

AI uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Bit l set where lane l of the comparison m holds (movmskps, in portable vector code). */
AI int lanes(v8i m)
{
    const v8i bit = {1, 2, 4, 8, 16, 32, 64, 128};
    v8i r = m & bit;
    r |= __builtin_shuffle(r, (v8i){4, 5, 6, 7, 0, 1, 2, 3});
    r |= __builtin_shuffle(r, (v8i){2, 3, 0, 1, 6, 7, 4, 5});
    r |= __builtin_shuffle(r, (v8i){1, 0, 3, 2, 5, 4, 7, 6});
    return r[0];
}

/* Gives the lanes past k of the last row block distinct signalling-NaN patterns, which no
 * arithmetic produces, so that the tests for identical points compare whole blocks. */
AI void pad(float *x1, float *x2, int k)
{
    const int c = k / LANES * LANES;
    if (c == k)
        return;
    const v8i iota = {0, 1, 2, 3, 4, 5, 6, 7};
    const v8i in = iota < isplat(k - c), nan = isplat(0x7f800001) + iota;
    v8i *p1 = (v8i *)(x1 + c), *p2 = (v8i *)(x2 + c);
    *p1 = (in & *p1) | (~in & nan);
    *p2 = (in & *p2) | (~in & nan);
}

/* Whether two lanes of x1 hold the same bits (and of x2 too, with both): each row block
 * against the rotations of itself and of the blocks after it, so that every pair of lanes
 * meets. */
AI int any_equal(const float *x1, const float *x2, int k, int both)
{
    const v8i iota = {0, 1, 2, 3, 4, 5, 6, 7};
    const int end = (k + LANES - 1) / LANES * LANES;
    v8i hit = isplat(0);
    for (int c = 0; c < end; c += LANES) {
        const v8i a1 = *(const v8i *)(x1 + c), a2 = *(const v8i *)(x2 + c);
        for (int d = c; d < end; d += LANES) {
            const v8i b1 = *(const v8i *)(x1 + d), b2 = *(const v8i *)(x2 + d);
            /* Within a block, rotations by r and LANES - r pair the same lanes. */
            const int first = d == c ? 1 : 0, last = d == c ? LANES / 2 : LANES - 1;
            for (int r = first; r <= last; r++) {
                const v8i rot = (iota + r) & (LANES - 1);
                v8i eq = a1 == __builtin_shuffle(b1, rot);
                if (both)
                    eq &= a2 == __builtin_shuffle(b2, rot);
                hit |= eq;
            }
        }
    }
    return lanes(hit) != 0;
}

/* Whether two of the k padded points are bit-identical.  Most steps merge nothing, and
 * equal first coordinates are as rare, so they are looked for first at half the cost. */
AI int any_identical(const float *x1, const float *x2, int k)
{
    return any_equal(x1, x2, k, 0) && any_equal(x1, x2, k, 1);
}

/* Drop the points of the padded (x1, x2, m)[0:k] that are bit-identical to an earlier one,
 * adding their counts to it; keeps first occurrences in order and follows point 0 through
 * *c0.  Runs only where any_identical found a pair: at most n - 1 times per grid point.
 * First each point's first occurrence, by whole-block compares (a scalar scan branches
 * unpredictably), into idx; then the compaction, which turns idx into new places. */
AI int merge(float *x1, float *x2, float *m, int *idx, int k, int *c0)
{
    for (int i = 0; i < k; i++) {
        const v8i p1 = isplat((int32_t)bits(x1[i])), p2 = isplat((int32_t)bits(x2[i]));
        for (int c = 0;; c += LANES) { /* ends by block i / LANES: point i is itself */
            const int hit = lanes((*(const v8i *)(x1 + c) == p1) & (*(const v8i *)(x2 + c) == p2));
            if (hit) {
                idx[i] = c + __builtin_ctz((unsigned)hit);
                break;
            }
        }
    }
    int kept = 0;
    for (int i = 0; i < k; i++) {
        if (idx[i] == i) {
            /* Only after a merge: scalar stores into what the next step loads as vectors
             * would stall its loads (no store-to-load forwarding). */
            if (kept != i) {
                x1[kept] = x1[i];
                x2[kept] = x2[i];
                m[kept] = m[i];
            }
            idx[i] = kept++;
        } else {
            idx[i] = idx[idx[i]];
            m[idx[i]] += m[i];
        }
    }
    *c0 = idx[*c0];
    return kept;
}

/* The reference's label: max_i |x_i1 - x_11| < threshold, written so a NaN gives 0 as
 * torch's NaN-propagating max does. */
AI uint8_t label(const float *x1, int k, int c0, float threshold)
{
    for (int j = 0; j < k; j++)
        if (!(fabsf(x1[j] - x1[c0]) < threshold))
            return 0;
    return 1;
}

/* Δ = max_i |x_i1 - x_11|, NaN when any difference is NaN (torch's max). */
AI float spread(const float *x1, int k, int c0)
{
    float d = 0.0f;
    for (int j = 0; j < k; j++) {
        const float e = fabsf(x1[j] - x1[c0]);
        if (!(e <= d))
            d = e; /* a NaN sticks: no later e compares above it */
        if (d != d)
            break;
    }
    return d;
}

/* Writes grid point g's label and, when asked, its speed (generator.dynamics): s is the
 * first step of the synchronised run that reaches step T, sum the spreads of steps 0..T. */
AI void store(const Job *J, Py_ssize_t g, const float *x1, int k, int c0, int s, double sum)
{
    const uint8_t l = label(x1, k, c0, J->threshold);
    J->out[g] = l;
    if (J->speed)
        J->speed[g] = l ? (float)(J->iterations + 1 - s)
                        : -(float)(sum / (J->iterations + 1));
}

/* s and sum at step T of an orbit that, from step t on, cycles through its last p states:
 * spreads[j] is the spread of the state j steps before t (j < p).  s becomes the last step in
 * (t, T] whose state is not synchronised, plus one (if there is one); sum gains the spreads
 * of steps t + 1..T. */
AI void cycle_rest(const Job *J, int t, int p, const float *spreads, int *s, double *sum)
{
    const int T = J->iterations;
    for (int u = T; u > t && u > T - p; u--)
        if (!(spreads[((t - u) % p + p) % p] < J->threshold)) {
            *s = u + 1;
            break;
        }
    /* Step t + i is the state (p - i % p) % p steps before t. */
    double cycle = 0.0, part = 0.0;
    for (int j = 0; j < p; j++)
        cycle += spreads[j];
    for (int i = 1; i <= (T - t) % p; i++)
        part += spreads[p - i];
    *sum += (double)((T - t) / p) * cycle + part;
}

/* One step of the map on the current state's k distinct points, into y1, y2. */
AI void step(const Job *J, Work *S, float *y1, float *y2)
{
    const float *wq = J->wq, *wv = J->wv;
    const float *x1 = S->x1[S->now], *x2 = S->x2[S->now], *m = S->m;
    const int k = S->ks[S->now], nb = (k + LANES - 1) / LANES;
    for (int c = 0; c < nb * LANES; c += LANES) {
        v8f p1 = *(const v8f *)(x1 + c), p2 = *(const v8f *)(x2 + c);
        v8f mm = *(const v8f *)(m + c);
        *(v8f *)(S->ka + c) = p1 * S->a;
        *(v8f *)(S->kb + c) = p2 * S->b;
        *(v8f *)(S->mv1 + c) = mm * (p1 * wv[0] + p2 * wv[1]);
        *(v8f *)(S->mv2 + c) = mm * (p1 * wv[2] + p2 * wv[3]);
    }
    const float *ka = S->ka, *kb = S->kb, *mv1 = S->mv1, *mv2 = S->mv2;
    v8f *score = S->score;
    for (int c = 0; c < nb * LANES; c += LANES) {
        v8f p1 = *(const v8f *)(x1 + c), p2 = *(const v8f *)(x2 + c);
        v8f q1 = p1 * wq[0] + p2 * wq[1];
        v8f q2 = p1 * wq[2] + p2 * wq[3];
        v8f mx = vsplat(-INFINITY);
        if (!S->unshifted)
            for (int j = 0; j < k; j++) {
                score[j] = q1 * ka[j] + q2 * kb[j];
                mx = vmax(mx, score[j]);
            }
        v8f sw = vsplat(0.0f), s1 = vsplat(0.0f), s2 = vsplat(0.0f);
        for (int j = 0; j < k; j++) { /* unswitched by the compiler */
            v8f e = S->unshifted ? vexp2(q1 * ka[j] + q2 * kb[j]) : vexp2_below(score[j], mx);
            sw += e * m[j];
            s1 += e * mv1[j];
            s2 += e * mv2[j];
        }
        v8f u1 = s1 / sw, u2 = s2 / sw, norm;
        v8f sq = u1 * u1 + u2 * u2;
        for (int l = 0; l < LANES; l++)
            norm[l] = sqrtf(sq[l]);
        norm += 1e-8f;
        *(v8f *)(y1 + c) = u1 / norm;
        *(v8f *)(y2 + c) = u2 / norm;
    }
}

AI uint32_t print(const float *x1, const float *x2)
{
    return bits(x1[0]) * 0x9E3779B1u ^ bits(x2[0]);
}

AI int same_state(const Work *S, int u, int v)
{
    const int k = S->ks[u];
    if (k != S->ks[v] || S->print[u] != S->print[v])
        return 0;
    for (int i = 0; i < k; i++)
        if (bits(S->x1[u][i]) != bits(S->x1[v][i]) || bits(S->x2[u][i]) != bits(S->x2[v][i]))
            return 0;
    return 1;
}

AI void finish(const Job *J, Work *S, int state)
{
    store(J, S->g, S->x1[state], S->ks[state], S->c0, S->s, S->sum);
    S->g = -1;
}

/* After a step to state t: its spread joins the sum, and a state that is not synchronised
 * restarts the run at t + 1. */
AI void track(const Job *J, Work *S)
{
    if (!J->speed)
        return;
    const float d = spread(S->x1[S->now], S->ks[S->now], S->c0);
    S->sum += d;
    if (!(d < J->threshold))
        S->s = S->t + 1;
}

/* Whether grid point (a, b) may skip the softmax's row maximum: its scores are
 * (W_Q x_i) . (a x_i1, b x_i2) in units of log2(e), within |W_Q|_F max(|a|, |b|) |x|^2, and
 * |x| <= 1 after the first step.  Within +-64, exp2 of a score and its products with the
 * counts (< 2^24) and values (|W_V|_F <= 2^30) stay far inside float range, and the skipped
 * subtraction only changes rounding.  NaN or infinite inputs take the guarded path. */
AI int unshifted(const Job *J, float a, float b, const float *x1, const float *x2)
{
    float r2 = 1.0f;
    for (int i = 0; i < J->n; i++) {
        const float s = x1[i] * x1[i] + x2[i] * x2[i];
        r2 = s > r2 || s != s ? s : r2;
    }
    const float ab = fabsf(a) > fabsf(b) ? fabsf(a) : fabsf(b);
    return J->scaled_values && J->wq_norm * ab * r2 <= 64.0f;
}

/* Loads grid point g; finishes it at once if it needs no step. */
AI void begin(const Job *J, Work *S, Py_ssize_t g)
{
    const float *x0 = J->x0 + (J->shared ? 0 : g * (Py_ssize_t)J->n * 2);
    float *x1 = S->x1[0], *x2 = S->x2[0];
    for (int i = 0; i < J->n; i++) {
        x1[i] = x0[2 * i];
        x2[i] = x0[2 * i + 1];
        S->m[i] = 1.0f;
    }
    pad(x1, x2, J->n);
    S->g = g;
    S->a = J->ab[2 * g], S->b = J->ab[2 * g + 1];
    S->unshifted = unshifted(J, S->a, S->b, x1, x2);
    S->t = 0, S->c0 = 0, S->now = 0;
    S->ks[0] = any_identical(x1, x2, J->n) ? merge(x1, x2, S->m, S->idx, J->n, &S->c0) : J->n;
    S->print[0] = print(x1, x2);
    S->s = 0, S->sum = 0.0;
    track(J, S);
    if (J->iterations == 0 || S->ks[0] == 1)
        finish(J, S, 0);
}

/* One step, finishing the grid point when it is done: all steps taken, all points merged
 * into one, or the orbit periodic. */
AI void advance(const Job *J, Work *S)
{
    const int nxt = (S->now + 1) % HISTORY;
    float *y1 = S->x1[nxt], *y2 = S->x2[nxt];
    step(J, S, y1, y2);
    const int k = S->ks[S->now];
    pad(y1, y2, k);
    S->ks[nxt] = any_identical(y1, y2, k) ? merge(y1, y2, S->m, S->idx, k, &S->c0) : k;
    S->print[nxt] = print(y1, y2);
    S->now = nxt;
    S->t++;
    track(J, S);
    if (S->t == J->iterations || S->ks[nxt] == 1) {
        finish(J, S, nxt);
        return;
    }
    /* The state now equals the one p steps ago, hence (counts can only fall) with no merge
     * in between: the orbit cycles through the last p states, and the one at step T is
     * the state (T - t) mod p steps into the cycle, i.e. p - that many steps ago. */
    for (int p = 1; p <= PERIOD_MAX && p <= S->t; p++) {
        const int old = (nxt - p + HISTORY) % HISTORY;
        if (same_state(S, nxt, old)) {
            if (J->speed) {
                float spreads[PERIOD_MAX];
                for (int j = 0; j < p; j++) {
                    const int h = (nxt - j + HISTORY) % HISTORY;
                    spreads[j] = spread(S->x1[h], S->ks[h], S->c0);
                }
                cycle_rest(J, S->t, p, spreads, &S->s, &S->sum);
            }
            const int ahead = (J->iterations - S->t) % p;
            finish(J, S, ahead == 0 ? nxt : (nxt - p + ahead + HISTORY) % HISTORY);
            return;
        }
    }
}

/* Moves the general state of a grid point with two distinct points into free slot s. */
AI void pack_insert(Pack *P, int s, Work *S)
{
    v8f *x1 = &P->x1[P->now], *x2 = &P->x2[P->now];
    for (int i = 0; i < 2; i++) {
        (*x1)[2 * s + i] = S->x1[S->now][i];
        (*x2)[2 * s + i] = S->x2[S->now][i];
        P->m[2 * s + i] = S->m[i];
        P->a[2 * s + i] = S->a;
        P->b[2 * s + i] = S->b;
    }
    P->g[s] = S->g, P->t[s] = S->t, P->c0[s] = S->c0, P->s[s] = S->s, P->since[s] = 0;
    P->sum[s] = S->sum;
    S->g = -1;
}

AI void pack_finish(const Job *J, Pack *P, int s, int state)
{
    const float *x1 = (const float *)&P->x1[state] + 2 * s;
    store(J, P->g[s], x1, 2, P->c0[s], P->s[s], P->sum[s]);
    P->g[s] = -1;
}

/* One step of every occupied slot: the general step's arithmetic, lane for lane, with
 * key j of each slot broadcast to its two lanes; then the same finishing tests.  Returns
 * how many slots it freed. */
AI int pack_step(const Job *J, Pack *P)
{
    const float *wq = J->wq, *wv = J->wv;
    const v8i first = {0, 0, 2, 2, 4, 4, 6, 6}, second = {1, 1, 3, 3, 5, 5, 7, 7};
    const v8i other = {1, 0, 3, 2, 5, 4, 7, 6};
    const v8f x1 = P->x1[P->now], x2 = P->x2[P->now], m = P->m;
    const v8f ka = x1 * P->a, kb = x2 * P->b;
    const v8f mv1 = m * (x1 * wv[0] + x2 * wv[1]), mv2 = m * (x1 * wv[2] + x2 * wv[3]);
    const v8f q1 = x1 * wq[0] + x2 * wq[1], q2 = x1 * wq[2] + x2 * wq[3];
    const v8f s0 = q1 * __builtin_shuffle(ka, first) + q2 * __builtin_shuffle(kb, first);
    const v8f s1 = q1 * __builtin_shuffle(ka, second) + q2 * __builtin_shuffle(kb, second);
    const v8f mx = vmax(vmax(vsplat(-INFINITY), s0), s1);
    const v8f e0 = vexp2_below(s0, mx), e1 = vexp2_below(s1, mx);
    v8f sw = vsplat(0.0f), t1 = vsplat(0.0f), t2 = vsplat(0.0f);
    sw += e0 * __builtin_shuffle(m, first);
    t1 += e0 * __builtin_shuffle(mv1, first);
    t2 += e0 * __builtin_shuffle(mv2, first);
    sw += e1 * __builtin_shuffle(m, second);
    t1 += e1 * __builtin_shuffle(mv1, second);
    t2 += e1 * __builtin_shuffle(mv2, second);
    v8f u1 = t1 / sw, u2 = t2 / sw, norm;
    v8f sq = u1 * u1 + u2 * u2;
    for (int l = 0; l < LANES; l++)
        norm[l] = sqrtf(sq[l]);
    norm += 1e-8f;
    const v8f y1 = u1 / norm, y2 = u2 / norm;
    const int nxt = (P->now + 1) % HISTORY;
    P->x1[nxt] = y1, P->x2[nxt] = y2;
    P->now = nxt;

    const int merged = lanes(((v8i)y1 == (v8i)__builtin_shuffle(y1, other)) &
                             ((v8i)y2 == (v8i)__builtin_shuffle(y2, other)));
    /* Lanes whose slot is synchronised (its two points closer than the threshold). */
    /* Each slot's spread (in both its lanes) and whether it is synchronised. */
    const v8f gap = (v8f)((v8i)(y1 - __builtin_shuffle(y1, other)) & 0x7fffffff); /* |.| */
    const int synced = lanes(gap < J->threshold);
    int repeats[HISTORY];
    for (int p = 1; p <= PERIOD_MAX; p++) {
        const int old = (nxt - p + HISTORY) % HISTORY;
        repeats[p] = lanes(((v8i)y1 == (v8i)P->x1[old]) & ((v8i)y2 == (v8i)P->x2[old]));
    }
    int freed = 0;
    for (int s = 0; s < PACK; s++) {
        if (P->g[s] < 0)
            continue;
        const int both = 3 << (2 * s);
        P->t[s]++, P->since[s]++;
        if (J->speed) {
            P->sum[s] += gap[2 * s];
            if (!(synced & both))
                P->s[s] = P->t[s] + 1;
        }
        if (P->t[s] == J->iterations || (merged & both)) {
            pack_finish(J, P, s, nxt);
            freed++;
            continue;
        }
        for (int p = 1; p <= PERIOD_MAX && p <= P->since[s]; p++) {
            if ((repeats[p] & both) == both) {
                if (J->speed) {
                    float spreads[PERIOD_MAX];
                    for (int j = 0; j < p; j++) {
                        const float *h = (const float *)&P->x1[(nxt - j + HISTORY) % HISTORY];
                        spreads[j] = spread(h + 2 * s, 2, 0);
                    }
                    cycle_rest(J, P->t[s], p, spreads, &P->s[s], &P->sum[s]);
                }
                const int ahead = (J->iterations - P->t[s]) % p;
                pack_finish(J, P, s, ahead == 0 ? nxt : (nxt - p + ahead + HISTORY) % HISTORY);
                freed++;
                break;
            }
        }
    }
    return freed;
}

/* Grid points a thread claims at a time: few enough to balance the load (points differ
 * in cost a hundredfold), enough to keep the shared counter quiet. */
#define CHUNK 16

/* The next grid point for this thread, from its current chunk or a newly claimed one;
 * -1 when all are claimed. */
AI Py_ssize_t claim(Job *J, Py_ssize_t *next, Py_ssize_t *end)
{
    if (*next == *end) {
        Py_ssize_t lo = (Py_ssize_t)atomic_fetch_add(&J->next, CHUNK);
        if (lo >= J->G)
            return -1;
        *next = lo;
        *end = lo + CHUNK < J->G ? lo + CHUNK : J->G;
    }
    return (*next)++;
}

/* Each grid point runs in the general state until it is down to two distinct points, then
 * in a pack slot; the pack steps whenever its slots are full or no grid point is left. */
AI void run_body(Job *J, Work *W, Pack *P)
{
    Py_ssize_t next = 0, end = 0, g;
    int busy = 0;
    for (;;) {
        for (int s = 0; s < PACK; s++)
            while (P->g[s] < 0 && (g = claim(J, &next, &end)) >= 0) {
                for (begin(J, W, g); W->g >= 0 && W->ks[W->now] > 2;)
                    advance(J, W);
                if (W->g >= 0) {
                    pack_insert(P, s, W);
                    busy++;
                }
            }
        if (busy == 0)
            return;
        busy -= pack_step(J, P);
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void run_avx2(Job *J, Work *W, Pack *P)
{
    run_body(J, W, P);
}
#endif
static void run_base(Job *J, Work *W, Pack *P) { run_body(J, W, P); }

static void (*run_best)(Job *, Work *, Pack *) = run_base;

static void *worker(void *arg)
{
    Job *J = arg;
    const size_t np = (size_t)(J->n + LANES - 1) / LANES * LANES; /* whole vectors */
    /* 2 * HISTORY state columns, 5 more columns, n score vectors, merge's indices. */
    const size_t floats = (2 * HISTORY + 5) * np + (size_t)J->n * LANES + np;
    Work W;
    float *f = W.block = aligned_alloc(32, floats * sizeof(float));
    if (!f) {
        atomic_store(&J->failed, 1);
        return NULL;
    }
    /* Lanes past k are computed as padding rows and never read back (pad() marks those of
     * the states); zeros leave nothing undefined. */
    memset(f, 0, floats * sizeof(float));
    for (int h = 0; h < HISTORY; h++, f += 2 * np) {
        W.x1[h] = f;
        W.x2[h] = f + np;
    }
    W.m = f, W.ka = f + np, W.kb = f + 2 * np, W.mv1 = f + 3 * np, W.mv2 = f + 4 * np;
    W.score = (v8f *)(f + 5 * np);
    W.idx = (int *)(f + 5 * np + (size_t)J->n * LANES);
    /* Free slots step too: zeros with unit counts keep their lanes finite. */
    Pack P = {.m = vsplat(1.0f), .now = 0};
    for (int s = 0; s < PACK; s++)
        P.g[s] = -1;
    run_best(J, &W, &P);
    free(W.block);
    return NULL;
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t nbytes,
                      const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (view->len != nbytes) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", name, nbytes,
                     view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *landscape(PyObject *self, PyObject *args)
{
    PyObject *o_wq, *o_wv, *o_x0, *o_ab, *o_out, *o_speed;
    Py_ssize_t G;
    int n, shared, iterations, threads;
    float threshold;
    if (!PyArg_ParseTuple(args, "OOOOOOnipifi", &o_wq, &o_wv, &o_x0, &o_ab, &o_out, &o_speed,
                          &G, &n, &shared, &iterations, &threshold, &threads))
        return NULL;
    /* n <= 2^24: multiplicities are float32 counts and must stay exact. */
    if (G < 0 || n < 1 || n > (1 << 24) || iterations < 0 || threads < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "need G >= 0, 1 <= n <= 2^24, iterations >= 0, threads >= 1");
        return NULL;
    }
    Py_buffer b_wq, b_wv, b_x0, b_ab, b_out, b_speed = {.buf = NULL};
    Py_ssize_t x0_rows = shared ? 1 : G;
    if (get_buffer(o_wq, &b_wq, 0, 4 * sizeof(float), "wq") < 0)
        return NULL;
    if (get_buffer(o_wv, &b_wv, 0, 4 * sizeof(float), "wv") < 0)
        goto fail_wv;
    if (get_buffer(o_x0, &b_x0, 0, x0_rows * n * 2 * (Py_ssize_t)sizeof(float), "x0") < 0)
        goto fail_x0;
    if (get_buffer(o_ab, &b_ab, 0, G * 2 * (Py_ssize_t)sizeof(float), "ab") < 0)
        goto fail_ab;
    if (get_buffer(o_out, &b_out, 1, G, "out") < 0)
        goto fail_out;
    if (o_speed != Py_None &&
        get_buffer(o_speed, &b_speed, 1, G * (Py_ssize_t)sizeof(float), "speed") < 0)
        goto fail_speed;

    Job J = {.x0 = b_x0.buf, .ab = b_ab.buf, .out = b_out.buf, .speed = b_speed.buf,
             .G = G, .n = n, .shared = shared, .iterations = iterations, .threshold = threshold};
    memcpy(J.wq, b_wq.buf, sizeof J.wq);
    for (int i = 0; i < 4; i++)
        J.wq[i] *= 1.44269504088896341f; /* scores in units of log2(e), for vexp2 */
    memcpy(J.wv, b_wv.buf, sizeof J.wv);
    float q = 0.0f, v = 0.0f;
    for (int i = 0; i < 4; i++) {
        q += J.wq[i] * J.wq[i];
        v += J.wv[i] * J.wv[i];
    }
    J.wq_norm = sqrtf(q), J.scaled_values = v <= 0x1p60f;
    atomic_init(&J.next, 0);
    atomic_init(&J.failed, 0);
    Py_ssize_t chunks = (G + CHUNK - 1) / CHUNK;
    if (threads > chunks)
        threads = chunks > 0 ? (int)chunks : 1;

    Py_BEGIN_ALLOW_THREADS
    pthread_t tid[threads];
    int started = 0;
    for (int i = 1; i < threads; i++, started++)
        if (pthread_create(&tid[started], NULL, worker, &J) != 0)
            break; /* fewer threads still finish the job: the caller's thread runs too */
    worker(&J);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    Py_END_ALLOW_THREADS

    if (atomic_load(&J.failed) && atomic_load(&J.next) < G)
        PyErr_NoMemory();
    if (b_speed.buf)
        PyBuffer_Release(&b_speed);
fail_speed:
    PyBuffer_Release(&b_out);
fail_out:
    PyBuffer_Release(&b_ab);
fail_ab:
    PyBuffer_Release(&b_x0);
fail_x0:
    PyBuffer_Release(&b_wv);
fail_wv:
    PyBuffer_Release(&b_wq);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *isa(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(run_best == run_base ? "baseline" : "avx2+fma");
}

static PyMethodDef methods[] = {
    {"landscape", landscape, METH_VARARGS,
     "landscape(wq, wv, x0, ab, out, speed, G, n, shared, iterations, threshold, threads)\n"
     "Buffers: C-contiguous float32 wq (4), wv (4), x0 ((1 if shared else G) * n * 2),\n"
     "ab (G * 2); out: writable bytes (G), set to the 0/1 labels; speed: None or writable\n"
     "float32 (G), set to generator.dynamics' speed field."},
    {"isa", isa, METH_NOARGS, "The instruction set the kernel dispatched to on this CPU."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cpu", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        run_best = run_avx2;
#endif
    return PyModule_Create(&module);
}
