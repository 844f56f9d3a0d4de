/* The compiled core of the accuracy harness: Bernoulli bit-error processes over stored words, applied in place.
 *
 * What lives here is mechanism only (which bits fail, and XOR-ing them into float32 tensors through their stored
 * format); which data type gets which rate, and where in a training step it is read or written, is decided in
 * Python (archsim/accuracy/hooks.py, policy.py). docs/accuracy.md ("Sampling") gives the equations.
 *
 *  - Random numbers: xoshiro256** seeded through splitmix64 (Blackman & Vigna, "Scrambled linear pseudorandom
 *    number generators", ACM TOMS 47(4), 2021; Julia's default generator is its sibling xoshiro256++). A uniform
 *    is the top 53 bits of one draw times 2^-53, as NumPy's bit generators make their doubles.
 *  - A Bernoulli(p) process over a run of bits is drawn by geometric gaps: the number of good bits before the next
 *    failing one is floor(log U / log(1 - p)), U uniform in (0, 1] (Devroye, "Non-Uniform Random Variate
 *    Generation", 1986, ch. X.2), or above p = 5.4e-3 by Walker's alias method (see Geo below). The gap carries
 *    over from one call to the next (the process is memoryless), so a run of bits without a failure costs one
 *    comparison.
 *  - Directional (STT-MRAM) write errors: a bit that the write switches 0 -> 1 fails with p01, 1 -> 0 with p10,
 *    unchanged bits never. Sparse streams draw candidates at p_max = max(p01, p10) before the write and keep a
 *    switching candidate with p_dir / p_max (thinning, Lewis & Shedler 1979). Dense streams (many candidates per
 *    word) compare every word with the old contents and run one Bernoulli process per direction over the bits
 *    that switch in that direction, each from its own generator (the stream's, jumped ahead 2^128 and 2^129
 *    draws), in blocks (_bitflip_dense.h): by geometric gaps below 1/64 per switching bit, bit-parallel from there
 *    (BP_MIN: 64 Bernoulli bits a word, made by comparing random bits with the rate's binary digits). All of them
 *    give each switching bit exactly its direction's probability.
 *  - Stored formats: fp32 (the bits of the tensor), bf16 (round to nearest even on the upper half, like
 *    torch.bfloat16; NaN -> 0x7FC0), fp16 (IEEE binary16, round to nearest even, overflow to infinity, like
 *    torch.float16; NaN -> 0x7E00 with its sign) and int8 (two's complement q = clamp(rint(x / s), -128, 127),
 *    NaN -> 0, read back as q * s in float32). Only the words that receive a flip are encoded, flipped and
 *    decoded.
 *
 * Tensors are passed as (data pointer, number of float32 words) "segments": one tensor, or several laid end to end
 * in one bit space (the optimizer step's weights, gradients or state), each with its own int8 scale. The caller
 * guarantees contiguous float32 memory that outlives the call.
 *
 * Threads: a call over at least NOGIL_WORDS words works without the GIL (its scratch is allocated with
 * PyMem_Raw*), so that the harness can run another data type's stream on a second thread meanwhile
 * (_bitflip_worker.h, hooks.py). A stream or slot is used by one call at a time; a second call while one works
 * without the GIL raises RuntimeError instead of racing on its state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FP32 = 0, BF16 = 1, FP16 = 2, INT8 = 3, NFMT = 4 };
static const int FMT_SHIFT[NFMT] = {5, 4, 4, 3}; /* log2 of the word width */

/* ---- stored formats: float32 bit pattern <-> stored word ------------------------------------------------------ */
static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline uint32_t bf16_enc(uint32_t u) { /* one select, no branch: the dense pass vectorises it */
    uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16; /* no overflow for a non-NaN: at most 0xFF800000 + 0x8000 */
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : r;
}

static inline uint32_t fp16_enc(uint32_t u) {
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return sign | 0x7E00u;         /* NaN */
    if (a >= 0x477FF000u) return sign | 0x7C00u;        /* >= 65520 rounds to infinity (and infinity) */
    if (a >= 0x38800000u) {                             /* a normal half: rebias 127 -> 15, round 13 bits */
        uint32_t r = a - 0x38000000u;
        return sign | ((r + 0x0FFFu + ((r >> 13) & 1u)) >> 13);
    }
    if (a < 0x33000000u) return sign;                   /* below 2^-25 (2^-25 itself ties to 0) */
    uint32_t e = a >> 23, m = (a & 0x7FFFFFu) | 0x800000u, sh = 126u - e; /* a subnormal half: m 2^(e-150) */
    uint32_t q = m >> sh, rem = m & ((1u << sh) - 1u), half = 1u << (sh - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return sign | q;
}

static inline uint32_t fp16_dec(uint32_t h) {
    uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1Fu) return sign | 0x7F800000u | (m << 13) | (m ? 0x00400000u : 0u); /* NaN quieted, like torch */
    if (e) return sign | ((e + 112u) << 23) | (m << 13);
    if (!m) return sign;
    uint32_t sh = 0;
    while (!(m & 0x400u)) { m <<= 1; sh++; }
    return sign | ((113u - sh) << 23) | ((m & 0x3FFu) << 13);
}

static inline uint32_t int8_enc(uint32_t u, float s) {
    float q = rintf(u2f(u) / s);
    if (q != q) return 0u;
    if (q < -128.0f) q = -128.0f;
    if (q > 127.0f) q = 127.0f;
    return (uint32_t)(int32_t)q & 0xFFu;
}

static inline uint32_t int8_dec(uint32_t w, float s) {
    int32_t q = (int32_t)(w & 0xFFu);
    if (q >= 128) q -= 256;
    return f2u((float)q * s);
}

static inline uint32_t enc(uint32_t u, int fmt, float s) {
    switch (fmt) {
    case FP32: return u;
    case BF16: return bf16_enc(u);
    case FP16: return fp16_enc(u);
    default: return int8_enc(u, s);
    }
}

static inline uint32_t dec(uint32_t w, int fmt, float s) {
    switch (fmt) {
    case FP32: return w;
    case BF16: return w << 16;
    case FP16: return fp16_dec(w);
    default: return int8_dec(w, s);
    }
}

/* enc(dec(w)): the stored word w as the destination reads it back, stored again -- w itself but for a NaN, whose
 * payload (and, in bf16, sign) the encoders make canonical; what capture() keeps of a word that a write stored */
static inline uint32_t restored(uint32_t w, int fmt, float s) {
    switch (fmt) {
    case FP32: return w;
    case BF16: return bf16_enc(w << 16);
    case FP16: return (w & 0x7FFFu) > 0x7C00u ? (w & 0x8000u) | 0x7E00u : w;
    default: return int8_enc(int8_dec(w, s), s);
    }
}

/* the float32 pattern that storing `u` with the stored bits `mask` flipped reads back as */
static inline uint32_t flipped(uint32_t u, uint32_t mask, int fmt, float s) {
    return fmt == FP32 ? u ^ mask : dec(enc(u, fmt, s) ^ mask, fmt, s);
}

/* set bits of a 32-bit word, SWAR (Warren, "Hacker's Delight", 2nd ed., fig. 5-2): the portable build has no
 * popcnt instruction (libgcc's fallback is a call), and in this form, without the final multiply that GCC turns
 * into popcnt, a loop of them vectorises with AVX2, which has no vector popcount */
static inline __attribute__((always_inline)) int popc(uint32_t v) {
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    v += v >> 8;
    v += v >> 16;
    return (int)(v & 0x3Fu);
}

/* ---- random numbers ------------------------------------------------------------------------------------------- */
typedef struct { uint64_t s[4]; } Rng;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(Rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5u, 7) * 9u, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}

static void rng_seed(Rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        r->s[i] = z ^ (z >> 31);
    }
}

/* advance r by 2^128 draws: the jump polynomial of xoshiro256 (Blackman & Vigna's reference code), so that streams
 * split from one seed this way never overlap */
static void rng_jump(Rng *r) {
    static const uint64_t J[4] = {0x180ec6d33cfd0abau, 0xd5a61266f0c9392cu, 0xa9582618e03fc9aau, 0x39abdc4529b1661cu};
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (J[i] >> b & 1u)
                for (int k = 0; k < 4; k++) t[k] ^= r->s[k];
            rng_next(r);
        }
    memcpy(r->s, t, sizeof t);
}

static inline double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; } /* [0, 1) */

/* ---- bit-parallel Bernoulli words ----------------------------------------------------------------------------- *
 * 64 independent Bernoulli(p) bits at once. Bit b of a word compares its own uniform U = 0.u1 u2 u3 ... (u_i: bit b
 * of the i-th draw) with p = 0.d1 d2 d3 ... digit by digit, most significant first, and is 1 iff U < p: it is
 * decided at the first digit where u_i != d_i (1 where d_i = 1, u_i = 0; 0 where d_i = 0, u_i = 1), and a bit still
 * equal to p's digits after the last one has U >= p: 0. Each digit decides half of the bits left, so a word takes
 * log2(64) + 1.3 draws on average whatever p is. Exact for a p whose binary digits end within 64 places: every
 * double from 2^-11 up (Knuth & Yao, "The complexity of nonuniform random number generation", 1976, draw a
 * Bernoulli variate this way, one bit at a time; here 64 at a time and branch-free per digit).
 *
 * Words come four at a time from four xoshiro256** lanes (Rng4: each state word of the four lanes side by side,
 * so that the AVX2 builds step all four in one register per state word); every lane draws while any bit of the
 * four words is undecided, so every build gives the same words. Each lane is seeded through splitmix64 from one
 * draw of the direction's generator (the seeding Blackman & Vigna recommend for xoshiro states). */
