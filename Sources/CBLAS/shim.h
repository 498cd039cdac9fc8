#ifndef LSTMFORMAT_CBLAS_SHIM_H
#define LSTMFORMAT_CBLAS_SHIM_H
#include <cblas.h>
#endif
