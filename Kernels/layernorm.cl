// layernorm.cl — layer norm over the last axis, plain and fused with a residual add.
//
// Layout: x, residual, sum, y are row-major [rows, dim]; weight and bias are [dim].
//   layer_norm:      y = (x - mean) / sqrt(var + eps) * weight + bias
//   add_layer_norm:  sum = x + residual;  y = layer_norm(sum)   (sum is the new residual stream)
// Launch: one work-group of LN_WG work-items per row; global size = rows * LN_WG.
// Mean and variance come from two work-group reductions (mean first, then the squared deviations
// from it), which is as accurate as Welford and needs no division per element.
// Rows whose length is a multiple of LN_VEC are read as floatN vectors with one partial sum per lane:
// strict IEEE float reductions do not auto-vectorise, so the kernel vectorises by hand.
//
// Tunables (override with -D):
//   LN_WG   work-group size, a power of two (1 on CPU devices: one item per row, vectorised by LN_VEC)
//   LN_VEC  vector width of loads, 4 or 8

#ifndef LN_WG
#define LN_WG 128
#endif
#ifndef LN_VEC
#define LN_VEC 4
#endif

#if LN_VEC == 8
typedef float8 lnvec;
#define LN_LOAD vload8
#define LN_STORE vstore8
#define LN_HSUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3 + (v).s4 + (v).s5 + (v).s6 + (v).s7)
#else
typedef float4 lnvec;
#define LN_LOAD vload4
#define LN_STORE vstore4
#define LN_HSUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3)
#endif

// Sum of `value` over the work-group; every item gets the result.
inline float ln_group_sum(float value, __local float* scratch) {
#if LN_WG == 1
    return value;
#else
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = LN_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
#endif
}

// Normalises the row at `row` into `out`.
inline void ln_row(__global const float* row, __global float* out,
                   __global const float* weight, __global const float* bias,
                   const int dim, const float eps, __local float* scratch) {
    const int lid = get_local_id(0);
    if (dim % LN_VEC == 0) {
        const int vectors = dim / LN_VEC;
        lnvec acc = 0.0f;
        for (int i = lid; i < vectors; i += LN_WG) acc += LN_LOAD(i, row);
        const float mean = ln_group_sum(LN_HSUM(acc), scratch) / (float)dim;
        acc = 0.0f;
        for (int i = lid; i < vectors; i += LN_WG) {
            const lnvec d = LN_LOAD(i, row) - mean;
            acc += d * d;
        }
        const float rstd = rsqrt(ln_group_sum(LN_HSUM(acc), scratch) / (float)dim + eps);
        for (int i = lid; i < vectors; i += LN_WG) {
            LN_STORE((LN_LOAD(i, row) - mean) * rstd * LN_LOAD(i, weight) + LN_LOAD(i, bias), i, out);
        }
    } else {
        float partial = 0.0f;
        for (int i = lid; i < dim; i += LN_WG) partial += row[i];
        const float mean = ln_group_sum(partial, scratch) / (float)dim;
        partial = 0.0f;
        for (int i = lid; i < dim; i += LN_WG) {
            const float d = row[i] - mean;
            partial += d * d;
        }
        const float rstd = rsqrt(ln_group_sum(partial, scratch) / (float)dim + eps);
        for (int i = lid; i < dim; i += LN_WG) out[i] = (row[i] - mean) * rstd * weight[i] + bias[i];
    }
}

__kernel __attribute__((reqd_work_group_size(LN_WG, 1, 1)))
void layer_norm(__global const float* x, __global float* y,
                __global const float* weight, __global const float* bias,
                const int dim, const float eps) {
    __local float scratch[LN_WG];
    const size_t offset = (size_t)get_group_id(0) * dim;
    ln_row(x + offset, y + offset, weight, bias, dim, eps, scratch);
}

__kernel __attribute__((reqd_work_group_size(LN_WG, 1, 1)))
void add_layer_norm(__global const float* x, __global const float* residual, __global float* sum,
                    __global float* y, __global const float* weight, __global const float* bias,
                    const int dim, const float eps) {
    __local float scratch[LN_WG];
    const size_t offset = (size_t)get_group_id(0) * dim;
    // Each item reads back only the elements it writes here, so the barrier is not needed for the values; it
    // keeps PoCL's work-group compiler correct (without it, groups of 16 or more items corrupted memory).
    if (dim % LN_VEC == 0) {
        for (int i = get_local_id(0); i < dim / LN_VEC; i += LN_WG) {
            LN_STORE(LN_LOAD(i, x + offset) + LN_LOAD(i, residual + offset), i, sum + offset);
        }
    } else {
        for (int i = get_local_id(0); i < dim; i += LN_WG) sum[offset + i] = x[offset + i] + residual[offset + i];
    }
#if LN_WG > 1
    barrier(CLK_GLOBAL_MEM_FENCE);
#endif
    ln_row(sum + offset, y + offset, weight, bias, dim, eps, scratch);
}
