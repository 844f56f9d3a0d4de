/* The dense directional write pass of _bitflip.c, included there once per build for an instruction set: with
 * DENSE_FN (the build's entry point), DENSE_SIMD (1: AVX2 walks, scans and Bernoulli words; x86 only) and DENSE_PDEP
 * (1: bit deposit by pdep; x86 only) defined, and for the x86 builds inside `#pragma GCC target`, so that everything
 * below, the helpers it inlines included, is compiled for that instruction set. See "dense directional writes" in
 * _bitflip.c for what the pass computes. Every build gives the same bits. */
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

/* the low bits of v deposited at the set bits of m, in order */
static inline uint64_t DN(pdep64)(uint64_t v, uint64_t m) {
#if DENSE_PDEP
    return _pdep_u64(v, m);
#else
    uint64_t r = 0;
    for (; m; m &= m - 1u, v >>= 1) r |= (UINT64_C(0) - (v & 1u)) & m & (~m + 1u);
    return r;
#endif
}

/* set bits of a 64-bit word (SWAR in the portable build, which has no popcnt instruction) */
static inline int DN(popc64)(uint64_t v) {
#if DENSE_SIMD
    return __builtin_popcountll(v);
#else
    v = v - ((v >> 1) & UINT64_C(0x5555555555555555));
    v = (v & UINT64_C(0x3333333333333333)) + ((v >> 2) & UINT64_C(0x3333333333333333));
    v = (v + (v >> 4)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    return (int)((v * UINT64_C(0x0101010101010101)) >> 56);
#endif
}

#if DENSE_AVX512
/* which of the 64 running counts from c exceed pos, one bit each (four 16-lane compares) */
static inline uint64_t DN(gt64)(const int32_t *c, __m512i p) {
    uint64_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= (uint64_t)_mm512_cmpgt_epi32_mask(_mm512_loadu_si512((const void *)(c + 16 * k)), p) << (16 * k);
    return m;
}
#endif

/* the first word w' >= w whose run of switching bits ends past pos (cum[w' + 1] > pos) */
static inline int DN(walk)(const int32_t *cum, int w, int32_t pos) {
#if DENSE_AVX512 /* 128 running counts a round, in two halves of four 16-lane compares, the second compared only
                  * where the first ends below pos. Training data switches fewer bits than random words: about 3 of
                  * an fp32 word's 32 in each direction, so at 1e-2 a direction fails every 35 words or so and 40 %
                  * of walks outran a round of 32, a branch the CPU mispredicts (core alone, fp32 at 1e-2 with 18 %
                  * of bits switching: 1.96 -> 1.63 ns a word, with half of them switching no change; in training,
                  * the core's time a step for directional writes at 1e-2: 3.25 -> 3.07 ms) */
    const __m512i p = _mm512_set1_epi32(pos);
    for (;;) {
        const uint64_t m = DN(gt64)(cum + w + 1, p);
        if (m) return w + __builtin_ctzll(m);
        const uint64_t m2 = DN(gt64)(cum + w + 65, p);
        if (m2) return w + 64 + __builtin_ctzll(m2);
        w += 128;
    }
#elif DENSE_SIMD /* 32 running counts a round, in four compares of 8; they do not decrease, so the lanes <= pos come
                * first. fp32 at 1e-2 fails in a direction every 15 words or so: most walks end in their first
                * round, a branch the CPU predicts, where rounds of 8 ended after a varying number (core alone,
                * fp32 at 1e-2: 2.95 -> 2.04 ns a word; rounds of 16 or 64 no better, nor two rounds of 32 a loop
                * where 18 % of bits switch) */
    const __m256i p = _mm256_set1_epi32(pos);
    for (;;) {
        const __m256i *c = (const __m256i *)(cum + w + 1);
#define DN_GT(k) ((uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_loadu_si256(c + k), p))))
        const uint32_t m = DN_GT(0) | DN_GT(1) << 8 | DN_GT(2) << 16 | DN_GT(3) << 24;
#undef DN_GT
        if (m) return w + __builtin_ctz(m);
        w += 32;
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

/* The failing bits of a direction drawn by gaps, among the block's switching bits of that direction (`e`, packed;
 * running counts `cum`), ORed into the packed failing bits `f`; returns their number. */
static inline int64_t DN(gap_flips)(Rng *r, const Geo *geo, int64_t *gap, const uint64_t *e, const int32_t *cum,
                                    int n, uint64_t *f, const int fmt) {
    int64_t total = cum[n], pos = *gap, flips = 0;
    int w = 0;
    while (pos < total) { /* pos < total also excludes NEVER */
        w = DN(walk)(cum, w, (int32_t)pos);
        uint32_t bit = DN(nth_bit)(shadow_get(e, w, fmt), (uint32_t)(pos - cum[w]));
        shadow_put(f, w, shadow_get(f, w, fmt) | bit, fmt);
        flips++;
        pos = next_pos(pos, draw_gap(r, geo));
    }
    *gap = gap_after(pos, total);
    return flips;
}

/* four Bernoulli words (bern4 in _bitflip.c), in the AVX2 builds with the four lanes in one register per state
 * word (xoshiro256**'s multiplications by 5 and 9 as shifts and adds: AVX2 has no 64-bit multiply) */
#if DENSE_SIMD
static inline __m256i DN(rotl4)(__m256i x, int k) {
    return _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - k));
}
static inline void DN(bern4)(__m256i *st, uint64_t dig, uint64_t *out) {
    if (dig == ~UINT64_C(0)) { _mm256_storeu_si256((__m256i *)out, _mm256_set1_epi64x(-1)); return; }
    __m256i s0 = st[0], s1 = st[1], s2 = st[2], s3 = st[3];
    __m256i und = _mm256_set1_epi64x(-1), res = _mm256_setzero_si256();
    for (int i = 63; i >= 0 && !_mm256_testz_si256(und, und); i--) {
        const __m256i m = _mm256_set1_epi64x((long long)(UINT64_C(0) - ((dig >> i) & 1u)));
        __m256i a = _mm256_add_epi64(s1, _mm256_slli_epi64(s1, 2));      /* s1 * 5 */
        a = DN(rotl4)(a, 7);
        const __m256i x = _mm256_add_epi64(a, _mm256_slli_epi64(a, 3)); /* * 9 */
        const __m256i t = _mm256_slli_epi64(s1, 17);
        s2 = _mm256_xor_si256(s2, s0); s3 = _mm256_xor_si256(s3, s1); s1 = _mm256_xor_si256(s1, s2);
        s0 = _mm256_xor_si256(s0, s3); s2 = _mm256_xor_si256(s2, t); s3 = DN(rotl4)(s3, 45);
        res = _mm256_or_si256(res, _mm256_and_si256(_mm256_andnot_si256(x, und), m));
        und = _mm256_andnot_si256(_mm256_xor_si256(x, m), und);
    }
    st[0] = s0; st[1] = s1; st[2] = s2; st[3] = s3;
    _mm256_storeu_si256((__m256i *)out, res);
}
#endif

/* n groups of four Bernoulli words into out: n calls of bern4 (BernFn; the ring's draws ahead, _bitflip_worker.h) */
static void DN(bern_fill)(Rng4 *g, uint64_t dig, uint64_t *out, int64_t n) {
#if DENSE_SIMD
    __m256i st[4];
    for (int j = 0; j < 4; j++) st[j] = _mm256_loadu_si256((const __m256i *)g->s[j]);
    for (int64_t i = 0; i < n; i++) DN(bern4)(st, dig, out + 4 * i);
    for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)g->s[j], st[j]);
#else
    for (int64_t i = 0; i < n; i++) bern4(g, dig, out + 4 * i);
#endif
}

