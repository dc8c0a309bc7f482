// The CPU backend's hot loops, compiled once per instruction-set level (AVX-512F, AVX2 + FMA, and the
// portable baseline: SSE2 on x86-64, NEON on aarch64) and chosen at run time. Every function works on
// rows a caller has already split over threads; none allocates, none keeps state.
#ifndef CVITREOUSCPU_H
#define CVITREOUSCPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels, lowest first.
typedef enum vk_level {
    VK_LEVEL_BASELINE = 0,
    VK_LEVEL_AVX2 = 1,
    VK_LEVEL_AVX512 = 2,
} vk_level;

/// One level's kernels. Pointers are row-major float32; `ld` arguments are row strides in elements.
typedef struct vk_kernels {
    /// "avx512", "avx2" or "baseline".
    const char *name;
    /// Vector width in floats.
    int lanes;

    /// y[i] = gelu(x[i]) (exact, erf form); x == y allowed.
    void (*gelu)(const float *x, float *y, ptrdiff_t count);
    /// y[i] = x[i] / (1 + e^-x[i]) * up[i] over rows of `hidden`: x holds [gate | up] per row of 2·hidden.
    void (*swiglu_rows)(const float *x, float *y, ptrdiff_t rows, ptrdiff_t hidden);
    /// y[i] = a[i] + b[i].
    void (*add)(const float *a, const float *b, float *y, ptrdiff_t count);
    /// In place per row of `columns` (stride ld): y += bias (when not NULL), then gelu when `gelu` != 0.
    void (*bias_activation_rows)(float *y, ptrdiff_t ld, const float *bias, ptrdiff_t rows, ptrdiff_t columns,
                                 int gelu);
    /// y = layerNorm(x (+ residual)) per row of `dim`; with `residual`, `sum` receives x + residual.
    void (*layer_norm_rows)(const float *x, const float *residual, float *sum, const float *weight,
                            const float *bias, ptrdiff_t rows, ptrdiff_t dim, float eps, float *y);
    /// y = residual + gamma ⊙ x per row of `columns`.
    void (*layer_scale_rows)(const float *x, const float *gamma, const float *residual, float *y,
                             ptrdiff_t rows, ptrdiff_t columns);
    /// The pre-norm block seam in one pass: sum = residual + gamma ⊙ x, y = layerNorm(sum).
    void (*layer_scale_norm_rows)(const float *x, const float *gamma, const float *residual, float *sum,
                                  const float *weight, const float *bias, ptrdiff_t rows, ptrdiff_t dim,
                                  float eps, float *y);
    /// norms[r] = ‖x row r‖₂ for rows of `dim`.
    void (*row_norms)(const float *x, ptrdiff_t rows, ptrdiff_t dim, float *norms);
    /// Attention rows [first_row, first_row + rows) of maps [maps, tokens, tokens] (row r is query r % tokens of
    /// map r / tokens): entropy[r] = −Σₖ p log p over the p > 0 (NaN skipped), float32 per row; for patch queries
    /// (first ≤ query < first + patches) also distance[map·patches + query − first] = Σⱼ p[first + j] ·
    /// distances[(query − first)·patches + j] over the patch keys.
    void (*attention_row_statistics)(const float *p, ptrdiff_t first_row, ptrdiff_t rows, ptrdiff_t tokens,
                                     const float *distances, ptrdiff_t first, ptrdiff_t patches, float *entropy,
                                     float *distance);
    /// Softmax per row of `columns` (an all −∞ row gives NaN, as PyTorch does).
    void (*softmax_rows)(const float *x, float *y, ptrdiff_t rows, ptrdiff_t columns);

    // The steps of softmax_rows, on one row of base-2 scores.
    /// line[i] = 2^(line[i] − shift) for line[i] − shift ≤ 0; returns their sum.
    float (*exp2_sum)(float *line, ptrdiff_t count, float shift);
    /// line[i] *= factor.
    void (*scale)(float *line, ptrdiff_t count, float factor);
} vk_kernels;

/// The highest level this CPU (and its operating system) supports.
vk_level vk_detect(void);

/// Nonzero when this build and this CPU have `level` (the AVX levels exist only on x86-64).
int vk_supported(vk_level level);

/// The kernels of `level`; the baseline's when `vk_supported(level)` is 0. Never NULL.
const vk_kernels *vk_kernels_for(vk_level level);

/// Copies image patches into rows: images [batch, channels, height, width] → out [batch · gh · gw,
/// channels · patch²] (channel, then row, then column within a patch), for patch rows [first, last).
void vk_patchify_rows(const float *images, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                      ptrdiff_t patch, ptrdiff_t first, ptrdiff_t last, float *out);

