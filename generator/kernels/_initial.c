/* X(0) on the CPU, fast: the normals of the emulated CUDA stream and Appendix A's
 * normalisation of its rows.  generator/rng.py is the specification (array operations,
 * which compute the same numbers slowly); this module computes them bit for bit.
 *
 * Each element of a draw is a cuRAND Box-Muller value of one Philox4x32-10 word pair:
 *     u = f32(f32(w0) 2^-32 + 2^-33),  radius = f32(sqrt(-2 f32(log u)))
 *     v = f32(f32(w1) C + C/2),  turns = v * f32(1/2pi) truncated to float32,
 *     angle = turns * 2pi,  value = f32(f32(sin angle) radius)  (or cos)
 * with log, sin and cos of doubles (numpy's, which are the C library's).  The three
 * transcendental functions cost most; here they are polynomials on 4 lanes, within a few
 * ulp of the C library.  Only the float32 rounding of their results matters, and it can
 * differ from the library's only where a result lies within that error of a float32
 * rounding midpoint: such lanes (a few in 10^7) are recomputed by the library itself.
 * The error bounds were measured over every float32 input the draw can produce.
 *
 * Built with -ffp-contract=off (setup.py): a fused multiply-add would skip the rounding of
 * angle = turns * 2pi, which the specification performs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
typedef uint64_t v4q __attribute__((vector_size(32)));
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));

/* Threads of the emulated launch grid computed together by one worker. */
#define BLOCK 512

/* Distance, in ulp of the double result, beyond which a polynomial result is trusted to round
 * to float32 as the library's does.  Measured against glibc over every float32 u in
 * [2^-34, 1] and turns in [2^-34, 1] (2.9e8 of each), the polynomials are within 1 ulp (log),
 * 7 (sin) and 10 (cos) of it; a lane is recomputed 6 times in 10^7. */
#define TRUST 64

AI v4d splat(double s) { return (v4d){s, s, s, s}; }

/* float32 rounding (to nearest, ties to even), kept in double lanes: the low 29 fraction bits
 * rounded off in integer arithmetic, a carry moving into the exponent as it should.  Exact for
 * values whose float32 rounding is a normal number or zero, as all here are; GCC's vector
 * conversions to float32 and back go through memory. */
AI v4d f32(v4d x)
{
    const v4q b = (v4q)x;
    return (v4d)((b + 0x0FFFFFFF + ((b >> 29) & 1)) & ~(uint64_t)0x1FFFFFFF);
}

/* Lanes whose float32 rounding the polynomial might get wrong: within TRUST ulp of a
 * midpoint between two float32 values (low 29 fraction bits near 2^28). */
AI v4l near_midpoint(v4d x)
{
    const v4l low = ((v4l)x & 0x1FFFFFFF) - 0x10000000;
    return (low <= TRUST) & (low >= -TRUST);
}