typedef struct { uint64_t s[4][4]; } Rng4; /* s[j][k]: state word j of lane k */

static void rng4_seed(Rng4 *g, Rng *from) {
    for (int k = 0; k < 4; k++) {
        Rng t;
        rng_seed(&t, rng_next(from));
        for (int j = 0; j < 4; j++) g->s[j][k] = t.s[j];
    }
}

/* four Bernoulli words of p = dig * 2^-64 (dig = ~0: p = 1), the portable way */
static inline void bern4(Rng4 *g, uint64_t dig, uint64_t *out) {
    if (dig == ~UINT64_C(0)) { for (int k = 0; k < 4; k++) out[k] = ~UINT64_C(0); return; }
    uint64_t und[4], res[4];
    for (int k = 0; k < 4; k++) { und[k] = ~UINT64_C(0); res[k] = 0u; }
    for (int i = 63; i >= 0 && (und[0] | und[1] | und[2] | und[3]); i--) {
        const uint64_t m = UINT64_C(0) - ((dig >> i) & 1u);
        for (int k = 0; k < 4; k++) {
            uint64_t *s0 = &g->s[0][k], *s1 = &g->s[1][k], *s2 = &g->s[2][k], *s3 = &g->s[3][k];
            const uint64_t x = rotl(*s1 * 5u, 7) * 9u, t = *s1 << 17; /* rng_next on lane k */
            *s2 ^= *s0; *s3 ^= *s1; *s1 ^= *s2; *s0 ^= *s3; *s2 ^= t; *s3 = rotl(*s3, 45);
            res[k] |= und[k] & ~x & m; /* digit 1, drawn 0: U < p */
            und[k] &= ~(x ^ m);        /* still equal to p's digits */
        }
    }
    for (int k = 0; k < 4; k++) out[k] = res[k];
}

/* A dense stream's direction whose rate is at least this draws its failing bits bit-parallel (Bernoulli words over
 * the block's switching bits, deposited by pdep) instead of by geometric gaps: a block then costs the same whatever
 * the rate, where gaps cost a draw and a walk per failing bit (measured in docs/performance.md, "archsim 0.4.0");
 * a power of two above 2^-11, so that every rate it admits is exact. */
#define BP_MIN 0.015625

/* A gap past any run of bits (p = 0, or a gap beyond 4e18 bits at an astronomically small rate): sticky, never
 * counted down, so such a process never fails however many bits pass. */
#define NEVER INT64_C(4000000000000000000)

/* the gap left after `bits` more good bits */
static inline int64_t gap_after(int64_t gap, int64_t bits) { return gap >= NEVER ? NEVER : gap - bits; }
/* the next failing position after `pos`, or NEVER */
static inline int64_t next_pos(int64_t pos, int64_t gap) {
    return gap >= NEVER || pos >= NEVER - gap ? NEVER : pos + 1 + gap;
}

/* The geometric law of the good bits before the next failing one, P(G = k) = p (1 - p)^k. By inversion,
 * G = floor(log U / log(1 - p)), one logarithm a draw; at high rates (many draws, short gaps) by Walker's alias
 * method instead (Walker, ACM TOMS 3(3), 1977; Vose, IEEE TSE 17(9), 1991): one draw picks a bin of the table of
 * gaps 0..GEO_TAIL-1 and a tail bin of probability (1 - p)^GEO_TAIL, which adds GEO_TAIL and draws again (the law is
 * memoryless). The table's probabilities are kept to 2^-64, the inversion's to double rounding. */
#define GEO_BINS 256
#define GEO_TAIL (GEO_BINS - 1)
#define GEO_FRAC 56 /* bits of a draw below the bin index: the acceptance threshold's resolution */
/* the table pays from here: the tail bin below 1/4 (p > 5.4e-3), i.e. mostly one draw a gap */
#define GEO_TABLE_TAIL 0.25

typedef struct {
    double log_q;             /* log(1 - p): 0 never fails, -inf always */
    int table;
    uint64_t thr[GEO_BINS];   /* bin i keeps i when the draw's low GEO_FRAC bits are below thr[i], else alias[i] */
    uint8_t alias[GEO_BINS];
} Geo;

static void geo_init(Geo *g, double p) {
    g->log_q = p <= 0.0 ? 0.0 : p >= 1.0 ? -INFINITY : log1p(-p);
    g->table = p > 0.0 && p < 1.0 && exp(GEO_TAIL * g->log_q) < GEO_TABLE_TAIL;
    if (!g->table) return;
    double w[GEO_BINS];
    int small[GEO_BINS], large[GEO_BINS], ns = 0, nl = 0;
    for (int k = 0; k < GEO_TAIL; k++) w[k] = GEO_BINS * p * exp(k * g->log_q);
    w[GEO_TAIL] = GEO_BINS * exp(GEO_TAIL * g->log_q);
    for (int k = 0; k < GEO_BINS; k++) {
        if (w[k] < 1.0) small[ns++] = k; else large[nl++] = k;
    }
    while (ns && nl) { /* Vose: fill each small bin from a large one */
        int l = small[--ns], h = large[nl - 1];
        g->thr[l] = (uint64_t)ldexp(w[l], GEO_FRAC);
        g->alias[l] = (uint8_t)h;
        w[h] -= 1.0 - w[l];
        if (w[h] < 1.0) { nl--; small[ns++] = h; }
    }
    while (nl) { int h = large[--nl]; g->thr[h] = UINT64_C(1) << GEO_FRAC; g->alias[h] = (uint8_t)h; }
    while (ns) { int l = small[--ns]; g->thr[l] = UINT64_C(1) << GEO_FRAC; g->alias[l] = (uint8_t)l; } /* rounding */
}

/* the table's bin of a draw x: its top bits pick bin i, kept where the low bits fall below thr[i], else alias[i]
 * (selected by a mask: which of the two it is follows no pattern, so a branch would be mispredicted often) */
static inline unsigned geo_bin(const Geo *g, uint64_t x) {
    unsigned i = (unsigned)(x >> GEO_FRAC);
    unsigned keep = 0u - (unsigned)((x & ((UINT64_C(1) << GEO_FRAC) - 1)) < g->thr[i]);
    return (i & keep) | ((unsigned)g->alias[i] & ~keep);
}

/* good bits before the next failing one, from the alias table */
static inline int64_t table_gap(Rng *r, const Geo *g) {
    int64_t base = 0;
    for (;;) {
        unsigned k = geo_bin(g, rng_next(r));
        if (k < GEO_TAIL) return base + k;
        base += GEO_TAIL;
    }
}

/* good bits before the next failing one */
static inline int64_t draw_gap(Rng *r, const Geo *g) {
    if (g->table) return table_gap(r, g);
    if (g->log_q == 0.0) return NEVER;
    double x = log(1.0 - rng_uniform(r)) / g->log_q;
    return x < 4.0e18 ? (int64_t)x : NEVER;
}

/* ---- segments: float32 tensors laid end to end in one bit space --------------------------------------------- */
typedef struct { uint32_t *src, *dst; int64_t n; float scale; } Seg;

typedef struct {
    Seg *seg, one;
    Py_ssize_t k;
    int64_t words;
} Segs;

static void segs_free(Segs *g) { if (g->seg && g->seg != &g->one) PyMem_RawFree(g->seg); g->seg = NULL; }

static int get_i64(PyObject *o, int64_t *out, const char *what) {
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < 0) { PyErr_Format(PyExc_ValueError, "%s must be >= 0", what); return -1; }
    *out = (int64_t)v;
    return 0;
}

/* src, n: an int each (one tensor) or lists of equal length; dst: None (copy wanted), or like src; scale: a float
 * or a list (int8), or None */
static int segs_parse(Segs *g, PyObject *src, PyObject *dst, PyObject *n, PyObject *scale) {
    memset(g, 0, sizeof *g);
    int many = PyList_Check(src);
    g->k = many ? PyList_GET_SIZE(src) : 1;
    if (many && (!PyList_Check(n) || PyList_GET_SIZE(n) != g->k)) {
        PyErr_SetString(PyExc_ValueError, "src and n must be lists of the same length");
        return -1;
    }
    if (many && dst != Py_None && (!PyList_Check(dst) || PyList_GET_SIZE(dst) != g->k)) {
        PyErr_SetString(PyExc_ValueError, "dst must be None or a list like src");
        return -1;
    }
    if (many && scale != Py_None && (!PyList_Check(scale) || PyList_GET_SIZE(scale) != g->k)) {
        PyErr_SetString(PyExc_ValueError, "scale must be None, or a list like src");
        return -1;
    }
    g->seg = many ? PyMem_RawCalloc(g->k ? g->k : 1, sizeof(Seg)) : &g->one;
    if (!g->seg) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < g->k; i++) {
        int64_t a, d = 0, m;
        if (get_i64(many ? PyList_GET_ITEM(src, i) : src, &a, "src") ||
            get_i64(many ? PyList_GET_ITEM(n, i) : n, &m, "n") ||
            (dst != Py_None && get_i64(many ? PyList_GET_ITEM(dst, i) : dst, &d, "dst"))) {
            segs_free(g);
            return -1;
        }
        double s = 1.0;
        if (scale != Py_None) {
            s = PyFloat_AsDouble(many ? PyList_GET_ITEM(scale, i) : scale);
            if (s == -1.0 && PyErr_Occurred()) { segs_free(g); return -1; }
        }
        if (m && !a) { PyErr_SetString(PyExc_ValueError, "null data pointer"); segs_free(g); return -1; }
        g->seg[i] = (Seg){(uint32_t *)(uintptr_t)a, (uint32_t *)(uintptr_t)d, m, (float)s};
        g->words += m;
    }
    return 0;
}