/* The failing bits of a bit-parallel direction in one block: each 64-bit chunk of packed switching bits `e` (nch
 * chunks) with k switching bits takes the next k Bernoulli bits (in switch-space order, drawn 256 at a time as the
 * chunks need them; what is left of the last four words at the block's end is dropped), deposited at its switching
 * bits and ORed into the packed failing bits `f`; returns their number. The words come from the direction's lanes
 * (s->bpg[d]), or where its words are drawn ahead (`ring`: s->bq[d]) from the ring, which then owns the lanes. */
static inline int64_t DN(bp_flips)(Stream *s, const int d, const uint64_t *e, uint64_t *f, int nch, uint64_t *bern,
                                   const int ring) {
    Rng4 *const g = &s->bpg[d];
    const uint64_t dig = s->dig[d];
#if DENSE_SIMD
    __m256i st[4]; /* (unused with the ring, whose drawer owns the lanes meanwhile: not read then) */
    for (int j = 0; j < 4; j++) st[j] = ring ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)g->s[j]);
#define DN_DRAW4(out) DN(bern4)(st, dig, out)
#else
    Rng4 gl = {{{0}}}; /* in registers where it can (not read with the ring, as above) */
    if (!ring) gl = *g;
#define DN_DRAW4(out) bern4(&gl, dig, out)
#endif
#define DN_BERN4(out)                                                                                              \
    do {                                                                                                           \
        if (ring) bq_take(s, d, out);                                                                              \
        else DN_DRAW4(out);                                                                                        \
    } while (0)
    uint64_t pos = 0, avail = 0;
    int64_t flips = 0;
    int c = 0;
