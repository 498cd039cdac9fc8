#ifndef CFLOATCONVERSION_H
#define CFLOATCONVERSION_H

#include <stddef.h>
#include <stdint.h>

/// float32 -> float16 bits, round to nearest-even (IEEE 754 binary16, subnormals kept, NaN stays NaN).
/// Uses the CPU's F16C conversion instructions when it has them, a software rounding otherwise.
/// `src` and `dst` may be unaligned.
void lstmformat_f32_to_f16(const void *src, void *dst, size_t count);

/// float16 bits -> float32 (exact).
void lstmformat_f16_to_f32(const void *src, void *dst, size_t count);

/// 1 when the hardware path is used (for benchmarks and tests that exercise both paths).
int lstmformat_has_f16c(void);

/// The software paths, always available (tests compare them with the hardware path).
void lstmformat_f32_to_f16_software(const void *src, void *dst, size_t count);
void lstmformat_f16_to_f32_software(const void *src, void *dst, size_t count);

#endif