/* *to takes g over (g's own memory may go): a lone segment lives in the Segs itself, so it moves with it */
static void segs_move(Segs *to, const Segs *g) {
    *to = *g;
    if (g->seg == &g->one) to->seg = &to->one;
}

static int segs_have_dst(const Segs *g) {
    for (Py_ssize_t i = 0; i < g->k; i++)
        if (g->seg[i].n && !g->seg[i].dst) return 0;
    return 1;
}

static void segs_copy(const Segs *g) {
    for (Py_ssize_t i = 0; i < g->k; i++)
        if (g->seg[i].dst != g->seg[i].src && g->seg[i].n) memcpy(g->seg[i].dst, g->seg[i].src, 4 * g->seg[i].n);
}

/* a cursor over increasing global word indices */
typedef struct { const Segs *g; Py_ssize_t i; int64_t base; } Cur;

static inline const Seg *cur_at(Cur *c, int64_t w) {
    while (w >= c->base + c->g->seg[c->i].n) { c->base += c->g->seg[c->i].n; c->i++; }
    return &c->g->seg[c->i];
}

/* ---- growable scratch lists ------------------------------------------------------------------------------------ */
typedef struct { int64_t *a; uint32_t *b; Py_ssize_t k, cap; } List;

static int list_reserve(List *l, Py_ssize_t cap) {
    if (cap <= l->cap) return 0;
    int64_t *na = PyMem_RawRealloc(l->a, cap * sizeof(int64_t));
    if (!na) return -1;
    l->a = na;
    uint32_t *nb = PyMem_RawRealloc(l->b, cap * sizeof(uint32_t));
    if (!nb) return -1;
    l->b = nb;
    l->cap = cap;
    return 0;
}

static inline int list_push(List *l, int64_t a, uint32_t b) {
    if (l->k == l->cap && list_reserve(l, l->cap ? 2 * l->cap : 256)) return -1;
    l->a[l->k] = a;
    l->b[l->k++] = b;
    return 0;
}

static void list_free(List *l) { PyMem_RawFree(l->a); PyMem_RawFree(l->b); memset(l, 0, sizeof *l); }

/* ---- Slot: the old contents of one stored buffer, kept between its writes ------------------------------------- */
typedef struct {
    PyObject_HEAD
    int64_t bits;   /* the bit space captured (-1: nothing captured yet) */
    int dense;      /* 1: every word's stored pattern (shadow); 0: candidates (l.a) and their words (l.b) */
    List l;
    unsigned char *shadow; /* stored words of 1, 2 or 4 bytes (the format's width: wider would be memory traffic) */
    Py_ssize_t nshadow, shadow_cap;
    int busy;       /* a call works on it without the GIL */
} Slot;

static void Slot_dealloc(Slot *self) {
    list_free(&self->l);
    PyMem_RawFree(self->shadow);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* the bytes of a stored word of a format (log2 of its bits - 3) */
static inline size_t word_bytes(int fmt) { return (size_t)1 << (FMT_SHIFT[fmt] - 3); }

/* room for `n` stored words of `fmt` in the slot's shadow (a dense stream's old contents) */
static int shadow_reserve(Slot *slot, Py_ssize_t n, int fmt) {
    size_t bytes = (n ? n : 1) * word_bytes(fmt);
    if ((Py_ssize_t)bytes > slot->shadow_cap) {
        unsigned char *b = PyMem_RawRealloc(slot->shadow, bytes);
        if (!b) return -1;
        slot->shadow = b;
        slot->shadow_cap = (Py_ssize_t)bytes;
    }
    slot->nshadow = n;
    return 0;
}

/* stored word j of a shadow in format fmt, and its store, by the format's width (a constant fmt folds it) */
static inline uint32_t shadow_get(const void *p, int64_t j, int fmt) {
    return FMT_SHIFT[fmt] == 5 ? ((const uint32_t *)p)[j]
         : FMT_SHIFT[fmt] == 4 ? ((const uint16_t *)p)[j]
                               : ((const uint8_t *)p)[j];
}
static inline void shadow_put(void *p, int64_t j, uint32_t w, int fmt) {
    if (FMT_SHIFT[fmt] == 5) ((uint32_t *)p)[j] = w;
    else if (FMT_SHIFT[fmt] == 4) ((uint16_t *)p)[j] = (uint16_t)w;
    else ((uint8_t *)p)[j] = (uint8_t)w;
}

static int Slot_init(Slot *self, PyObject *args, PyObject *kw) {
    static char *kws[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kws)) return -1;
    self->bits = -1;
    self->dense = 0;
    self->l.k = 0;
    return 0;
}

static PyObject *Slot_size(Slot *self, void *c) {
    return PyLong_FromSsize_t(self->bits < 0 ? 0 : self->dense ? self->nshadow : self->l.k);
}

static PyGetSetDef Slot_getset[] = {
    {"size", (getter)Slot_size, NULL, "candidates (sparse) or words (dense) held", NULL},
    {NULL}};

static PyTypeObject SlotType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "archsim.accuracy._bitflip.Slot",
    .tp_basicsize = sizeof(Slot),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The old contents of one stored buffer between two of its writes (for directional write errors).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Slot_init,
    .tp_dealloc = (destructor)Slot_dealloc,
    .tp_getset = Slot_getset,
};

/* ---- Stream ------------------------------------------------------------------------------------------------------ */
/* a job of the worker thread (_bitflip_worker.h): a queued call (a Ticket's), a left capture, or a refill of a stream's
 * positions or Bernoulli words drawn ahead */
typedef struct Job { struct Job *next; int kind; } Job;

typedef struct {
    PyObject_HEAD
    Rng rng, rng01, rng10;               /* rng01, rng10: a dense stream's two directions, 2^128 and 2^129 on */
    double p, p01, p10, keep01, keep10;  /* p: every-bit rate, or the candidates' rate p_max (directional) */
    Geo geo, geo01, geo10;               /* the gap laws at p, p01, p10 */
    int64_t gap, gap01, gap10;       /* good bits before the next failing one, per process */
    int bp[2];                       /* a dense stream's direction (0: 0 -> 1, 1: 1 -> 0) drawn bit-parallel */
    uint64_t dig[2];                 /* ... at its rate's binary digits, p_dir * 2^64 (exact; ~0: p_dir = 1) */
    Rng4 bpg[2];                     /* ... from these lanes (seeded from rng01, rng10) */
    int dense, fmt, shift;
    int64_t n01, n10;                /* the last call's failed switches by direction */
    int busy;                        /* a call works on it without the GIL */
    int pending;                     /* its jobs queued on or run by the worker thread (atomic; _bitflip_worker.h) */
    /* an every-bit stream's failing positions drawn ahead (Stream.prefetch; _bitflip_worker.h): absolute bit indices
     * (bits since prefetch began) pf[head..tail) of a ring of pf_cap, a power of two, whose last drawn position
     * pf[tail - 1] the generator's state follows; `at` is the next call's first bit */
    int64_t *pf, pf_cap, pf_head, pf_tail, at;
    int refilling;                   /* the worker has a refill of pf queued or running (atomic) */
    unsigned refill_gen;             /* ... queued in this process (not a forked parent's) */
    Job refill;
    /* a dense stream's bit-parallel Bernoulli words drawn ahead (Stream.prefetch on a dense stream;
     * _bitflip_worker.h), per direction d with bp[d]: groups of four words (what one bern4 gives) at
     * bq[d][4 * (i % bq_cap)] for the groups i in [bq_head[d], bq_tail[d]); while the ring is on, bpg[d] is its
     * drawer's (the worker's while a refill is queued or running, else the calling thread's) */
    uint64_t *bq[2];
    int64_t bq_cap, bq_head[2], bq_tail[2];
    int bq_refilling[2];             /* atomic, as refilling */
    unsigned bq_gen[2];
    Job bq_job[2];
    List fails;                      /* scratch: failing (word, mask) of one sparse write, at 1..k (0: a sentinel) */
    List sw;                         /* scratch: a sparse write's switching candidates (a: index << 1 | new bit) */
    struct Block *blk;               /* scratch of the block passes (allocated at the first) */
    /* the capture that a sparse write with `hold` left to the worker (_bitflip_worker.h, capture_later): its job,
     * slot and `hold` (owned from the write until the next call lets them go: capture_release), segments, whether
     * it keeps the destination's words (else the source's), and whether it ran out of memory */
    Job capjob;
    Slot *cap_slot;
    PyObject *cap_hold;
    Segs cap_g;
    int cap_from_dst, cap_err;
} Stream;

/* what a sparse write may consume (dense writes consume nothing before they succeed) */
typedef struct { Rng rng; int64_t gap; } StreamState;

static StreamState st_save(const Stream *s) { return (StreamState){s->rng, s->gap}; }
static void st_load(Stream *s, StreamState t) { s->rng = t.rng; s->gap = t.gap; }