// MARK: Fused attention (attention.c): flash-style, one (batch item, head, query block) work item at a time.

/// One fused multi-head attention problem. Head `h` of token `t` in batch item `b` starts at float
/// `(b·tokens + t)·q_ld + h·head_dim` of `q` (likewise `k`, `v`, `out` with their own row strides).
/// For each query row: out = Σⱼ softmaxⱼ(scale · q·kⱼ) vⱼ over the keys not masked.
typedef struct vk_attention_problem {
    const float *q, *k, *v;
    ptrdiff_t q_ld, k_ld, v_ld;
    float *out;
    ptrdiff_t out_ld;
    ptrdiff_t batch, tokens, heads, head_dim;
    /// Multiplies q·k before the softmax.
    float scale;
    /// [batch, tokens] or NULL: a key whose value is exactly 0 is left out (probability exactly 0). A row
    /// with every key masked gets zeros (and zero probabilities).
    const float *key_mask;
    /// Query rows whose softmax probabilities to write to `probabilities`, [batch, heads, row_count, tokens]
    /// (repeats allowed); row_count 0 and NULLs for none.
    const ptrdiff_t *probability_rows;
    ptrdiff_t probability_row_count;
    float *probabilities;
    /// Query rows per work item; rounded up to a multiple of VK_ATTENTION_ROW_MULTIPLE.
    ptrdiff_t query_block;
    /// Nonzero: both products take bf16 operands, as a bf16 model computes them — Q, K and V rounded to bf16
    /// (to nearest, ties to even) when packed, the softmax numerators rounded before P·V (their sum is not);
    /// every product and sum stays float32. 1 computes them with float32 fused multiply-adds; 2 with VDPBF16PS
    /// at the AVX-512 level where vk_bf16_native_supported() (else as 1), the scale applied to the scores.
    int bf16;
} vk_attention_problem;

/// Query blocks are processed in groups of this many rows (one register tile; 6 at every level); every
/// query block is a multiple of it.
#define VK_ATTENTION_ROW_MULTIPLE 6

/// One level's attention: runs work items [first, last) of `problem` (see vk_attention_work_items) with
/// `scratch` (vk_attention_scratch_bytes bytes, 64-byte aligned, owned by this call). Items are ordered
/// (batch, head, query block); a caller splitting them over threads gives each thread a contiguous range
/// and its own scratch, so that each thread packs a head's keys and values once for all its query blocks.
typedef void (*vk_attention_fn)(const vk_attention_problem *problem, ptrdiff_t first, ptrdiff_t last,
                                void *scratch);

/// The number of work items: batch · heads · ⌈tokens / query block⌉.
ptrdiff_t vk_attention_work_items(const vk_attention_problem *problem);

/// Bytes of scratch one vk_attention_fn call needs (the packed keys and values of one head, one query
/// block's rows and accumulators): the same at every level.
size_t vk_attention_scratch_bytes(const vk_attention_problem *problem);

/// The attention of `level`; the baseline's when `vk_supported(level)` is 0. Never NULL.
vk_attention_fn vk_attention_for(vk_level level);

// ---- GEMM (gemm.c): C = act(A · B + bias) with B packed once, one copy per level. ----

/// The deepest K block the GEMM sums in registers before adding to C; K is split into the fewest blocks of at
/// most this many, the same at every level (so the levels sum in the same order).
#define VK_GEMM_MAX_DEPTH 768

/// One level's GEMM. Matrices are row-major float32.
typedef struct vk_gemm_kernels {
    /// "avx512", "avx2" or "baseline".
    const char *name;
    /// Rows and columns of the register tile; packed B has panels of `nr` columns.
    ptrdiff_t mr, nr;
    /// Floats of scratch memory one `gemm` call needs (its packed block of A).
    ptrdiff_t scratch_floats;
    /// Packs B into ⌈n / nr⌉ panels of [k][nr] (zero-padded columns): ⌈n / nr⌉ · nr · k floats. B is [n, k]
    /// (a PyTorch weight, C = A · Bᵀ) when `b_is_n_by_k`, else [k, n].
    void (*pack_b)(const float *b, int b_is_n_by_k, ptrdiff_t n, ptrdiff_t k, float *packed);
    /// Columns [first_column, last_column) of C = act(A · B + bias) for all m rows: A is [m, k] (row stride
    /// lda), `packed_b` from `pack_b` with the same n and k, bias [n] or NULL, GELU (exact, erf) when `gelu`.
    /// `first_column` is a multiple of nr; `last_column` is one or n. Callers split columns (and rows, by
    /// offsetting a and c) over threads.
    void (*gemm)(const float *a, ptrdiff_t lda, const float *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 ptrdiff_t first_column, ptrdiff_t last_column, const float *bias, int gelu, float *c,
                 ptrdiff_t ldc, float *scratch);
} vk_gemm_kernels;