/* log x for x in [2^-33, 1]: fdlibm's e_log.c on 4 lanes. */
AI v4d vlog(v4d x)
{
    const v4l bits = (v4l)x;
    v4l e = (v4l)((v4q)bits >> 52) - 1023; /* x > 0; unsigned shifts are SIMD on AVX2 */
    v4d m = (v4d)((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000); /* [1, 2) */
    const v4l big = m > splat(0x1.6a09e667f3bcdp+0);                 /* m > sqrt(2) */
    m = (v4d)(((v4l)(m * 0.5) & big) | ((v4l)m & ~big));
    e -= big; /* big is -1 where true */
    const v4d k = (v4d)(e + 0x4338000000000000) - 0x1.8p52; /* e as a double */
    const v4d f = m - 1.0;
    const v4d hfsq = 0.5 * f * f;
    const v4d s = f / (2.0 + f);
    const v4d z = s * s, w = z * z;
    const v4d t1 = w * (3.999999999940941908e-01 +
                        w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    const v4d t2 = z * (6.666666666666735130e-01 +
                        w * (2.857142874366239149e-01 +
                             w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    const v4d R = t2 + t1;
    return k * 6.93147180369123816490e-01 -
           ((hfsq - (s * (hfsq + R) + k * 1.90821492927058770002e-10)) - f);
}

/* sin x and cos x for x in (0, 2pi]: reduction by pi/2 in three 33-bit parts (exact for
 * these x), fdlibm's k_sin.c and k_cos.c polynomials, then the quadrant. */
AI void vsincos(v4d x, v4d *sin_x, v4d *cos_x)
{
    const v4d shifted = x * 0x1.45f306dc9c883p-1 + 0x1.8p52; /* round(x * 2/pi) */
    const v4l q = (v4l)shifted;
    const v4d k = shifted - 0x1.8p52;
    const v4d r = ((x - k * 0x1.921fb544p+0) - k * 0x1.0b4611a6p-34) - k * 0x1.3198a2ep-69;
    const v4d z = r * r;
    const v4d ps = r + r * z * (-1.66666666666666324348e-01 +
                   z * (8.33333333332248946124e-03 +
                   z * (-1.98412698298579493134e-04 +
                   z * (2.75573137070700676789e-06 +
                   z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))));
    const v4d hz = 0.5 * z, one_hz = 1.0 - hz;
    const v4d pc = one_hz + (((1.0 - one_hz) - hz) +
                   z * z * (4.16666666666666019037e-02 +
                   z * (-1.38888888888741095749e-03 +
                   z * (2.48015872894767294178e-05 +
                   z * (-2.75573143513906633035e-07 +
                   z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11))))));
    const v4l swap = (q & 1) != 0;
    const v4d s = (v4d)(((v4l)pc & swap) | ((v4l)ps & ~swap));
    const v4d c = (v4d)(((v4l)ps & swap) | ((v4l)pc & ~swap));
    *sin_x = (v4d)((v4l)s ^ ((q & 2) << 62));
    *cos_x = (v4d)((v4l)c ^ (((q + 1) & 2) << 62));
}

/* (double)(float)w of 32-bit words. */
AI v4d word_f32(v4u w)
{
    const v4l wide = __builtin_convertvector(w, v4l);
    return f32((v4d)(wide | 0x4330000000000000) - 0x1p52);
}

/* cuRAND's _curand_box_muller of 4 word pairs as rng._box_muller computes it. */
AI void box_muller(v4u u_word, v4u v_word, float *sin_out, float *cos_out)
{
    const double step = 0x1p-32 * 0x1.921fb6p+2; /* 2^-32 f32(2 pi) */
    const v4d u = f32(word_f32(u_word) * 0x1p-32 + 0x1p-33);
    const v4d v = f32(word_f32(v_word) * step + step / 2);
    const v4d turns = (v4d)((v4l)(v * 0x1.45f306p-3) & ~(int64_t)0x1FFFFFFF); /* toward 0 */
    const v4d angle = turns * 0x1.921fb54442d18p+2;
    v4d lg = vlog(u), s, c;
    vsincos(angle, &s, &c);
    const v4l doubt = near_midpoint(lg) | near_midpoint(s) | near_midpoint(c);
    if (__builtin_expect(doubt[0] | doubt[1] | doubt[2] | doubt[3], 0)) {
        for (int l = 0; l < 4; l++) {
            if (doubt[l]) {
                lg[l] = log(u[l]);
                s[l] = sin(angle[l]);
                c[l] = cos(angle[l]);
            }
        }
    }
    v4d radius = f32(lg) * -2.0;
    for (int l = 0; l < 4; l++)
        radius[l] = __builtin_sqrt(radius[l]);
    radius = f32(radius);
    *(v4f *)sin_out = __builtin_convertvector(f32(s) * radius, v4f);
    *(v4f *)cos_out = __builtin_convertvector(f32(c) * radius, v4f);
}

/* Philox4x32-10, as cuRAND computes it, of counters (call, thread t0 + i) under key (k0, k1)
 * for i < n: word k of thread t0 + i in w[k][i].  n is rounded up to a multiple of 8. */
typedef void PhiloxBlock(uint64_t call, uint32_t t0, int n, uint32_t k0, uint32_t k1,
                         uint32_t w[4][BLOCK]);

static void philox_base(uint64_t call, uint32_t t0, int n, uint32_t k0, uint32_t k1,
                        uint32_t w[4][BLOCK])
{
    for (int i = 0; i < n; i++) {
        uint32_t c0 = (uint32_t)call, c1 = (uint32_t)(call >> 32), c2 = t0 + i, c3 = 0;
        uint32_t a = k0, b = k1;
        for (int r = 0; r < 10; r++) {
            const uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
            const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ a, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ b;
            c1 = (uint32_t)p1, c3 = (uint32_t)p0, c0 = n0, c2 = n2;
            a += 0x9E3779B9u, b += 0xBB67AE85u;
        }
        w[0][i] = c0, w[1][i] = c1, w[2][i] = c2, w[3][i] = c3;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The 32 x 32 -> 64-bit products of 8 lanes by m, as their low and high words. */
__attribute__((target("avx2"))) static inline void mul_wide(__m256i x, __m256i m, __m256i *lo,
                                                            __m256i *hi)
{
    const __m256i even = _mm256_mul_epu32(x, m);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* philox_base on 8 threads at a time: GCC vectorises the scalar loop poorly. */
__attribute__((target("avx2"))) static void philox_avx2(uint64_t call, uint32_t t0, int n,
                                                        uint32_t k0, uint32_t k1,
                                                        uint32_t w[4][BLOCK])
{
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u);
    const __m256i m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int i = 0; i < n; i += 8) {
        __m256i c0 = _mm256_set1_epi32((int)(uint32_t)call);
        __m256i c1 = _mm256_set1_epi32((int)(uint32_t)(call >> 32));
        __m256i c2 = _mm256_add_epi32(_mm256_set1_epi32((int)(t0 + (uint32_t)i)), iota);
        __m256i c3 = _mm256_setzero_si256(), lo0, hi0, lo1, hi1;
        uint32_t a = k0, b = k1;
        for (int r = 0; r < 10; r++) {
            mul_wide(c0, m0, &lo0, &hi0);
            mul_wide(c2, m1, &lo1, &hi1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)a));
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)b));
            c1 = lo1, c3 = lo0;
            a += 0x9E3779B9u, b += 0xBB67AE85u;
        }
        _mm256_store_si256((__m256i *)&w[0][i], c0);
        _mm256_store_si256((__m256i *)&w[1][i], c1);
        _mm256_store_si256((__m256i *)&w[2][i], c2);
        _mm256_store_si256((__m256i *)&w[3][i], c3);
    }
}
#endif