#if DENSE_AVX512
    /* 8 chunks at a time: where each one's bits start (pos plus the prefix sum of the popcounts before it), its
     * two Bernoulli words picked from the 16 from pos's word (8 chunks take at most 512 bits, so 9 words past it;
     * bern has room for that), its 64 bits funnel-shifted out of them and cut to its count; the same bits as the
     * loop below, and the same draws (every draw is made once the chunks need it; they are the same words whenever
     * they are made) */
    {
        const __m512i one = _mm512_set1_epi64(1), ones = _mm512_set1_epi64(-1), low6 = _mm512_set1_epi64(63);
        const __m512i back1 = _mm512_set_epi64(6, 5, 4, 3, 2, 1, 0, 0),
                      back2 = _mm512_set_epi64(5, 4, 3, 2, 1, 0, 0, 0),
                      back4 = _mm512_set_epi64(3, 2, 1, 0, 0, 0, 0, 0);
        __m512i nf = _mm512_setzero_si512();
        uint64_t vs[8];
        for (; c + 8 <= nch; c += 8) {
            const __m512i k = _mm512_popcnt_epi64(_mm512_loadu_si512((const void *)(e + c)));
            __m512i sc = _mm512_add_epi64(k, _mm512_maskz_permutexvar_epi64(0xFE, back1, k)); /* inclusive sums */
            sc = _mm512_add_epi64(sc, _mm512_maskz_permutexvar_epi64(0xFC, back2, sc));
            sc = _mm512_add_epi64(sc, _mm512_maskz_permutexvar_epi64(0xF0, back4, sc));
            const uint64_t end = pos + (uint64_t)_mm256_extract_epi64(_mm512_extracti64x4_epi64(sc, 1), 3);
            while (end > avail) { DN_BERN4(bern + (avail >> 6)); avail += 256u; }
            const __m512i p = _mm512_add_epi64(_mm512_set1_epi64((long long)(pos & 63u)), _mm512_sub_epi64(sc, k));
            const uint64_t *w = bern + (pos >> 6);
            const __m512i lo = _mm512_loadu_si512((const void *)w), hi = _mm512_loadu_si512((const void *)(w + 8));
            const __m512i ix = _mm512_srli_epi64(p, 6);
            const __m512i w0 = _mm512_permutex2var_epi64(lo, ix, hi);
            const __m512i w1 = _mm512_permutex2var_epi64(lo, _mm512_add_epi64(ix, one), hi);
            __m512i v = _mm512_shrdv_epi64(w0, w1, _mm512_and_si512(p, low6)); /* (w1:w0) >> p % 64 */
            v = _mm512_andnot_si512(_mm512_sllv_epi64(ones, k), v);           /* its k bits (k = 64: all) */
            nf = _mm512_add_epi64(nf, _mm512_popcnt_epi64(v));
            _mm512_storeu_si512((void *)vs, v);
            for (int i = 0; i < 8; i++) f[c + i] |= DN(pdep64)(vs[i], e[c + i]);
            pos = end;
        }
        flips += _mm512_reduce_add_epi64(nf);
    }
#endif
    for (; c < nch; c++) {
        const uint64_t m = e[c];
        const int k = DN(popc64)(m);
        if (pos + (uint64_t)k > avail) { DN_BERN4(bern + (avail >> 6)); avail += 256u; }
        const uint64_t *w = bern + (pos >> 6);
        const unsigned o = (unsigned)(pos & 63u);
        /* 64 bits from pos (o = 0: w[1] shifted out); w[1] is undrawn only where k <= 64 - o masks it off */
        uint64_t v = (w[0] >> o) | ((w[1] << 1) << (63u - o));
        v = k < 64 ? v & ((UINT64_C(1) << k) - 1u) : v;
        pos += (uint64_t)k;
        flips += DN(popc64)(v);
        f[c] |= DN(pdep64)(v, m);
    }
#undef DN_BERN4
#undef DN_DRAW4
    if (ring) return flips;
#if DENSE_SIMD
    for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)g->s[j], st[j]);
#else
    *g = gl;
#endif
    return flips;
}

/* a if c else b, by masks: no branch, so that a loop that writes back what it reads (dst = src) is vectorised too,
 * where GCC leaves `D[j] = f ? x : D[j]` a conditional store, a branch that high rates mispredict half the time */
