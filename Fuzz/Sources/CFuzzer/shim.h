#ifndef LSTMFORMAT_CFUZZER_H
#define LSTMFORMAT_CFUZZER_H
#include <stddef.h>
#include <stdint.h>
/// libFuzzer's entry point for programs with their own main (compiler-rt FuzzerDriver.cpp), from
/// libclang_rt.fuzzer_no_main, which scripts/fuzz.sh links.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
