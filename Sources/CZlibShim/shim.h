#ifndef LSTMFORMAT_CZLIB_SHIM_H
#define LSTMFORMAT_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)); Swift cannot call it directly.
/// Raw deflate (no zlib or gzip wrapper), as zip members store it.
static inline int lstm_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}

/// crc32_combine with a 64-bit length whatever zlib's large-file macros say (Spec/keras-mapping.md, K-W9).
static inline unsigned long lstm_crc32_combine(unsigned long crc1, unsigned long crc2, long long len2) {
    return crc32_combine(crc1, crc2, (z_off_t)len2);
}
#endif