static inline uint32_t DN(pick)(uint32_t c, uint32_t a, uint32_t b) {
    const uint32_t m = 0u - c;
    return (a & m) | (b & ~m);
}

/* the value that word j reads back as: the source where no bit fails, else its stored word with the failing bits
 * flipped, decoded (fp32: the source's bits flipped) */
#define DN_READ(src_j, st, f) (fmt == FP32 ? (src_j) ^ (f) : DN(pick)((f) != 0u, dec((st), fmt, sc), (src_j)))

/* One dense directional write over every word of g: old contents from `old` (the slot's stored words, indexed by
 * global word), zeros or random bits (old_kind 0, 1, 2); the result into every dst and, with `shadow`, its stored
 * words there, or with `restore` what capture() of the result would keep (restored()); `shadow` may be `old`: a
 * block is read before it is written. Specialised by constant arguments per format, kind of old contents and which
 * directions drawn by gaps count their switching bits per word in step 1. */
static inline __attribute__((always_inline)) void DN(pass)(Stream *s, const Segs *g, const void *old,
                                                           void *shadow, const int restore, Block *b, const int fmt,
                                                           const int old_kind, const int cnt01, const int cnt10) {
    const int sh = FMT_SHIFT[fmt];
    const uint32_t wm = 0xFFFFFFFFu >> (32 - (1 << sh)); /* a stored word's bits */
    Rng *const rd[2] = {&s->rng01, &s->rng10};
    const Geo *const gd[2] = {&s->geo01, &s->geo10};
    int64_t *const gap[2] = {&s->gap01, &s->gap10};
    const int bp01 = s->bp[0], bp10 = s->bp[1];
    int64_t nd[2] = {0, 0}, w0 = 0;
    for (Py_ssize_t i = 0; i < g->k; i++) {
        const Seg *sg = &g->seg[i];
        const float sc = sg->scale;
        for (int64_t j0 = 0; j0 < sg->n; j0 += DBLK) {
            const int n = (int)(DBLK < sg->n - j0 ? DBLK : sg->n - j0);
            const int nch = (int)((((int64_t)n << sh) + 63) >> 6); /* packed 64-bit chunks */
            const uint32_t *src = sg->src + j0;
            uint32_t *dst = sg->dst + j0;
            /* 0. the next block's source and old contents (to read) and destination (to write), asked into L2 (a
             *    block's scratch takes most of L1): step 1 of a block otherwise waits on them at each new page,
             *    the old contents having last been touched a training step ago (in training, the core's time a
             *    step for directional writes at 1e-2: 3.16 -> 2.92 ms into L1, 1-2 % less again into L2) */
            {
                const int64_t nn = sg->n - j0 - n < DBLK ? sg->n - j0 - n : DBLK;
                const char *ps = (const char *)(src + n), *pd = (const char *)(dst + n);
                for (int64_t o = 0; o < nn * 4; o += 64) {
                    __builtin_prefetch(ps + o, 0, 2);
                    if (dst != src) __builtin_prefetch(pd + o, 1, 2);
                }
                if (old_kind == 0) {
                    const char *po = (const char *)old + ((w0 + n) << (sh - 3));
                    for (int64_t o = 0; o < nn << (sh - 3); o += 64) __builtin_prefetch(po + o, 0, 2);
                }
            }
            /* the last chunk's bits past the block's words: none switch, none fail */
            b->e[0][nch - 1] = b->e[1][nch - 1] = 0u;
            memset(b->fp, 0, 8 * (size_t)nch);
            /* 1. stored words and the bits they switch, packed; for a direction drawn by gaps that fails in most
             *    blocks (cnt01, cnt10), each word's count of them and the block's total (vectorised) */
            int32_t total[2] = {0, 0};
            {
                const uint32_t *restrict S = src;
                uint32_t *restrict NW = b->nw;
                uint64_t *restrict E01 = b->e[0], *restrict E10 = b->e[1];
                int32_t *restrict C01 = b->c[0] + 1, *restrict C10 = b->c[1] + 1;
                int32_t t01 = 0, t10 = 0;
                for (int j = 0; j < n; j++) {
                    uint32_t nw = enc(S[j], fmt, sc);
                    uint32_t ow = old_kind == 0   ? shadow_get(old, w0 + j, fmt)
                                  : old_kind == 2 ? (uint32_t)rng_next(&s->rng) & wm
                                                  : 0u;
                    uint32_t sw = nw ^ ow;
                    NW[j] = nw;
                    shadow_put(E01, j, sw & nw, fmt);
                    shadow_put(E10, j, sw & ow, fmt);
                    if (cnt01) { int32_t c = popc(sw & nw); C01[j] = c; t01 += c; }
                    if (cnt10) { int32_t c = popc(sw & ow); C10[j] = c; t10 += c; }
                }
                total[0] = t01; total[1] = t10;
            }
            /* 2. per direction: bit-parallel; or by gaps, where only the count goes down if the process does not
             *    fail within the block (its gap is at least the block's switching bits), else running counts and
             *    the failing bits */
            for (int d = 0; d < 2; d++) {
                if (d ? bp10 : bp01) {
                    nd[d] += s->bq[d] ? DN(bp_flips)(s, d, b->e[d], b->fp, nch, b->bern, 1)
                                      : DN(bp_flips)(s, d, b->e[d], b->fp, nch, b->bern, 0);
                    continue;
                }
                const int cnt = d ? cnt10 : cnt01;
                int32_t *restrict C = b->c[d];
                const uint64_t *restrict E = b->e[d];
                if (!cnt) /* a rare direction: its block total 64 bits at a time */
                    for (int c = 0; c < nch; c++) total[d] += DN(popc64)(E[c]);
                if (*gap[d] >= total[d]) {
                    *gap[d] = gap_after(*gap[d], total[d]);
                    continue;
                }
                if (!cnt)
                    for (int j = 0; j < n; j++) C[j + 1] = popc(shadow_get(E, j, fmt));
                C[0] = 0;
                DN(scan)(C, n);
                for (int k = n + 1; k <= n + DPAD; k++) C[k] = INT32_MAX;
                nd[d] += DN(gap_flips)(rd[d], gd[d], gap[d], b->e[d], C, n, b->fp, fmt);
            }
            /* 3. stored results and what each word reads back as (vectorised; dst may be src) */
            {
                const uint32_t *restrict NW = b->nw;
                const uint64_t *restrict F = b->fp;
                if (shadow)
                    for (int j = 0; j < n; j++) {
                        const uint32_t st = NW[j] ^ shadow_get(F, j, fmt);
                        shadow_put(shadow, w0 + j, restore ? restored(st, fmt, sc) : st, fmt);
                    }
                if (dst == src) {
                    uint32_t *restrict D = dst;
                    for (int j = 0; j < n; j++) {
                        uint32_t f = shadow_get(F, j, fmt);
                        D[j] = DN_READ(D[j], NW[j] ^ f, f);
                    }
                } else {
                    const uint32_t *restrict S = src;
                    uint32_t *restrict D = dst;
                    for (int j = 0; j < n; j++) {
                        uint32_t f = shadow_get(F, j, fmt);
                        D[j] = DN_READ(S[j], NW[j] ^ f, f);
                    }
                }
            }
            w0 += n;
        }
    }
    s->n01 = nd[0]; s->n10 = nd[1];
}

