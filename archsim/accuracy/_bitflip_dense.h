/* The dense directional write pass of _bitflip.c, included there once per build for an instruction set: with
 * DENSE_FN (the build's entry point), DENSE_SIMD (1: AVX2 walks; x86 only) and DENSE_PDEP (1: bit selection by
 * pdep; x86 only) defined, and for the x86 builds inside `#pragma GCC target`, so that everything below, the
 * helpers it inlines included, is compiled for that instruction set. See "dense directional writes" in _bitflip.c
 * for what the pass computes. */
#define DN_CAT2(a, b) a##_##b
#define DN_CAT(a, b) DN_CAT2(a, b)
#define DN(name) DN_CAT(name, DENSE_FN)

/* the k-th (from 0) set bit of e, as a mask; k < popcount(e) */
static inline uint32_t DN(nth_bit)(uint32_t e, uint32_t k) {
#if DENSE_PDEP
    return _pdep_u32(1u << k, e);
#else
    for (uint32_t i = 0; i < k; i++) e &= e - 1u;
    return e & (~e + 1u);
#endif
}

/* the first word w' >= w whose run of switching bits ends past pos (cum[w' + 1] > pos) */
static inline int DN(walk)(const int32_t *cum, int w, int32_t pos) {
#if DENSE_SIMD /* 8 running counts a compare; they do not decrease, so the lanes <= pos come first */
    const __m256i p = _mm256_set1_epi32(pos);
    for (;;) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(cum + w + 1));
        unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(c, p)));
        if (m) return w + __builtin_ctz(m);
        w += 8;
    }
#else
    while (cum[w + 1] <= pos) w++;
    return w;
#endif
}

/* The running counts of a block: C[1..n] hold per-word counts on entry and the counts before each following word on
 * return (C[j + 1] = C[1] + ... + C[j + 1], the value the scalar loop gives). The AVX2 build adds 8 at a time: a
 * scan within each 128-bit lane by two shifted adds, the low lane's total into the high lane, then the carry of the
 * words before (the loop-carried chain is one add). */
static inline void DN(scan)(int32_t *C, int n) {
    int j = 0;
    int32_t a = 0;
#if DENSE_SIMD
    __m256i carry = _mm256_setzero_si256();
    const __m256i last = _mm256_set1_epi32(7);
    for (; j + 8 <= n; j += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(C + 1 + j));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
        __m256i lo = _mm256_shuffle_epi32(x, 0xFF);                    /* each lane's total, in all its elements */
        x = _mm256_add_epi32(x, _mm256_permute2x128_si256(lo, lo, 0x08)); /* (0, low lane's total) */
        _mm256_storeu_si256((__m256i *)(C + 1 + j), _mm256_add_epi32(x, carry));
        carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32(x, last));
    }
    if (j) a = C[j];
#endif
    for (; j < n; j++) { a += C[j + 1]; C[j + 1] = a; }
}

/* The failing bits of one direction's process among the block's switching bits of that direction (`e`, running
 * counts `cum`), marked in the block (block_mark); returns their number. */
static inline int64_t DN(dir_flips)(Rng *r, const Geo *geo, int64_t *gap, const uint32_t *e, const int32_t *cum,
                                    int n, Block *b, int *nhit) {
    int64_t total = cum[n], pos = *gap, flips = 0;
    int w = 0, h = *nhit;
    while (pos < total) { /* pos < total also excludes NEVER */
        w = DN(walk)(cum, w, (int32_t)pos);
        block_mark(b, &h, w, DN(nth_bit)(e[w], (uint32_t)(pos - cum[w])));
        flips++;
        pos = next_pos(pos, draw_gap(r, geo));
    }
    *gap = gap_after(pos, total);
    *nhit = h;
    return flips;
}

/* One dense directional write over every word of g: old contents from `old` (the slot's stored words, indexed by
 * global word), zeros or random bits (old_kind 0, 1, 2); the result into every dst and, with `shadow`, its stored
 * words there (`shadow` may be `old`: a block is read before it is written). Specialised by constant arguments per
 * format and kind of old contents. */
