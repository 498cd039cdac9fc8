#ifndef LSTMFORMAT_CZLIB_SHIM_H
#define LSTMFORMAT_CZLIB_SHIM_H
#include <zlib.h>
#endif