#undef DN_READ

#define DN_CNT(F, K)                                                     \
    switch (cnt) {                                                       \
    case 0: DN(pass)(s, g, old, shadow, restore, b, F, K, 0, 0); break;  \
    case 1: DN(pass)(s, g, old, shadow, restore, b, F, K, 1, 0); break;  \
    case 2: DN(pass)(s, g, old, shadow, restore, b, F, K, 0, 1); break;  \
    default: DN(pass)(s, g, old, shadow, restore, b, F, K, 1, 1); break; \
    }
#define DN_KIND(F)                                                       \
    switch (old_kind) {                                                  \
    case 0: DN_CNT(F, 0); break;                                         \
    case 1: DN_CNT(F, 1); break;                                         \
    default: DN_CNT(F, 2); break;                                        \
    }

/* a direction drawn by gaps counts its switching bits per word in step 1 where it fails in most blocks (at least
 * one in 2^10 of its switching bits: a block of DBLK words has thousands), else only in a block where it fails */
static void DENSE_FN(Stream *s, const Segs *g, const void *old, void *shadow, Block *b, int old_kind,
                     int restore) {
    const int cnt = (!s->bp[0] && s->p01 >= 0x1p-10) | (!s->bp[1] && s->p10 >= 0x1p-10) << 1;
    switch (s->fmt) {
    case FP32: DN_KIND(FP32); break;
    case BF16: DN_KIND(BF16); break;
    case FP16: DN_KIND(FP16); break;
    case INT8: DN_KIND(INT8); break;
    }                        /* a new format: a case here too (Stream() accepts only the codes below NFMT) */
}

#undef DN_KIND
#undef DN_CNT
#undef DN
#undef DN_CAT
#undef DN_CAT2