/* Calls over at least this many words release the GIL while they work: 64 KiB of float32, some 20 us of the
 * dense pass, against about a microsecond for handing the GIL over and taking it back */
#define NOGIL_WORDS 16384

static void wait_idle(Stream *s); /* _bitflip_worker.h: until the worker has run the stream's jobs */

/* -1 with RuntimeError where a call on another Python thread works on the stream or slot without the GIL */
static int in_use(const Stream *s, const Slot *slot) {
    if (!s->busy && !(slot && slot->busy)) return 0;
    PyErr_SetString(PyExc_RuntimeError, "a stream or slot used by two threads at once");
    return -1;
}

/* let go of what a capture left to the worker held (the stream idle, the GIL held); -1 with MemoryError where it
 * ran out of memory */
static int capture_release(Stream *s) {
    if (!s->cap_slot) return 0;
    int err = s->cap_err;
    s->cap_err = 0;
    segs_free(&s->cap_g);
    Py_CLEAR(s->cap_slot);
    Py_CLEAR(s->cap_hold); /* (may free a tensor: last, with the stream's own state settled) */
    if (err) { PyErr_NoMemory(); return -1; }
    return 0;
}

/* 0 once the worker has run the stream's jobs (their draws come first) and no other call holds it; else -1 */
static int ready(Stream *s, Slot *slot) {
    wait_idle(s);
    if (capture_release(s)) return -1;
    return in_use(s, slot);
}

/* ready, then mark the stream (and slot) in use for one call (until leave) */
static int enter(Stream *s, Slot *slot) {
    if (ready(s, slot)) return -1;
    s->busy = 1;
    if (slot) slot->busy = 1;
    return 0;
}

/* -1 with RuntimeError where the stream draws its positions ahead (Stream.prefetch): flips only */
static int pf_refuse(const Stream *s, const char *what) {
    if (!s->pf) return 0;
    PyErr_Format(PyExc_RuntimeError, "%s: this stream draws its failing positions ahead (prefetch), for flips only",
                 what);
    return -1;
}

static void leave(Stream *s, Slot *slot) {
    s->busy = 0;
    if (slot) slot->busy = 0;
}

/* release the GIL around the work of a call over `words` words when it is long (NOGIL_WORDS) */
#define NOGIL_BEGIN(words) { PyThreadState *nogil_ts_ = (words) >= NOGIL_WORDS ? PyEval_SaveThread() : NULL;
#define NOGIL_END() if (nogil_ts_) PyEval_RestoreThread(nogil_ts_); }


static int Stream_init(Stream *self, PyObject *args, PyObject *kw) {
    static char *kws[] = {"seed", "p", "fmt", "p01", "p10", "dense", NULL};
    unsigned long long seed;
    double p, p01 = 0.0, p10 = 0.0;
    int fmt, dense = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Kdi|ddp", kws, &seed, &p, &fmt, &p01, &p10, &dense)) return -1;
    if (!(p >= 0.0 && p <= 1.0) || !(p01 >= 0.0 && p01 <= 1.0) || !(p10 >= 0.0 && p10 <= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "bit error rates must lie in [0, 1]");
        return -1;
    }
    if (fmt < 0 || fmt >= NFMT) { PyErr_SetString(PyExc_ValueError, "unknown format code"); return -1; }
    rng_seed(&self->rng, seed);
    self->p = p;
    geo_init(&self->geo, p);
    self->p01 = p01; self->p10 = p10;
    geo_init(&self->geo01, dense ? p01 : 0.0);
    geo_init(&self->geo10, dense ? p10 : 0.0);
    double pm = p01 > p10 ? p01 : p10;
    self->keep01 = pm > 0.0 ? p01 / pm : 0.0;
    self->keep10 = pm > 0.0 ? p10 / pm : 0.0;
    self->fmt = fmt; self->shift = FMT_SHIFT[fmt]; self->dense = dense;
    if (dense) { /* only dense streams draw per direction */
        self->rng01 = self->rng;
        rng_jump(&self->rng01);
        self->rng10 = self->rng01;
        rng_jump(&self->rng10);
    }
    for (int d = 0; d < 2; d++) {
        double pd = d ? p10 : p01;
        self->bp[d] = dense && pd >= BP_MIN;
        self->dig[d] = !self->bp[d] ? 0u : pd >= 1.0 ? ~UINT64_C(0) : (uint64_t)ldexp(pd, 64);
        if (self->bp[d]) rng4_seed(&self->bpg[d], d ? &self->rng10 : &self->rng01);
    }
    self->gap = draw_gap(&self->rng, &self->geo);
    self->gap01 = dense && !self->bp[0] ? draw_gap(&self->rng01, &self->geo01) : NEVER;
    self->gap10 = dense && !self->bp[1] ? draw_gap(&self->rng10, &self->geo10) : NEVER;
    self->n01 = self->n10 = 0;
    return 0;
}

static void pf_release(Stream *s); /* _bitflip_worker.h */
static void bq_release(Stream *s);