typedef struct {
    float *out;              /* the slices' elements, one slice after another */
    const int64_t *starts;   /* slice i: elements [starts[i], starts[i] + length) */
    int64_t length, stride;  /* stride: threads in the launch grid */
    uint64_t seed, call0;    /* call0: the launch's Philox offset / 4 */
    int64_t rounds, blocks_per_round, items; /* rounds: most a slice touches */
    atomic_llong next;
} NormalJob;

/* curand_normal4 of call `call` of grid threads [t0, t0 + n): component k of thread t0 + i
 * in out[k][i], for the components of the pairs in `pairs` (bit 0: components 0 and 1, bit
 * 1: components 2 and 3; each pair is one Box-Muller transform). */
AI void normal4_block(const NormalJob *J, PhiloxBlock *philox, uint64_t call, int64_t t0,
                      int n, int pairs, float out[4][BLOCK])
{
    uint32_t w[4][BLOCK] __attribute__((aligned(32)));
    n = (n + 7) & ~7;
    philox(call, (uint32_t)t0, n, (uint32_t)J->seed, (uint32_t)(J->seed >> 32), w);
    for (int i = 0; i < n; i += 4) {
        if (pairs & 1)
            box_muller(*(v4u *)&w[0][i], *(v4u *)&w[1][i], &out[0][i], &out[1][i]);
        if (pairs & 2)
            box_muller(*(v4u *)&w[2][i], *(v4u *)&w[3][i], &out[2][i], &out[3][i]);
    }
}

