/*
 * Runs llama.cpp's own reference quantizers and dequantizers, loaded from the
 * libggml-base shared library that node-llama-cpp ships, so ggml-blocks.test.ts
 * can compare @trit/ternary's codecs with ggml byte for byte.
 *
 *   ggml-oracle LIB quantize   TYPE IN.f32 OUT.bin ELEMENTS
 *   ggml-oracle LIB dequantize TYPE IN.bin OUT.f32 ELEMENTS
 *
 * TYPE is a ggml suffix such as q4_K; the symbols are quantize_row_TYPE_ref
 * and dequantize_row_TYPE (both take the element count as int64_t).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*row_fn)(const void *src, void *dst, int64_t elements);

static void *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(2); }
    fseek(file, 0, SEEK_END);
    *size = (size_t)ftell(file);
    fseek(file, 0, SEEK_SET);
    void *data = malloc(*size + 1);
    if (fread(data, 1, *size, file) != *size) { perror(path); exit(2); }
    fclose(file);
    return data;
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: ggml-oracle LIB quantize|dequantize TYPE IN OUT ELEMENTS\n"); return 2; }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    int quantize = strcmp(argv[2], "quantize") == 0;
    char symbol[64];
    snprintf(symbol, sizeof symbol, quantize ? "quantize_row_%s_ref" : "dequantize_row_%s", argv[3]);
    row_fn fn = (row_fn)dlsym(library, symbol);
    if (!fn) { fprintf(stderr, "missing symbol %s\n", symbol); return 4; }
    int64_t elements = strtoll(argv[6], NULL, 10);
    size_t in_size;
    void *in = read_file(argv[4], &in_size);
    /* 2 bytes per element bounds every block type; the caller reads only the bytes its type has */
    size_t out_size = quantize ? (size_t)elements * 2 : (size_t)elements * sizeof(float);
    void *out = calloc(out_size, 1);
    fn(in, out, elements);
    FILE *file = fopen(argv[5], "wb");
    if (!file) { perror(argv[5]); return 2; }
    fwrite(out, 1, out_size, file);
    fclose(file);
    return 0;
}