static void Stream_dealloc(Stream *self) {
    if (self->cap_slot) { /* a capture left to the worker: it works on this stream until it is done */
        wait_idle(self);
        if (capture_release(self)) PyErr_Clear();
    }
    pf_release(self);
    bq_release(self);
    list_free(&self->fails);
    list_free(&self->sw);
    PyMem_RawFree(self->blk);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Scratch of the block passes (every-bit flips, dense directional writes), DBLK words of one segment at a time */
#define DBLK 1024
#define DPAD 128 /* running counts past the block's end, for the walk's rounds (128 wide in the AVX-512 build) */

typedef struct Block {
    uint32_t f[DBLK];                        /* every-bit flips: failing bits of each word */
    /* dense writes: the stored words; the bits switching 0 -> 1 and 1 -> 0 and the failing bits, packed at the
     * format's width (word j at bits j * width.. of the 64-bit chunks: at most DBLK / 2 of them); the Bernoulli words
     * of a bit-parallel direction (one per 64 switching bits, drawn four at a time: +8, the last draw and the word
     * past it that a 64-bit read at the end touches, and the 16 words the AVX-512 build reads from the start of the
     * last 8 chunks' bits, at most DBLK / 2 - 8) */
    uint32_t nw[DBLK];
    uint64_t e[2][DBLK / 2], fp[DBLK / 2], bern[DBLK / 2 + 8];
    int32_t c[2][DBLK + 1 + DPAD];           /* per direction drawn by gaps: running counts of its switching bits
                                              * before word i (c[n]: the block's) */
    int32_t hit[DBLK + 1];                   /* words with some failing bit, each once (+1: the branch-free listing
                                              * writes one past the last) */
} Block;

/* apply the (word, mask) list, sorted by word, at 1..k of s->fails (resolve_sparse), to dst */
static void apply_fails(const Stream *s, const Segs *g) {
    Cur c = {g, 0, 0};
    for (Py_ssize_t j = 1; j <= s->fails.k; j++) {
        int64_t w = s->fails.a[j];
        const Seg *sg = cur_at(&c, w);
        uint32_t *d = sg->dst + (w - c.base);
        *d = flipped(*d, s->fails.b[j], s->fmt, sg->scale);
    }
}

/* OR `bit` into word w's failing bits, listing w in b->hit the first time it fails (branch-free: the entry is
 * always written and kept only for a word without failures yet) */
static inline void block_mark(Block *b, int *nhit, int w, uint32_t bit) {
    b->hit[*nhit] = w;
    *nhit += b->f[w] == 0u;
    b->f[w] |= bit;
}

static Block *stream_block(Stream *s) {
    if (!s->blk) s->blk = PyMem_RawCalloc(1, sizeof(Block)); /* its f is all zeros between passes */
    return s->blk;
}

/* a failing bit of word w of a block: XORed into it (direct), or marked (block_mark) */
static inline void fail_at(Block *b, int *nhit, uint32_t *dst, int w, uint32_t bit, const int direct) {
    if (direct) dst[w] ^= bit;
    else block_mark(b, nhit, w, bit);
}

static int64_t pf_more(Stream *s, int64_t head); /* _bitflip_worker.h */

/* Every-bit errors over all bits of g, every destination given: block by block, the source into dst, then each
 * failing bit ORed into its word's mask (its word is its position over the word width: no search), the words listed
 * once (branch-free), and each listed word flipped through its stored format. Returns the flipped bits.
 * `direct` (fp32, whose stored bits are the tensor's; b unused): each failing bit is XORed straight into its word
 * instead (the same words: XOR-ing a word's failing bits one by one is XOR-ing their mask), with no list.
 * The failing positions are drawn here (relative to the call's first bit, from the stream's gap on), or with `ring`
 * taken from the positions drawn ahead (absolute, from the stream's `at` on; _bitflip_worker.h). */
static inline __attribute__((always_inline)) int64_t flip_pass(Stream *s, const Segs *g, Block *b,
                                                               const int direct, const int ring) {
    const int sh = direct ? 5 : s->shift;
    const uint32_t bm = (1u << sh) - 1u;
    const int64_t mask = ring ? s->pf_cap - 1 : 0, *pf = s->pf;
    int64_t head = ring ? s->pf_head : 0, tail = ring ? __atomic_load_n(&s->pf_tail, __ATOMIC_ACQUIRE) : 0;
    int64_t pos = s->gap, base = ring ? s->at : 0, flips = 0;
    for (Py_ssize_t i = 0; i < g->k; i++) {
        const Seg *sg = &g->seg[i];
        for (int64_t j0 = 0; j0 < sg->n; j0 += DBLK) {
            const int n = (int)(DBLK < sg->n - j0 ? DBLK : sg->n - j0);
            const int64_t end = base + ((int64_t)n << sh);
            uint32_t *dst = sg->dst + j0;
            if (dst != sg->src + j0) memcpy(dst, sg->src + j0, 4 * (size_t)n);
            int h = 0;
            if (ring) {
                for (;; head++, flips++) {
                    if (head == tail) tail = pf_more(s, head);
                    int64_t p = pf[head & mask];
                    if (p >= end) break;
                    fail_at(b, &h, dst, (int)((p - base) >> sh), 1u << (p & bm), direct);
                }
            } else {
                if (s->geo.table) /* gaps from the table are short and finite: no NEVER to guard against */
                    for (; pos < end; flips++) {
                        fail_at(b, &h, dst, (int)((pos - base) >> sh), 1u << (pos & bm), direct);
                        pos += 1 + table_gap(&s->rng, &s->geo);
                    }
                for (; pos < end; flips++) { /* pos < end also excludes NEVER */
                    fail_at(b, &h, dst, (int)((pos - base) >> sh), 1u << (pos & bm), direct);
                    pos = next_pos(pos, draw_gap(&s->rng, &s->geo));
                }
            }
            for (int k = 0; k < h; k++) { /* direct: h stays 0 */
                int j = b->hit[k];
                dst[j] = flipped(dst[j], b->f[j], s->fmt, sg->scale);
                b->f[j] = 0u;
            }
            base = end;
        }
    }
    if (ring) {
        s->at = base;
        __atomic_store_n(&s->pf_head, head, __ATOMIC_RELEASE);
    } else {
        s->gap = gap_after(pos, base);
    }
    return flips;
}

static int64_t pf_peek(Stream *s); /* _bitflip_worker.h */
static void pf_kick(Stream *s);

/* whether none of the next `bits` bits of an every-bit stream fails; if so, the stream has passed over them */
static int pass_clean(Stream *s, int64_t bits) {
    if (s->pf) {
        if (pf_peek(s) < s->at + bits) return 0;
        s->at += bits;
        return 1;
    }
    if (s->gap < bits) return 0;
    s->gap = gap_after(s->gap, bits);
    return 1;
}

/* every-bit errors over the bits of g into its destinations (all given): the flipped bits, -1 out of memory */
static int64_t flip_work(Stream *s, const Segs *g, int64_t bits) {
    if (pass_clean(s, bits)) return 0;
    if (s->fmt == FP32) return s->pf ? flip_pass(s, g, NULL, 1, 1) : flip_pass(s, g, NULL, 1, 0);
    Block *b = stream_block(s);
    if (!b) return -1;
    return s->pf ? flip_pass(s, g, b, 0, 1) : flip_pass(s, g, b, 0, 0);
}

static PyObject *Stream_flip(Stream *s, PyObject *args, PyObject *kw) {
    static char *kws[] = {"src", "dst", "n", "scale", NULL};
    PyObject *src, *dst, *n, *scale = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|O", kws, &src, &dst, &n, &scale)) return NULL;
    if (ready(s, NULL)) return NULL;
    Segs g;
    if (segs_parse(&g, src, dst, n, scale)) return NULL;
    int64_t bits = g.words << s->shift;
    if (pass_clean(s, bits)) { /* no failing bit: the common case */
        segs_free(&g);
        pf_kick(s);
        return PyLong_FromLong(0);
    }
    if (!segs_have_dst(&g)) { segs_free(&g); return PyLong_FromLong(-1); } /* nothing consumed: copy, call again */
    if (enter(s, NULL)) { segs_free(&g); return NULL; }
    int64_t flips;
    NOGIL_BEGIN(g.words)
    flips = flip_work(s, &g, bits);
    NOGIL_END()
    leave(s, NULL);
    segs_free(&g);
    pf_kick(s);
    return flips < 0 ? PyErr_NoMemory() : PyLong_FromLongLong(flips);
}

/* the stored word of global word w, through a cursor */
static inline uint32_t word_at(Cur *c, int64_t w, int fmt, int from_dst) {
    const Seg *sg = cur_at(c, w);
    return enc((from_dst ? sg->dst : sg->src)[w - c->base], fmt, sg->scale);
}

/* Append the failing positions of the stream's every-bit process in [0, bits) to l->a (l->b is left for the caller
 * to fill) and leave its gap past them: `while (pos < bits) { push(pos); pos = next_pos(pos, draw_gap()); }`, the
 * same draws giving the same positions. With the alias table the gaps are unrolled into their draws, without a
 * branch per draw other than the loop's: a draw either ends a gap (a position, kept by advancing the count) or adds
 * GEO_TAIL to it; the tail bin is taken a quarter of the time or less, which the branch predictor cannot foresee. */
static int draw_positions(Stream *s, List *l, int64_t bits) {
    const int64_t lim = bits < NEVER ? bits : NEVER; /* a position from NEVER on is never reached */
    int64_t pos = s->gap;
    if (pos >= lim) { s->gap = gap_after(pos, bits); return 0; }
    const Geo *geo = &s->geo;
    /* room for the expected number and more (up to 2^22 at first); grown in the loop if the draws run past it */
    double want = (double)(bits - pos) * s->p;
    want = want * 1.05 + 8.0 * sqrt(want) + 64.0;
    if (list_reserve(l, l->k + (Py_ssize_t)(want < 0x1p22 ? want : 0x1p22))) return -1;
    Rng r = s->rng; /* a local copy: the stores below could otherwise alias its words */
    Py_ssize_t k = l->k, cap = l->cap;
    int64_t *a = l->a;
/* room at a[k] for one more position: where the list is full, it doubles (a macro: as an inline function taking
 * the addresses of cap and a, the table loop ran 5-7 % slower, Stream.positions at 7.9e-3 and 5e-2) */
#define DP_ROOM()                                                                                                  \
    do {                                                                                                           \
        if (k == cap) {                                                                                            \
            l->k = k;                                                                                              \
            if (list_reserve(l, 2 * cap)) { s->rng = r; return -1; }                                               \
            cap = l->cap; a = l->a;                                                                                \
        }                                                                                                          \
    } while (0)
    a[k++] = pos;
    if (geo->table) {
        int64_t base = pos + 1;
        for (;;) {
            DP_ROOM();
            int64_t bin = geo_bin(geo, rng_next(&r));
            int64_t ends = bin < GEO_TAIL, cand = base + bin;
            if (ends && cand >= lim) { pos = cand; break; }
            a[k] = cand;
            k += ends;
            base = ends ? cand + 1 : base + GEO_TAIL;
        }
    } else {
        for (;;) {
            pos = next_pos(pos, draw_gap(&r, geo));
            if (pos >= lim) break;
            DP_ROOM();
            a[k++] = pos;
        }
    }
    s->rng = r;
    l->k = k;
    s->gap = gap_after(pos, bits);
    return 0;
}
#undef DP_ROOM

/* out[j] = the stored word (src, or dst with from_dst) that holds bit pos[j] (increasing); with a constant format
 * (gather_words) the encoder folds to that format's, and the loads do not wait on one another */
static inline __attribute__((always_inline)) void gather_as(const Segs *g, const int64_t *restrict pos,
                                                            uint32_t *restrict out, Py_ssize_t n, int from_dst,
                                                            const int fmt) {
    const int sh = FMT_SHIFT[fmt];
    if (g->k == 1) {
        const uint32_t *restrict u = from_dst ? g->seg[0].dst : g->seg[0].src;
        const float sc = g->seg[0].scale;
        for (Py_ssize_t j = 0; j < n; j++) out[j] = enc(u[pos[j] >> sh], fmt, sc);
        return;
    }
    Cur c = {g, 0, 0};
    for (Py_ssize_t j = 0; j < n; j++) out[j] = word_at(&c, pos[j] >> sh, fmt, from_dst);
}

static void gather_words(const Segs *g, const int64_t *pos, uint32_t *out, Py_ssize_t n, int from_dst, int fmt) {
    switch (fmt) {
    case FP32: gather_as(g, pos, out, n, from_dst, FP32); break;
    case BF16: gather_as(g, pos, out, n, from_dst, BF16); break;
    case FP16: gather_as(g, pos, out, n, from_dst, FP16); break;
    default: gather_as(g, pos, out, n, from_dst, INT8); break;
    }
}

/* sparse directional write: candidates at p_max, kept with p_dir / p_max where the write switches them */
static int resolve_sparse(Stream *s, Slot *slot, const Segs *g, int64_t bits, int use_slot, int random_old) {
    const int64_t *cand;
    const uint32_t *old;
    Py_ssize_t k;
    List fresh = {0};
    const int sh = s->shift;
    const uint32_t bmask = (1u << sh) - 1u;
    if (use_slot && slot->bits == bits && !slot->dense) {
        cand = slot->l.a; old = slot->l.b; k = slot->l.k;
    } else if (random_old) { /* no old contents captured: candidates now, each with a random old word drawn after it */
        int64_t pos = s->gap;
        while (pos < bits && pos < NEVER) {
            if (list_push(&fresh, pos, (uint32_t)rng_next(&s->rng))) { list_free(&fresh); return -1; }
            pos = next_pos(pos, draw_gap(&s->rng, &s->geo));
        }
        s->gap = gap_after(pos, bits);
        cand = fresh.a; old = fresh.b; k = fresh.k;
    } else { /* no old contents captured: candidates now, over a cleared buffer */
        if (draw_positions(s, &fresh, bits)) { list_free(&fresh); return -1; }
        if (fresh.k) memset(fresh.b, 0, (size_t)fresh.k * sizeof(uint32_t));
        cand = fresh.a; old = fresh.b; k = fresh.k;
    }
    s->fails.k = 0;
    s->n01 = s->n10 = 0;
    if (!k) { list_free(&fresh); return 0; }
    if (list_reserve(&s->sw, k) || list_reserve(&s->fails, k + 1)) { list_free(&fresh); return -1; }
    /* 1. the new stored word at each candidate (independent loads) */
    gather_words(g, cand, s->sw.b, k, 0, s->fmt);
    /* 2. the candidates that the write switches, with their new bit (branch-free) */
    int64_t *sw = s->sw.a;
    const uint32_t *nw = s->sw.b;
    Py_ssize_t m = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        uint32_t b = (uint32_t)(cand[j] & bmask), nb = (nw[j] >> b) & 1u, ob = (old[j] >> b) & 1u;
        sw[m] = (int64_t)j << 1 | nb;
        m += nb ^ ob;
    }
    /* 3. in order, each kept with its direction's p_dir / p_max -- a uniform drawn only where that is below 1 -- and
     *    merged into one (word, mask) a failing word at 1.. of s->fails (0: a sentinel), branch-free: the generator
     *    advances by a select, and an entry is written always and counted only for a new word */
    Rng r = s->rng;
    int64_t *fa = s->fails.a;
    uint32_t *fb = s->fails.b;
    fa[0] = -1; fb[0] = 0u;
    Py_ssize_t h = 0;
    int64_t n01 = 0, n10 = 0;
    const double keep_dir[2] = {s->keep10, s->keep01};
    for (Py_ssize_t i = 0; i < m; i++) {
        const int64_t e = sw[i], c = cand[e >> 1];
        const uint32_t nb = (uint32_t)(e & 1);
        const double keep = keep_dir[nb];
        Rng nx = r;
        const double u = rng_uniform(&nx);
        const int draw = keep < 1.0, acc = !draw | (u < keep);
        for (int t = 0; t < 4; t++) r.s[t] = draw ? nx.s[t] : r.s[t];
        const int64_t w = c >> sh;
        const int fresh_word = acc & (w != fa[h]);
        h += fresh_word;
        fb[h] = (fresh_word ? 0u : fb[h]) | (acc ? 1u << (c & bmask) : 0u);
        fa[h] = acc ? w : fa[h];
        n01 += acc & (int)nb;
        n10 += acc & (int)!nb;
    }
    s->rng = r;
    s->fails.k = h;
    s->n01 = n01; s->n10 = n10;
    list_free(&fresh);
    return 0;
}