/* Thread t's call c writes component k to element c * 4 * stride + k * stride + t.  Of each
 * block of threads only those writing an element of a slice are computed, and of their values
 * only the pairs holding one: a slice narrower than a round (an explorer tile's column of
 * grid points) costs about its own length, not the round's.  The work items are (slice,
 * round, block); those of rounds a slice does not reach are skipped. */
AI void normals_body(NormalJob *J, PhiloxBlock *philox)
{
    float values[4][BLOCK] __attribute__((aligned(32)));
    const int64_t s = J->stride, row = 4 * s;
    for (;;) {
        const int64_t item = atomic_fetch_add(&J->next, 1);
        if (item >= J->items)
            return;
        const int64_t per_slice = J->rounds * J->blocks_per_round, i = item / per_slice;
        const int64_t a = J->starts[i], b = a + J->length;
        float *out = J->out + i * J->length;
        const int64_t c = a / row + item % per_slice / J->blocks_per_round;
        const int64_t b0 = item % J->blocks_per_round * BLOCK, b1 = b0 + BLOCK < s ? b0 + BLOCK : s;
        int64_t first[4], last[4], t0 = b1, t1 = b0;
        int pairs = 0;
        for (int k = 0; k < 4; k++) {
            const int64_t base = c * row + k * s; /* element of thread 0 */
            first[k] = b0 > a - base ? b0 : a - base;
            last[k] = b1 < b - base ? b1 : b - base;
            if (first[k] < last[k]) {
                t0 = first[k] < t0 ? first[k] : t0;
                t1 = last[k] > t1 ? last[k] : t1;
                pairs |= 1 << (k / 2);
            }
        }
        if (!pairs)
            continue;
        normal4_block(J, philox, J->call0 + (uint64_t)c, t0, (int)(t1 - t0), pairs, values);
        for (int k = 0; k < 4; k++)
            if (first[k] < last[k])
                memcpy(out + c * row + k * s + first[k] - a, &values[k][first[k] - t0],
                       (size_t)(last[k] - first[k]) * sizeof(float));
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void normals_avx2(NormalJob *J)
{
    normals_body(J, philox_avx2);
}
#endif
static void normals_base(NormalJob *J) { normals_body(J, philox_base); }

typedef struct {
    float *x;
    int64_t rows;
    int threads;
    atomic_int next; /* next slice of rows */
} UnitJob;

/* Appendix A's x / x.norm(dim=-1) as torch computes it on the CPU: the norm of (x, y) is
 * sqrtf(fmaf(y, y, x * x)), in float32. */
AI void unit_body(UnitJob *J)
{
    for (;;) {
        const int64_t i = atomic_fetch_add(&J->next, 1);
        if (i >= J->threads)
            return;
        float *x = J->x;
        const int64_t lo = J->rows * i / J->threads, hi = J->rows * (i + 1) / J->threads;
        for (int64_t r = lo; r < hi; r++) {
            const float a = x[2 * r], b = x[2 * r + 1];
            const float norm = sqrtf(fmaf(b, b, a * a));
            x[2 * r] = a / norm;
            x[2 * r + 1] = b / norm;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void unit_avx2(UnitJob *J) { unit_body(J); }
#endif
static void unit_base(UnitJob *J) { unit_body(J); }

static void (*normals_best)(NormalJob *) = normals_base;
static void (*unit_best)(UnitJob *) = unit_base;

static void *normals_worker(void *job)
{
    normals_best(job);
    return NULL;
}

static void *unit_worker(void *job)
{
    unit_best(job);
    return NULL;
}

/* Runs worker(job) on `threads` threads, the caller's included, without the GIL. */
static void run_threads(void *(*worker)(void *), void *job, int threads)
{
    Py_BEGIN_ALLOW_THREADS
    pthread_t tid[threads];
    int started = 0;
    for (int i = 1; i < threads; i++, started++)
        if (pthread_create(&tid[started], NULL, worker, job) != 0)
            break; /* fewer threads still finish the job: the caller's thread runs too */
    worker(job);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    Py_END_ALLOW_THREADS
}

static PyObject *normals(PyObject *self, PyObject *args)
{
    PyObject *o_out, *o_starts;
    unsigned long long seed, call0;
    long long stride, length;
    int threads;
    if (!PyArg_ParseTuple(args, "OKKLOLi", &o_out, &seed, &call0, &stride, &o_starts, &length,
                          &threads))
        return NULL;
    if (stride < 1 || stride > 0xFFFFFFFFLL || length < 0 || threads < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "need 1 <= stride < 2^32, length >= 0 and threads >= 1");
        return NULL;
    }
    Py_buffer out, starts;
    if (PyObject_GetBuffer(o_starts, &starts, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const int64_t slices = starts.len / (Py_ssize_t)sizeof(int64_t);
    int ok = starts.itemsize == sizeof(int64_t) && strchr("lq", starts.format[0]) &&
             !starts.format[1];
    for (int64_t i = 0; ok && i < slices; i++)
        ok = ((const int64_t *)starts.buf)[i] >= 0;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "starts: need a buffer of int64 values >= 0");
        PyBuffer_Release(&starts);
        return NULL;
    }
    if (PyObject_GetBuffer(o_out, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&starts);
        return NULL;
    }
    if (out.len != (Py_ssize_t)(slices * length * (long long)sizeof(float))) {
        PyErr_Format(PyExc_ValueError, "out: expected %lld bytes, got %zd",
                     slices * length * (long long)sizeof(float), out.len);
    } else if (length > 0 && slices > 0) {
        NormalJob J = {.out = out.buf, .starts = starts.buf, .length = length,
                       .stride = stride, .seed = seed, .call0 = call0};
        J.rounds = (length - 1) / (4 * stride) + 2; /* a slice not aligned to rounds: one more */
        J.blocks_per_round = (stride + BLOCK - 1) / BLOCK;
        J.items = slices * J.rounds * J.blocks_per_round;
        atomic_init(&J.next, 0);
        run_threads(normals_worker, &J, J.items < threads ? (int)J.items : threads);
    }
    PyBuffer_Release(&out);
    PyBuffer_Release(&starts);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *unit_rows(PyObject *self, PyObject *args)
{
    PyObject *o_x;
    int threads;
    if (!PyArg_ParseTuple(args, "Oi", &o_x, &threads))
        return NULL;
    if (threads < 1) {
        PyErr_SetString(PyExc_ValueError, "need threads >= 1");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(o_x, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return NULL;
    if (view.len % (2 * sizeof(float))) {
        PyErr_SetString(PyExc_ValueError, "x: need whole rows of 2 float32 values");
        PyBuffer_Release(&view);
        return NULL;
    }
    UnitJob J = {.x = view.buf, .rows = view.len / (2 * sizeof(float))};
    /* Below about a million rows a second thread costs more than it saves. */
    J.threads = J.rows >> 20 < threads ? (int)(J.rows >> 20) + 1 : threads;
    atomic_init(&J.next, 0);
    run_threads(unit_worker, &J, J.threads);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"normals", normals, METH_VARARGS,
     "normals(out, seed, call0, stride, starts, length, threads)\n"
     "Elements [s, s + length) for each s of the int64 buffer `starts`, one slice after\n"
     "another, of one emulated CUDA randn launch (Philox offset 4 * call0, `stride` threads)\n"
     "into `out`, a writable C-contiguous float32 buffer of len(starts) * length values."},
    {"unit_rows", unit_rows, METH_VARARGS,
     "unit_rows(x, threads)\nScales each row (pair) of the float32 buffer x to unit length, "
     "in place."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_initial", NULL, -1, methods};

PyMODINIT_FUNC PyInit__initial(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        normals_best = normals_avx2;
        unit_best = unit_avx2;
    }
#endif
    return PyModule_Create(&module);
}
