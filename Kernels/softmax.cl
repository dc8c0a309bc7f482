// softmax.cl — softmax over the last axis.
//
// Layout: x and y row-major [rows, columns].
// Launch: one work-group of SM_WG items per row; global = rows * SM_WG.
// The row max is subtracted before exp (as every stable softmax does); a row of all -inf gives NaN,
// as PyTorch does.
//
// Tunables (override with -D):
//   SM_WG  work-group size, a power of two

#ifndef SM_WG
#define SM_WG 128
#endif

__kernel __attribute__((reqd_work_group_size(SM_WG, 1, 1)))
void softmax_rows(__global const float* x, __global float* y, const int columns) {
    const int lid = get_local_id(0);
    const size_t offset = (size_t)get_group_id(0) * columns;
    __local float scratch[SM_WG];
    float partial = -INFINITY;
    for (int i = lid; i < columns; i += SM_WG) partial = fmax(partial, x[offset + i]);
    scratch[lid] = partial;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = SM_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] = fmax(scratch[lid], scratch[lid + stride]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float maximum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    partial = 0.0f;
    for (int i = lid; i < columns; i += SM_WG) {
        const float e = exp(x[offset + i] - maximum);
        y[offset + i] = e;
        partial += e;
    }
    scratch[lid] = partial;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = SM_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float inverse = 1.0f / scratch[0];
    for (int i = lid; i < columns; i += SM_WG) y[offset + i] *= inverse;
}
