#ifndef LSTMFORMAT_CZLIB_SHIM_H
#define LSTMFORMAT_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)); Swift cannot call it directly.
/// Raw deflate (no zlib or gzip wrapper), as zip members store it.
static inline int lstm_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}
#endif