static inline __attribute__((always_inline)) void DN(pass)(Stream *s, const Segs *g, const void *old,
                                                           void *shadow, Block *b, const int fmt,
                                                           const int old_kind) {
    const uint32_t wm = 0xFFFFFFFFu >> (32 - (1 << FMT_SHIFT[fmt])); /* a stored word's bits */
    Rng *const rd[2] = {&s->rng01, &s->rng10};
    const Geo *const gd[2] = {&s->geo01, &s->geo10};
    int64_t *const gap[2] = {&s->gap01, &s->gap10};
    int64_t nd[2] = {0, 0}, w0 = 0;
    for (Py_ssize_t i = 0; i < g->k; i++) {
        const Seg *sg = &g->seg[i];
        const float sc = sg->scale;
        for (int64_t j0 = 0; j0 < sg->n; j0 += DBLK) {
            const int n = (int)(DBLK < sg->n - j0 ? DBLK : sg->n - j0);
            const uint32_t *src = sg->src + j0;
            uint32_t *dst = sg->dst + j0;
            int32_t total[2];
            /* 1. stored words, the bits they switch and their counts (vectorised) */
            {
                const uint32_t *restrict S = src;
                uint32_t *restrict NW = b->nw, *restrict E01 = b->e[0], *restrict E10 = b->e[1];
                int32_t *restrict C01 = b->c[0] + 1, *restrict C10 = b->c[1] + 1;
                int32_t t01 = 0, t10 = 0;
                for (int j = 0; j < n; j++) {
                    uint32_t nw = enc(S[j], fmt, sc);
                    uint32_t ow = old_kind == 0   ? shadow_get(old, w0 + j, fmt)
                                  : old_kind == 2 ? (uint32_t)rng_next(&s->rng) & wm
                                                  : 0u;
                    uint32_t sw = nw ^ ow;
                    NW[j] = nw; E01[j] = sw & nw; E10[j] = sw & ow;
                    int32_t c01 = popc(sw & nw), c10 = popc(sw & ow);
                    C01[j] = c01; C10[j] = c10;
                    t01 += c01; t10 += c10;
                }
                total[0] = t01; total[1] = t10;
            }
            /* 2. per direction: only the count where the process does not fail within the block (its gap is at
             *    least the block's switching bits); else running counts and the failing bits */
            int nhit = 0;
            for (int d = 0; d < 2; d++) {
                if (*gap[d] >= total[d]) {
                    *gap[d] = gap_after(*gap[d], total[d]);
                    continue;
                }
                int32_t *restrict C = b->c[d];
                C[0] = 0;
                DN(scan)(C, n);
                for (int k = n + 1; k <= n + DPAD; k++) C[k] = INT32_MAX;
                nd[d] += DN(dir_flips)(rd[d], gd[d], gap[d], b->e[d], C, n, b, &nhit);
            }
            /* 3. stored results, source words (vectorised) */
            if (shadow) {
                const uint32_t *restrict NW = b->nw, *restrict F = b->f;
                for (int j = 0; j < n; j++) shadow_put(shadow, w0 + j, NW[j] ^ F[j], fmt);
            }
            if (dst != src) memcpy(dst, src, 4 * (size_t)n);
            /* 4. the words that fail read back with their flips */
            for (int h = 0; h < nhit; h++) {
                int j = b->hit[h];
                uint32_t f = b->f[j];
                dst[j] = fmt == FP32 ? src[j] ^ f : dec(b->nw[j] ^ f, fmt, sc);
                b->f[j] = 0u;
            }
            w0 += n;
        }
    }
    s->n01 = nd[0]; s->n10 = nd[1];
}

#define DN_KIND(F)                                                                                           \
    switch (old_kind) {                                                                                      \
    case 0: DN(pass)(s, g, old, shadow, b, F, 0); break;                                                     \
    case 1: DN(pass)(s, g, old, shadow, b, F, 1); break;                                                     \
    default: DN(pass)(s, g, old, shadow, b, F, 2); break;                                                    \
    }

static void DENSE_FN(Stream *s, const Segs *g, const void *old, void *shadow, Block *b, int old_kind) {
    switch (s->fmt) {
    case FP32: DN_KIND(FP32); break;
    case BF16: DN_KIND(BF16); break;
    case FP16: DN_KIND(FP16); break;
    case INT8: DN_KIND(INT8); break;
    }                        /* a new format: a case here too (Stream() accepts only the codes below NFMT) */
}

#undef DN_KIND
#undef DN
#undef DN_CAT
#undef DN_CAT2
