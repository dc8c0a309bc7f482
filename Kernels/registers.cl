// registers.cl — test-time registers: move chosen MLP neurons' activations into an extra token.
//
// Layout: h is the MLP hidden activation [batch, tokens, hidden] (after the nonlinearity), edited in place;
// neurons holds the chosen hidden indices as floats (exact below 2^24). Token ranges [regBegin, regEnd)
// are the test-time registers, [patchBegin, patchEnd) the patches.
//   rule 0, joint signed max: m = the entry of h[b, every token, neurons] largest in magnitude (sign kept,
//           the positive one on a tie); registers get scale·m in every chosen neuron, patches 0, the rest
//           (CLS, trained registers) is left as it is.
//   rule 1, per-neuron max: for each neuron r, m_r = max over tokens of h[b, t, r]; registers get scale·m_r,
//           every other token 0.
// Launch: one work-group of SHIFT_WG items per batch item; global = batch · SHIFT_WG.
//
// Tunables (override with -D):
//   SHIFT_WG  work-group size, a power of two

#ifndef SHIFT_WG
#define SHIFT_WG 64
#endif

// The joint rule's order: larger magnitude wins, then the positive value, so the result does not depend
// on which item saw which entry.
inline bool shift_larger(float a, float b) {
    return fabs(a) > fabs(b) || (fabs(a) == fabs(b) && a > b);
}

__kernel __attribute__((reqd_work_group_size(SHIFT_WG, 1, 1)))
void neuron_shift(__global float* h, __global const float* neurons, const int count, const int tokens,
                  const int hidden, const int regBegin, const int regEnd, const int patchBegin,
                  const int patchEnd, const int rule, const float scale) {
    const int lid = get_local_id(0);
    __global float* base = h + (size_t)get_group_id(0) * tokens * hidden;
    __local float best[SHIFT_WG];
    const int entries = tokens * count;
    if (rule == 0) {
        float m = 0.0f;
        for (int i = lid; i < entries; i += SHIFT_WG) {
            const float v = base[(size_t)(i / count) * hidden + (int)neurons[i % count]];
            if (shift_larger(v, m)) m = v;
        }
        best[lid] = m;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int stride = SHIFT_WG / 2; stride > 0; stride >>= 1) {
            if (lid < stride && shift_larger(best[lid + stride], best[lid])) best[lid] = best[lid + stride];
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        m = best[0];
        for (int i = lid; i < entries; i += SHIFT_WG) {
            const int t = i / count;
            __global float* cell = base + (size_t)t * hidden + (int)neurons[i % count];
            if (t >= regBegin && t < regEnd) *cell = scale * m;
            else if (t >= patchBegin && t < patchEnd) *cell = 0.0f;
        }
    } else {
        for (int k = 0; k < count; ++k) {
            const int r = (int)neurons[k];
            float m = -INFINITY;
            for (int t = lid; t < tokens; t += SHIFT_WG) m = fmax(m, base[(size_t)t * hidden + r]);
            best[lid] = m;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int stride = SHIFT_WG / 2; stride > 0; stride >>= 1) {
                if (lid < stride) best[lid] = fmax(best[lid], best[lid + stride]);
                barrier(CLK_LOCAL_MEM_FENCE);
            }
            m = best[0];
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int t = lid; t < tokens; t += SHIFT_WG) {
                base[(size_t)t * hidden + r] = (t >= regBegin && t < regEnd) ? scale * m : 0.0f;
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
    }
}
