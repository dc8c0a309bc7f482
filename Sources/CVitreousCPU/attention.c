// The fused attention (declared at the end of include/CVitreousCPU.h), instantiated from attention_impl.h per
// instruction-set level as kernels.c does for the other kernels, and the scratch layout every level shares.
// No BLAS: the tile products are register-blocked micro-kernels here, so that the scores of one block of
// keys go from the Q·Kᵀ product through the online softmax into P·V while they are still in L1.
#include "CVitreousCPU.h"
#include "bf16.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Keys per block of the online softmax: one packed Kᵀ tile (head_dim × 64 floats) and one V tile
/// (64 × head_dim), 16 KiB each at head_dim 64, stay in L1 while every row group of a query block uses them.
#define VK_ATTENTION_KEYS 64

static ptrdiff_t round_up(ptrdiff_t x, ptrdiff_t multiple) { return (x + multiple - 1) / multiple * multiple; }

/// Where each part of one call's scratch lies (byte offsets, each 64-byte aligned) and the padded sizes.
typedef struct vk_attention_layout {
    ptrdiff_t key_blocks;  // ⌈tokens / VK_ATTENTION_KEYS⌉
    ptrdiff_t dim;         // head_dim rounded up to 16 floats (a whole number of vectors at every level)
    ptrdiff_t rows;        // the query block, a multiple of VK_ATTENTION_ROW_MULTIPLE
    size_t keys, values, bias, queries, accumulators, maxima, sums, scores, corrections, requests, pairs, bytes;
} vk_attention_layout;

static vk_attention_layout vk_attention_layout_of(const vk_attention_problem *p) {
    vk_attention_layout layout;
    layout.key_blocks = round_up(p->tokens, VK_ATTENTION_KEYS) / VK_ATTENTION_KEYS;
    layout.dim = round_up(p->head_dim, 16);
    layout.rows = round_up(p->query_block > 0 ? p->query_block : 1, VK_ATTENTION_ROW_MULTIPLE);
    const size_t padded_keys = (size_t)(layout.key_blocks * VK_ATTENTION_KEYS), f = sizeof(float);
    size_t at = 0;
#define VK_TAKE(field, size) layout.field = at, at += (size_t)round_up((ptrdiff_t)(size), 64)
    VK_TAKE(keys, padded_keys * (size_t)p->head_dim * f);  // Kᵀ per key block: [block][head_dim][64]
    VK_TAKE(values, padded_keys * (size_t)layout.dim * f);  // V: [padded keys][dim]
    VK_TAKE(bias, padded_keys * f);                          // 0 or −∞ per key (mask and padding)
    VK_TAKE(queries, (size_t)(layout.rows * layout.dim) * f);
    VK_TAKE(accumulators, (size_t)(layout.rows * layout.dim) * f);
    VK_TAKE(maxima, (size_t)layout.rows * f);
    VK_TAKE(sums, (size_t)layout.rows * f);
    VK_TAKE(scores, (size_t)(VK_ATTENTION_ROW_MULTIPLE * VK_ATTENTION_KEYS) * f);
    VK_TAKE(corrections, (size_t)VK_ATTENTION_ROW_MULTIPLE * f);
    VK_TAKE(requests, (size_t)layout.rows * sizeof(ptrdiff_t));
    VK_TAKE(pairs, (size_t)(VK_ATTENTION_ROW_MULTIPLE * VK_ATTENTION_KEYS / 2) * sizeof(uint32_t));  // bf16 numerators
#undef VK_TAKE
    layout.bytes = at;
    return layout;
}

ptrdiff_t vk_attention_work_items(const vk_attention_problem *p) {
    const ptrdiff_t rows = vk_attention_layout_of(p).rows;
    return p->batch * p->heads * ((p->tokens + rows - 1) / rows);
}

size_t vk_attention_scratch_bytes(const vk_attention_problem *p) { return vk_attention_layout_of(p).bytes; }

// Register tiles, VK_ROWS query rows × VK_VECTORS vectors of accumulators: 6 × 4 fill 24 of AVX-512's (and
// NEON's) 32 registers; x86's 16 registers below AVX-512 hold 6 × 2 with the 2 vectors of keys (or values)
// and the broadcast beside them.
#define VK_ROWS 6
#if defined(__aarch64__)
#define VK_VECTORS 4
#else
#define VK_VECTORS (VK_LEVEL_INDEX == 2 ? 4 : 2)
#endif
#define VK_LEVEL_IMPL "attention_impl.h"
#include "levels.h"

vk_attention_fn vk_attention_for(vk_level level) { return VK_LEVEL_ADDRESS(level, attention); }
