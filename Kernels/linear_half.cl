// linear_half.cl — a linear layer whose weight is stored as IEEE half: C = act(A · Wᵀ + bias).
//
// Layout: A [m, k] float32 row-major (the activations); W [n, k] half row-major (nn.Linear's weight, two bytes
// an element, read with the OpenCL 1.2 core vload_half, so no extension is needed); bias [n] float32 or absent
// (has_bias 0); C [m, n] float32. act 0 = identity, 1 = exact GELU (elementwise.cl's formula).
//
// Launch (linear_half): 1-D, one work-group per LH_TM × LH_TN tile of C, tiles in row-major order over C:
// group g covers rows (g / ceil(n / LH_TN)) · LH_TM and columns (g % ceil(n / LH_TN)) · LH_TN; a group has
// LH_ITEMS = (LH_TM / LH_WM) · (LH_TN / LH_WN) items, global = groups · LH_ITEMS. Each step over k, the group
// copies an LH_TM × LH_TK slice of A and an LH_TN × LH_TK slice of W (widened to float) into local memory,
// k-major, zero outside the matrices (any m, n, k); then each item accumulates its LH_WM × LH_WN outputs, which
// are strided across the tile (item (y, x) owns rows y + i · LH_TM / LH_WM, columns x + j · LH_TN / LH_WN) so
// that neighbouring items read neighbouring local words and write neighbouring columns of C.
// Arithmetic: float32 products and sums (fma), each LH_TK-long step summed on its own and added to the totals.
//
// LH_HALF_MATH (set by the host only when the device reports cl_khr_fp16): the tiles hold half (A rounded to
// half as it is copied), each LH_TK-long step's products are summed in half, and those partial sums are added
// into float32 accumulators. Half storage for the activations as well, half the local memory, and the double
// rate of half arithmetic on GPUs that have it; the cost is A's rounding and a half-precision sum of LH_TK
// terms per step (see the Kernels article).
//
// Launch (to_half, from_half): 1-D, one item per element, global = round_up(count, EW_WG).
//
// Tunables (override with -D; the host checks LH_TM % LH_WM == 0, LH_TN % LH_WN == 0, LH_ITEMS within the
// device's work-group limit and both tiles within its local memory):
//   LH_TM, LH_TN   rows and columns of C per work-group
//   LH_TK          k per step (the depth of the local tiles)
//   LH_WM, LH_WN   rows and columns of C per work-item

#ifndef LH_TM
#define LH_TM 64
#endif
#ifndef LH_TN
#define LH_TN 64
#endif
#ifndef LH_TK
#define LH_TK 16
#endif
#ifndef LH_WM
#define LH_WM 4
#endif
#ifndef LH_WN
#define LH_WN 4
#endif

#define LH_TY (LH_TM / LH_WM)
#define LH_TX (LH_TN / LH_WN)
#define LH_ITEMS (LH_TX * LH_TY)

#ifdef LH_HALF_MATH
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
typedef half lh_tile_t;
#else
typedef float lh_tile_t;
#endif

#ifndef M_SQRT1_2_F  // OpenCL C 1.2 defines it; elementwise.cl's value where a compiler does not
#define M_SQRT1_2_F 0.70710678118654752440f
#endif

inline float gelu_exact(float x) { return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F)); }

__kernel __attribute__((reqd_work_group_size(LH_ITEMS, 1, 1)))
void linear_half(__global const float* a, __global const half* w, __global const float* bias,
                 __global float* c, const int m, const int n, const int k, const int has_bias, const int act) {
    __local lh_tile_t a_tile[LH_TK][LH_TM];
    __local lh_tile_t w_tile[LH_TK][LH_TN];
    const int item = get_local_id(0);
    const int x = item % LH_TX, y = item / LH_TX;
    const int tiles_n = (n + LH_TN - 1) / LH_TN;
    const int row0 = (int)(get_group_id(0) / tiles_n) * LH_TM;
    const int col0 = (int)(get_group_id(0) % tiles_n) * LH_TN;

    float acc[LH_WM][LH_WN];
    for (int i = 0; i < LH_WM; ++i)
        for (int j = 0; j < LH_WN; ++j) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < k; k0 += LH_TK) {
        // Consecutive items read consecutive k of one row: contiguous global reads.
        for (int e = item; e < LH_TM * LH_TK; e += LH_ITEMS) {
            const int r = e / LH_TK, kk = e % LH_TK, row = row0 + r, col = k0 + kk;
            a_tile[kk][r] = (lh_tile_t)(row < m && col < k ? a[row * k + col] : 0.0f);
        }
        for (int e = item; e < LH_TN * LH_TK; e += LH_ITEMS) {
            const int r = e / LH_TK, kk = e % LH_TK, row = col0 + r, col = k0 + kk;
            w_tile[kk][r] = (lh_tile_t)(row < n && col < k ? vload_half(row * k + col, w) : 0.0f);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // Each step's products sum on their own (in half with LH_HALF_MATH), then join the float32 totals.
        lh_tile_t part[LH_WM][LH_WN];
        for (int i = 0; i < LH_WM; ++i)
            for (int j = 0; j < LH_WN; ++j) part[i][j] = (lh_tile_t)0.0f;
        for (int kk = 0; kk < LH_TK; ++kk) {
            lh_tile_t ar[LH_WM], wr[LH_WN];
            for (int i = 0; i < LH_WM; ++i) ar[i] = a_tile[kk][y + i * LH_TY];
            for (int j = 0; j < LH_WN; ++j) wr[j] = w_tile[kk][x + j * LH_TX];
            for (int i = 0; i < LH_WM; ++i)
                for (int j = 0; j < LH_WN; ++j) part[i][j] = fma(ar[i], wr[j], part[i][j]);
        }
        for (int i = 0; i < LH_WM; ++i)
            for (int j = 0; j < LH_WN; ++j) acc[i][j] += (float)part[i][j];
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < LH_WM; ++i) {
        const int row = row0 + y + i * LH_TY;
        if (row >= m) continue;
        for (int j = 0; j < LH_WN; ++j) {
            const int col = col0 + x + j * LH_TX;
            if (col >= n) continue;
            float v = acc[i][j];
            if (has_bias) v += bias[col];
            if (act == 1) v = gelu_exact(v);
            c[row * n + col] = v;
        }
    }
}

// y[i] = x[i] rounded to half, to nearest with ties to even (as numpy's float16 and PyTorch's .half() round).
__kernel void to_half(__global const float* x, __global half* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) vstore_half_rte(x[i], i, y);
}

// y[i] = x[i] widened to float (exact).
__kernel void from_half(__global const half* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = vload_half(i, x);
}
