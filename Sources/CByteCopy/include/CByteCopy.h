#ifndef CBYTECOPY_H
#define CBYTECOPY_H

#include <stddef.h>

/// dst[c * dst_stride + r] = src[r * src_stride + c] for a rows x cols block of 4-byte elements (strides in
/// elements): the gate transposes of the layout layer (Spec/layout.md, G6). Bytes move unchanged. Uses AVX2
/// 8 x 8 register transposes inside cache tiles when the CPU has AVX2, a tiled scalar loop otherwise.
void lstmformat_transpose32(const void *src, size_t src_stride, void *dst, size_t dst_stride, size_t rows, size_t cols);

/// The tiled scalar path, always available (tests compare it with the AVX2 path).
void lstmformat_transpose32_scalar(const void *src, size_t src_stride, void *dst, size_t dst_stride, size_t rows, size_t cols);

/// 1 when lstmformat_transpose32 uses AVX2.
int lstmformat_transpose32_has_avx2(void);

#endif