/// The GEMM of `level`; the baseline's when `vk_supported(level)` is 0. Never NULL.
const vk_gemm_kernels *vk_gemm_kernels_for(vk_level level);

// ---- bf16 GEMM (gemm.c, gemm_bf16_impl.h): C = act(A · B + bias), A rounded to bf16 while packed, B packed once
// as bf16, every product and sum float32. ----

/// One bf16 GEMM: VDPBF16PS (AVX512-BF16) when `native`, else one level's emulation (fused multiply-adds on the
/// bf16 values as floats, the same sums in the same order). Both read the same packed B for a given `nr`.
typedef struct vk_gemm_bf16_kernels {
    /// "avx512bf16" for VDPBF16PS, else the emulating level's name.
    const char *name;
    /// 1 for VDPBF16PS.
    int native;
    /// Rows of the register tile; columns per packed panel of B (the level's two vectors).
    ptrdiff_t mr, nr;
    /// Bytes of scratch memory one `gemm` call needs, 64-byte aligned.
    ptrdiff_t scratch_bytes;
    /// Packs B ([n, k] row-major float32, a PyTorch weight) rounded to bf16 into ⌈n / nr⌉ panels of
    /// [⌈k/2⌉][nr] 32-bit pairs (depth 2q in the low half): ⌈n / nr⌉ · nr · ⌈k/2⌉ words.
    void (*pack_b)(const float *b, ptrdiff_t n, ptrdiff_t k, uint32_t *packed);
    /// As vk_gemm_kernels.gemm, with `packed_b` from `pack_b` of a kernel with the same `nr`.
    void (*gemm)(const float *a, ptrdiff_t lda, const uint32_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 ptrdiff_t first_column, ptrdiff_t last_column, const float *bias, int gelu, float *c,
                 ptrdiff_t ldc, void *scratch);
} vk_gemm_bf16_kernels;

/// Nonzero when this CPU (and its operating system) runs VDPBF16PS on 512-bit registers.
int vk_bf16_native_supported(void);

/// The bf16 GEMM of `level`: VDPBF16PS when `native` is nonzero, `level` is AVX-512 and the CPU has it, else the
/// level's emulation (the baseline's when `vk_supported(level)` is 0). Never NULL.
const vk_gemm_bf16_kernels *vk_gemm_bf16_kernels_for(vk_level level, int native);

/// The float32 values ([n, k], exactly the bf16 values) of a B packed by a kernel with `nr` columns per panel.
void vk_gemm_bf16_unpack_b(const uint32_t *packed, ptrdiff_t nr, ptrdiff_t n, ptrdiff_t k, float *b);

/// x rounded to the nearest bf16 (ties to even), as the kernels round; NaN stays NaN.
float vk_bf16_round_float(float x);

// ---- Worker threads (pool.c): the parallel sections of the CPU backend. ----

/// One task of a parallel section: `task` is its index in [0, tasks).
typedef void (*vk_pool_task)(void *context, ptrdiff_t task);

/// Runs `task(context, i)` for every i in [0, tasks) on the process's worker threads (started on first use,
/// `threads − 1` of them) and the calling thread, and returns 0 once all have returned. Returns −1 without
/// running anything for more than 65535 tasks, or when the pool is running another caller's section (a second
/// thread's, or one nested in a task): the caller then runs the section by other means. Workers spin for the
/// next section for VK_POOL_DEFAULT_SPIN_US (see vk_pool_set_spin) before they sleep.
int vk_pool_run(int threads, ptrdiff_t tasks, vk_pool_task task, void *context);

/// Worker threads started so far (the calling thread not counted).
int vk_pool_workers(void);

/// How long workers spin for the next section before they sleep unless vk_pool_set_spin says otherwise, in
/// microseconds: long enough to bridge the serial stretches between the sections of one pass, short enough that
/// an idle process gives its cores back at once.
#define VK_POOL_DEFAULT_SPIN_US 2000

/// How long workers spin for the next section before they sleep, in microseconds (0: sleep at once).
void vk_pool_set_spin(long long microseconds);

#ifdef __cplusplus
}
#endif

#endif
