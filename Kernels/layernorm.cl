// layernorm.cl — layer norm over the last axis, plain and fused with a residual add.
//
// Layout: x, residual, sum, y are row-major [rows, dim]; weight and bias are [dim].
//   layer_norm:      y = (x - mean) / sqrt(var + eps) * weight + bias
//   add_layer_norm:  sum = x + residual;  y = layer_norm(sum)   (sum is the new residual stream)
// Launch: one work-group of LN_WG work-items per row; global size = rows * LN_WG.
// Mean and variance come from two work-group reductions (mean first, then the squared deviations
// from it), which is as accurate as Welford and needs no division per element.
//
// Tunables (override with -D):
//   LN_WG   work-group size, a power of two (1 for CPU devices, where one item per row vectorises best)

#ifndef LN_WG
#define LN_WG 128
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

// Normalises one row that `row` points at and writes it to `out`.
inline void ln_row(__global const float* row, __global float* out,
                   __global const float* weight, __global const float* bias,
                   const int dim, const float eps, __local float* scratch) {
    const int lid = get_local_id(0);
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
    for (int i = get_local_id(0); i < dim; i += LN_WG) sum[offset + i] = x[offset + i] + residual[offset + i];
    barrier(CLK_GLOBAL_MEM_FENCE);
    ln_row(sum + offset, y + offset, weight, bias, dim, eps, scratch);
}