/* ---- dense directional writes: every word compared with its old contents ------------------------------------ *
 * Each direction's failing bits are a Bernoulli process over the bits that switch that way, in word order: the
 * "switch space" of that direction. The pass works in blocks of DBLK words of one segment:
 *   1. per word (branch-free, vectorisable): the stored word and the bits it switches each way, packed at the
 *      format's width, and each direction's total in the block;
 *   2. per direction, by its rate:
 *      - below BP_MIN, geometric gaps: where its next failing bit lies past the block's total, only the gap is
 *        counted down; else the running counts (where each word starts in the switch space), then per failing
 *        bit: its position is the last one plus one plus a geometric gap (the process carries over from block to
 *        block and call to call); the word that holds it is found by walking the running counts forward, and
 *        the bit is the k-th set bit of the word's switching bits (one pdep where the CPU has a fast one);
 *      - from BP_MIN up, bit-parallel: per 64-bit chunk of packed switching bits, as many Bernoulli bits as it has
 *        switching bits, deposited at them (pdep); so every switching bit takes its own Bernoulli bit, in order;
 *   3. per word (vectorisable): the stored result into the shadow, and into dst the source word, or where some bit
 *      fails the value the failing word reads back as.
 * So a word costs a few vector instructions, a failing bit of a low-rate direction one draw and a short walk, and
 * a switching bit of a high-rate direction about a tenth of a draw; no branch is taken per word that the
 * predictor cannot foresee. The directions draw from their own generators (seeded from the stream's seed), so
 * each one's failing bits do not depend on where the other fails. */

typedef void (*DenseFn)(Stream *, const Segs *, const void *, void *, Block *, int, int);
/* n groups of four Bernoulli words of the lanes g at p = dig * 2^-64 into out, what n calls of bern4 give (each
 * build's own) */
typedef void (*BernFn)(Rng4 *, uint64_t, uint64_t *, int64_t);

static int64_t bq_more(Stream *s, int d, int64_t head); /* _bitflip_worker.h */

/* the next group of four Bernoulli words of direction d from its ring (drawn ahead), into out */
static inline void bq_take(Stream *s, int d, uint64_t *out) {
    const int64_t h = s->bq_head[d];
    if (__atomic_load_n(&s->bq_tail[d], __ATOMIC_ACQUIRE) == h) bq_more(s, d, h);
    memcpy(out, s->bq[d] + 4 * (h & (s->bq_cap - 1)), 4 * sizeof(uint64_t));
    __atomic_store_n(&s->bq_head[d], h + 1, __ATOMIC_RELEASE); /* (after the copy: the drawer may reuse it now) */
}

/* the portable build: SSE2, SWAR popcounts (vectorised), walks and bit selection by loops */
#define DENSE_FN dense_base
#define DENSE_SIMD 0
#define DENSE_PDEP 0
#define DENSE_AVX512 0
#include "_bitflip_dense.h"
#undef DENSE_FN
#undef DENSE_SIMD
#undef DENSE_PDEP
#undef DENSE_AVX512

/* the x86 builds: GCC's per-region target pragmas (clang, which also defines __GNUC__, ignores them: it gets the
 * portable build) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DENSE_X86 1
#include <immintrin.h>
#define DENSE_AVX512 0
/* x86-64-v3 (AVX2, BMI2: Intel since Haswell, AMD since Excavator): 8-word passes, walks in rounds of 32 */
#pragma GCC push_options
#pragma GCC target("avx2,bmi,bmi2,popcnt")
#define DENSE_FN dense_avx2
#define DENSE_SIMD 1
#define DENSE_PDEP 0
#include "_bitflip_dense.h"
#undef DENSE_FN
#undef DENSE_PDEP
/* and pdep for the bit selection: one instruction on Intel since Haswell and AMD since Zen 3; earlier AMD CPUs run
 * it in microcode, tens of cycles a set bit (Agner Fog, "Instruction tables", 2022), so they keep the loop */
#define DENSE_FN dense_bmi2
#define DENSE_PDEP 1
#include "_bitflip_dense.h"
#undef DENSE_FN
/* x86-64-v4 (AVX-512 F, VL, BW, DQ) with VPOPCNTDQ and VBMI2 (Intel since Ice Lake, AMD since Zen 4): a bit-parallel
 * direction's chunks take their Bernoulli bits 8 at a time (popcounts, their prefix sums, funnel shifts; pdep stays
 * scalar), and the compiler's 256-bit code gets AVX-512's rotates and three-input logic (bf16 at 8e-2 per
 * switching bit 1.09 -> 0.88 ns a word, fp32 2.16 -> 1.79, against the bmi2 build); walks take 128 running counts
 * a round in 16-lane compares */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,avx512vbmi2")
#undef DENSE_AVX512
#define DENSE_AVX512 1
#define DENSE_FN dense_avx512
#include "_bitflip_dense.h"
#undef DENSE_FN
#undef DENSE_SIMD
#undef DENSE_PDEP
#undef DENSE_AVX512
#pragma GCC pop_options
#endif

/* the variants, best last; `dense_isa` is the one in use (the best this CPU runs, chosen at import; tests can
 * pick another to check that all give the same bits) */
static const char *const ISA_NAME[] = {"base", "avx2", "bmi2", "avx512"};
static DenseFn ISA_FN[4];
static BernFn BERN_FN[4];
static int isa_best, dense_isa;

static void isa_detect(void) {
    ISA_FN[0] = dense_base;
    BERN_FN[0] = bern_fill_dense_base;
    isa_best = 0;
#ifdef DENSE_X86
    ISA_FN[1] = dense_avx2;
    ISA_FN[2] = dense_bmi2;
    ISA_FN[3] = dense_avx512;
    BERN_FN[1] = bern_fill_dense_avx2;
    BERN_FN[2] = bern_fill_dense_bmi2;
    BERN_FN[3] = bern_fill_dense_avx512;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt")) {
        int slow_pdep = __builtin_cpu_is("amdfam15h") || __builtin_cpu_is("znver1") || __builtin_cpu_is("znver2");
        isa_best = slow_pdep ? 1 : 2;
        /* (the CPUs with these have a fast pdep; the check also asks the OS for the 512-bit registers' state) */
        if (!slow_pdep && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vbmi2"))
            isa_best = 3;
    }
#endif
    dense_isa = isa_best;
}

/* what a write keeps in its slot (write's `keep`) */
enum { KEEP_NONE = 0, KEEP_STORED = 1, KEEP_RESTORED = 2 };

/* dense directional write (every destination given): old contents from the slot where it holds this bit space,
 * else zeros or random bits; with `keep` the slot then holds the stored words (KEEP_STORED) or what capture() of the
 * destination would keep (KEEP_RESTORED: restored()) */
