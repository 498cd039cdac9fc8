#ifndef LSTMFORMAT_CLIBDEFLATE_SHIM_H
#define LSTMFORMAT_CLIBDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
