// Ends one level's inclusion of simd_impl.h: the names it defined are free for the next level.
#undef VF
#undef VI
#undef VU
#undef L
#undef INL
#undef FN
#undef VK_FOLD