static int resolve_dense(Stream *s, Slot *slot, const Segs *g, int64_t bits, int use_slot, int random_old, int keep) {
    int have = use_slot && slot->bits == bits && slot->dense;
    int old_kind = have ? 0 : random_old ? 2 : 1;
    if (keep && !have && shadow_reserve(slot, g->words, s->fmt)) return -1;
    if (!stream_block(s)) return -1;
    const void *old = have ? slot->shadow : NULL;
    void *shadow = keep ? slot->shadow : NULL;
    ISA_FN[dense_isa](s, g, old, shadow, s->blk, old_kind, keep == KEEP_RESTORED);
    if (keep) { slot->bits = bits; slot->dense = 1; }
    else if (have) slot->bits = -1; /* the slot's words were these old contents: used up */
    return 0;
}

/* the stored words of u[0..n) into words w.. of a shadow; called with a constant format (stored_words), so that
 * enc and shadow_put fold to that format's loop, which vectorises */
static inline __attribute__((always_inline)) void stored_words_as(void *shadow, int64_t w, const uint32_t *restrict u,
                                                                  int64_t n, const int fmt, float sc) {
    for (int64_t j = 0; j < n; j++) shadow_put(shadow, w + j, enc(u[j], fmt, sc), fmt);
}

static void stored_words(void *shadow, int64_t w, const uint32_t *restrict u, int64_t n, int fmt, float sc) {
    switch (fmt) {
    case FP32: stored_words_as(shadow, w, u, n, FP32, sc); break;
    case BF16: stored_words_as(shadow, w, u, n, BF16, sc); break;
    case FP16: stored_words_as(shadow, w, u, n, FP16, sc); break;
    default: stored_words_as(shadow, w, u, n, INT8, sc); break;
    }
}

/* keep the old contents of the next write of `g` (its stored words now) in `slot` */
static int capture(Stream *s, Slot *slot, const Segs *g, int64_t bits, int from_dst) {
    slot->l.k = 0;
    slot->dense = s->dense;
    if (s->dense) { /* every word's stored pattern */
        if (shadow_reserve(slot, g->words, s->fmt)) return -1;
        int64_t w = 0;
        for (Py_ssize_t i = 0; i < g->k; i++) {
            const Seg *sg = &g->seg[i];
            stored_words(slot->shadow, w, from_dst ? sg->dst : sg->src, sg->n, s->fmt, sg->scale);
            w += sg->n;
        }
    } else { /* the next write's candidates, then the stored words that hold them */
        if (draw_positions(s, &slot->l, bits)) return -1;
        gather_words(g, slot->l.a, slot->l.b, slot->l.k, from_dst, s->fmt);
    }
    slot->bits = bits;
    return 0;
}

/* A directional write of g over the old contents that old_mode names (write's docstring): the failed switches
 * (n01 / n10 in the stream), or -1 where a sparse write fails somewhere and g has no destination (nothing consumed);
 * *err = 1 out of memory. With `later` (a sparse stream), the capture that `keep` asks for is left to the caller:
 * *later = 1 + its from_dst where one is due (0 where none is) -- the next draws of the stream are its. */
static int64_t write_work(Stream *s, Slot *slot, const Segs *g, int64_t bits, int old_mode, int keep, int *err,
                          int *later) {
    int use_slot = old_mode == 0, random_old = old_mode == 2;
    if (s->dense) { /* one pass that writes every destination word */
        *err = resolve_dense(s, slot, g, bits, use_slot, random_old, keep);
        return s->n01 + s->n10;
    }
    StreamState before = st_save(s);
    *err = resolve_sparse(s, slot, g, bits, use_slot, random_old);
    int64_t flips = s->n01 + s->n10;
    if (*err) return 0;
    if (flips && !segs_have_dst(g)) {
        st_load(s, before);
        return -1;
    }
    if (flips) {
        segs_copy(g);
        apply_fails(s, g);
    }
    if (keep && !later) {
        *err = capture(s, slot, g, bits, flips > 0); /* KEEP_STORED and KEEP_RESTORED alike */
        return flips;
    }
    if (use_slot && slot->bits == bits && !slot->dense)
        slot->bits = -1; /* the slot's candidates were these old contents: used up (until a capture left keeps) */
    if (keep) *later = 1 + (flips > 0);
    return flips;
}

/* write's and write_later's `old` and `keep` out of range: raises */
static int write_modes_bad(int old_mode, int keep) {
    if (old_mode < 0 || old_mode > 2) { PyErr_SetString(PyExc_ValueError, "old must be 0, 1 or 2"); return 1; }
    if (keep < KEEP_NONE || keep > KEEP_RESTORED) {
        PyErr_SetString(PyExc_ValueError, "keep must be 0, 1 or 2");
        return 1;
    }
    return 0;
}

/* the arguments of write and write_later (their docstrings), parsed and checked; g is to be freed (or taken over) */
typedef struct { Slot *slot; Segs g; int old_mode, keep; PyObject *hold; } WriteArgs;

static int write_args(Stream *s, PyObject *args, PyObject *kw, const char *what, WriteArgs *a) {
    static char *kws[] = {"slot", "src", "dst", "n", "scale", "old", "keep", "hold", NULL};
    PyObject *slot_o, *src, *dst, *n, *scale = Py_None;
    a->old_mode = a->keep = 0;
    a->hold = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|OiiO", kws, &slot_o, &src, &dst, &n, &scale, &a->old_mode,
                                     &a->keep, &a->hold))
        return -1;
    if (!PyObject_TypeCheck(slot_o, &SlotType)) { PyErr_SetString(PyExc_TypeError, "slot must be a Slot"); return -1; }
    if (write_modes_bad(a->old_mode, a->keep) || pf_refuse(s, what)) return -1;
    a->slot = (Slot *)slot_o;
    return segs_parse(&a->g, src, dst, n, scale);
}

static void capture_later(Stream *s, Slot *slot, Segs *g, int from_dst, PyObject *hold); /* _bitflip_worker.h */
static void bq_kick(Stream *s);

static PyObject *Stream_write(Stream *s, PyObject *args, PyObject *kw) {
    WriteArgs a;
    if (write_args(s, args, kw, "write", &a)) return NULL;
    Segs *g = &a.g;
    int64_t bits = g->words << s->shift;
    if (s->dense && !segs_have_dst(g)) { segs_free(g); return PyLong_FromLong(-1); } /* it writes every word */
    if (enter(s, a.slot)) { segs_free(g); return NULL; }
    int err = 0, later = 0;
    int64_t flips;
    NOGIL_BEGIN(g->words)
    flips = write_work(s, a.slot, g, bits, a.old_mode, a.keep, &err, a.hold != Py_None && !s->dense ? &later : NULL);
    NOGIL_END()
    leave(s, a.slot);
    if (!err && later) capture_later(s, a.slot, g, later - 1, a.hold); /* takes g over */
    else segs_free(g);
    if (s->dense) bq_kick(s);
    return err ? PyErr_NoMemory() : PyLong_FromLongLong(flips);
}

static PyObject *Stream_wait(Stream *s, PyObject *unused) {
    if (ready(s, NULL)) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Stream_capture(Stream *s, PyObject *args, PyObject *kw) {
    static char *kws[] = {"slot", "src", "n", "scale", NULL};
    PyObject *slot_o, *src, *n, *scale = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|O", kws, &slot_o, &src, &n, &scale)) return NULL;
    if (!PyObject_TypeCheck(slot_o, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "slot must be a Slot");
        return NULL;
    }
    if (pf_refuse(s, "capture")) return NULL;
    Segs g;
    if (segs_parse(&g, src, Py_None, n, scale)) return NULL;
    if (enter(s, (Slot *)slot_o)) { segs_free(&g); return NULL; }
    int err;
    NOGIL_BEGIN(g.words)
    err = capture(s, (Slot *)slot_o, &g, g.words << s->shift, 0);
    NOGIL_END()
    leave(s, (Slot *)slot_o);
    segs_free(&g);
    if (err) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

#include "_bitflip_worker.h"

static PyObject *Stream_positions(Stream *s, PyObject *arg) {
    long long bits = PyLong_AsLongLong(arg);
    if (bits == -1 && PyErr_Occurred()) return NULL;
    if (bits < 0) { PyErr_SetString(PyExc_ValueError, "bits must be >= 0"); return NULL; }
    if (pf_refuse(s, "positions") || ready(s, NULL)) return NULL; /* this call keeps the GIL */
    List l = {0};
    if (draw_positions(s, &l, bits)) { list_free(&l); return PyErr_NoMemory(); }
    PyObject *out = PyBytes_FromStringAndSize((const char *)l.a, (Py_ssize_t)(l.k * sizeof(int64_t)));
    list_free(&l);
    return out;
}

static PyObject *Stream_uniforms(Stream *s, PyObject *arg) {
    Py_ssize_t k = PyLong_AsSsize_t(arg);
    if (k == -1 && PyErr_Occurred()) return NULL;
    if (k < 0) { PyErr_SetString(PyExc_ValueError, "k must be >= 0"); return NULL; }
    if (pf_refuse(s, "uniforms") || ready(s, NULL)) return NULL; /* this call keeps the GIL */
    PyObject *out = PyBytes_FromStringAndSize(NULL, k * (Py_ssize_t)sizeof(double));
    if (!out) return NULL;
    double *d = (double *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < k; i++) d[i] = rng_uniform(&s->rng);
    return out;
}

static PyObject *Stream_n01(Stream *s, void *c) { return PyLong_FromLongLong(s->n01); }
static PyObject *Stream_n10(Stream *s, void *c) { return PyLong_FromLongLong(s->n10); }
static PyObject *Stream_p(Stream *s, void *c) { return PyFloat_FromDouble(s->p); }
static PyObject *Stream_dense(Stream *s, void *c) { return PyBool_FromLong(s->dense); }
static PyObject *Stream_ahead(Stream *s, void *c) { return PyBool_FromLong(s->pf || s->bq[0] || s->bq[1]); }
static PyObject *Stream_bit_parallel(Stream *s, void *c) {
    return Py_BuildValue("(OO)", s->bp[0] ? Py_True : Py_False, s->bp[1] ? Py_True : Py_False);
}

static PyMethodDef Stream_methods[] = {
    {"flip", (PyCFunction)(void (*)(void))Stream_flip, METH_VARARGS | METH_KEYWORDS,
     "flip(src, dst, n, scale=None) -> int\n\nEvery-bit errors over the next n words (n * bits bits): each stored bit "
     "fails with p. Where some bit fails, writes src with the flips to dst (dst == src: in place) and returns the "
     "flipped bits; where none fails, returns 0 and writes nothing. With dst None and some bit failing, consumes "
     "nothing and returns -1 (call again with a destination)."},
    {"write", (PyCFunction)(void (*)(void))Stream_write, METH_VARARGS | METH_KEYWORDS,
     "write(slot, src, dst, n, scale=None, old=0, keep=False) -> int\n\nA directional write of src over the old "
     "contents (old=0: those in slot, cleared where it holds none, and the slot is used up; 1: cleared; 2: random "
     "bits) into dst. Returns the failed switches (n01 / n10 by direction) or -1 as flip does; a dense stream "
     "writes every word of dst, and returns -1 without one. keep: 1 (or True) keeps the stored words in slot for the "
     "next write (the old contents of a fresh write); 2 keeps what capture(slot, dst, ...) would keep right after (the "
     "old contents of an in-place update with nothing changing dst meanwhile): the stored words but for a NaN, which "
     "the format's encoder makes canonical. hold (a sparse stream's write with keep): the capture of what the slot "
     "keeps is left to the worker thread, which then reads src or dst; hold is kept alive until it is done, and "
     "must keep that memory alive and unchanged until the next call on this stream (every call waits for it; "
     "wait() does only that). The same bits as without."},
    {"wait", (PyCFunction)Stream_wait, METH_NOARGS,
     "wait()\n\nWait until the worker thread has run this stream's queued jobs (a capture left to it by write "
     "included), and let go of what they held."},
    {"write_later", (PyCFunction)(void (*)(void))Stream_write_later, METH_VARARGS | METH_KEYWORDS,
     "write_later(slot, src, dst, n, scale=None, old=0, keep=False, hold=None) -> Ticket\n\nwrite(...) with every "
     "destination given, run by the worker thread; returns at once. hold: objects to keep alive until the job is "
     "done (the tensors whose memory it reads and writes). Other calls on this stream wait for its queued jobs."},
    {"flip_later", (PyCFunction)(void (*)(void))Stream_flip_later, METH_VARARGS | METH_KEYWORDS,
     "flip_later(src, dst, n, scale=None, hold=None) -> Ticket\n\nflip(...) with every destination given, run by "
     "the worker thread (as write_later)."},
    {"capture", (PyCFunction)(void (*)(void))Stream_capture, METH_VARARGS | METH_KEYWORDS,
     "capture(slot, src, n, scale=None)\n\nKeep the stored words of src as the old contents of its next write."},
    {"prefetch", (PyCFunction)Stream_prefetch, METH_O,
     "prefetch(cap)\n\nFrom now on the worker thread draws this every-bit stream's failing positions ahead, into a "
     "ring of cap (a power of two): the same positions, the calls only apply them. Writes, capture, positions and "
     "uniforms are then refused. On a dense stream with a bit-parallel direction (bit_parallel), it draws that "
     "direction's Bernoulli words ahead instead, cap groups of four: the same words, the writes only take them; "
     "every call stays allowed."},
    {"positions", (PyCFunction)Stream_positions, METH_O,
     "positions(bits) -> bytes\n\nThe failing positions (int64) among the next bits of the every-bit process."},
    {"uniforms", (PyCFunction)Stream_uniforms, METH_O, "uniforms(k) -> bytes\n\nk float64 uniforms in [0, 1)."},
    {NULL}};

static PyGetSetDef Stream_getset[] = {
    {"n01", (getter)Stream_n01, NULL, "failed 0 -> 1 switches of the last write", NULL},
    {"n10", (getter)Stream_n10, NULL, "failed 1 -> 0 switches of the last write", NULL},
    {"p", (getter)Stream_p, NULL, "the every-bit (or candidate) rate", NULL},
    {"dense", (getter)Stream_dense, NULL, "whether directional writes compare every word", NULL},
    {"ahead", (getter)Stream_ahead, NULL, "whether the worker draws for it ahead (prefetch)", NULL},
    {"bit_parallel", (getter)Stream_bit_parallel, NULL,
     "(0 -> 1, 1 -> 0): whether a dense stream draws that direction bit-parallel (Bernoulli words)", NULL},
    {NULL}};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "archsim.accuracy._bitflip.Stream",
    .tp_basicsize = sizeof(Stream),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Stream(seed, p, fmt, p01=0, p10=0, dense=False): a seeded Bernoulli bit-error process over the stored "
              "words of float32 tensors in format fmt (0 fp32, 1 bf16, 2 fp16, 3 int8).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Stream_init,
    .tp_dealloc = (destructor)Stream_dealloc,
    .tp_methods = Stream_methods,
    .tp_getset = Stream_getset,
};

/* ---- codec entry points (tests, and the few words Python encodes itself) ---------------------------------- */
static PyObject *codec_call(PyObject *args, int decode) {
    Py_buffer in, out;
    int fmt;
    double s = 1.0;
    if (!PyArg_ParseTuple(args, "y*w*i|d", &in, &out, &fmt, &s)) return NULL;
    PyObject *ret = NULL;
    if (fmt < 0 || fmt >= NFMT) PyErr_SetString(PyExc_ValueError, "unknown format code");
    else if (in.len != out.len || in.len % 4)
        PyErr_SetString(PyExc_ValueError, "buffers of equal size in 4-byte words");
    else {
        const uint32_t *a = in.buf;
        uint32_t *b = out.buf;
        for (Py_ssize_t i = 0; i < in.len / 4; i++) b[i] = decode ? dec(a[i], fmt, (float)s) : enc(a[i], fmt, (float)s);
        ret = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&in);
    PyBuffer_Release(&out);
    return ret;
}

static PyObject *py_encode(PyObject *m, PyObject *args) { return codec_call(args, 0); }
static PyObject *py_decode(PyObject *m, PyObject *args) { return codec_call(args, 1); }

static PyObject *py_isa(PyObject *m, PyObject *args) {
    const char *name = NULL;
    if (!PyArg_ParseTuple(args, "|z", &name)) return NULL;
    if (name) {
        int k = -1;
        for (int i = 0; i <= isa_best; i++)
            if (!strcmp(name, ISA_NAME[i])) k = i;
        if (k < 0) {
            PyErr_Format(PyExc_ValueError, "dense pass %s: this CPU runs up to %s", name, ISA_NAME[isa_best]);
            return NULL;
        }
        dense_isa = k;
    }
    return PyUnicode_FromString(ISA_NAME[dense_isa]);
}

static PyObject *py_isas(PyObject *m, PyObject *unused) {
    PyObject *t = PyTuple_New(isa_best + 1);
    for (int i = 0; t && i <= isa_best; i++) {
        PyObject *name = PyUnicode_FromString(ISA_NAME[i]);
        if (!name) { Py_CLEAR(t); break; }
        PyTuple_SET_ITEM(t, i, name);
    }
    return t;
}

static PyMethodDef module_methods[] = {
    {"isa", py_isa, METH_VARARGS,
     "isa(name=None) -> str\n\nThe build of the dense write pass in use ('base', 'avx2', 'bmi2', 'avx512'); with a "
     "name, use that one (all give the same bits; tests compare them)."},
    {"isas", py_isas, METH_NOARGS, "isas() -> tuple: the builds of the dense pass this CPU runs, best last."},
    {"encode", py_encode, METH_VARARGS,
     "encode(patterns, out, fmt, scale=1.0): stored words (uint32) of float32 bit patterns (uint32 buffers)"},
    {"decode", py_decode, METH_VARARGS,
     "decode(words, out, fmt, scale=1.0): float32 bit patterns of stored words (uint32 buffers)"},
    {NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bitflip",
                                    "Compiled bit-error processes of the accuracy harness (see _bitflip.c).", -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__bitflip(void) {
    isa_detect();
    if (PyType_Ready(&StreamType) < 0 || PyType_Ready(&SlotType) < 0 || PyType_Ready(&TicketType) < 0) return NULL;
    pthread_atfork(NULL, NULL, worker_forget);
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Stream", (PyObject *)&StreamType) < 0 ||
        PyModule_AddObjectRef(m, "Slot", (PyObject *)&SlotType) < 0 ||
        PyModule_AddObjectRef(m, "Ticket", (PyObject *)&TicketType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
