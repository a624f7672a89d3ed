// N-API addon that exposes OpenBLAS's single-precision GEMM, and a tiled transpose, to JavaScript.
// It works directly on the memory of Float32Arrays (including views of a WebAssembly heap), so
// nothing is copied.
#define NAPI_VERSION 8
#include <cblas.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

// These are OpenBLAS extensions. Weak references leave them NULL when the linked BLAS is another
// CBLAS implementation, so the addon still loads and only the thread controls are missing.
#pragma weak openblas_set_num_threads
#pragma weak openblas_get_num_threads
#pragma weak openblas_get_config

#define CHECK(call)                                                                                \
  if ((call) != napi_ok) {                                                                         \
    napi_throw_error(env, NULL, "openblas addon: invalid argument type");                          \
    return NULL;                                                                                   \
  }

static int get_float32_array(napi_env env, napi_value value, float **data, int64_t *length) {
  napi_typedarray_type type;
  size_t count = 0;
  void *pointer = NULL;
  if (napi_get_typedarray_info(env, value, &type, &count, &pointer, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    return 0;
  }
  *data = (float *)pointer;
  *length = (int64_t)count;
  return 1;
}

// Returns 1 when `batch` matrices of `size` elements starting at `offset`, `stride` apart, all lie
// inside an array of `length` elements. Written with a division so that no product can overflow.
static int fits(int64_t offset, int64_t stride, int64_t size, int64_t batch, int64_t length) {
  if (offset < 0 || stride < 0 || size > length || offset > length - size) {
    return 0;
  }
  const int64_t room = length - size - offset;
  return stride == 0 || batch - 1 <= room / stride;
}

// sgemmBatch(transposeA, transposeB, m, n, k, a, aOffset, aStride, b, bOffset, bStride,
//            c, cOffset, cStride, batch)
// For i in [0, batch): C_i = op(A_i) x op(B_i), all row-major and contiguous, where op(A_i) is
// m x k and op(B_i) is k x n. Offsets and strides count float32 elements. Requires m, n, k >= 1.
static napi_value sgemm_batch(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 15) {
    napi_throw_error(env, NULL, "sgemmBatch: expected 15 arguments");
    return NULL;
  }

  bool transpose_a = false;
  bool transpose_b = false;
  CHECK(napi_get_value_bool(env, argv[0], &transpose_a));
  CHECK(napi_get_value_bool(env, argv[1], &transpose_b));
  int32_t m = 0, n = 0, k = 0;
  CHECK(napi_get_value_int32(env, argv[2], &m));
  CHECK(napi_get_value_int32(env, argv[3], &n));
  CHECK(napi_get_value_int32(env, argv[4], &k));
  float *arrays[3];
  int64_t lengths[3], offsets[3], strides[3], batch = 0;
  for (int i = 0; i < 3; i++) {
    if (!get_float32_array(env, argv[5 + 3 * i], &arrays[i], &lengths[i])) {
      napi_throw_type_error(env, NULL, "sgemmBatch: a, b and c must be Float32Arrays");
      return NULL;
    }
    CHECK(napi_get_value_int64(env, argv[6 + 3 * i], &offsets[i]));
    CHECK(napi_get_value_int64(env, argv[7 + 3 * i], &strides[i]));
  }
  CHECK(napi_get_value_int64(env, argv[14], &batch));

  if (m < 1 || n < 1 || k < 1 || batch < 1) {
    napi_throw_range_error(env, NULL, "sgemmBatch: m, n, k and batch must be at least 1");
    return NULL;
  }
  const int64_t sizes[3] = {(int64_t)m * k, (int64_t)k * n, (int64_t)m * n};
  for (int i = 0; i < 3; i++) {
    if (!fits(offsets[i], strides[i], sizes[i], batch, lengths[i])) {
      napi_throw_range_error(env, NULL, "sgemmBatch: a matrix extends past the end of its array");
      return NULL;
    }
  }

  const int lda = transpose_a ? m : k;
  const int ldb = transpose_b ? k : n;
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                transpose_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                arrays[0] + offsets[0] + i * strides[0], lda,
                arrays[1] + offsets[1] + i * strides[1], ldb, 0.0f,
                arrays[2] + offsets[2] + i * strides[2], n);
  }
  return NULL;
}

// transposeBlocks(outer, rows, cols, inner, src, srcOffset, dst, dstOffset)
// Views src as [outer, rows, cols, inner] (row-major) and writes dst as [outer, cols, rows, inner]:
// the transpose that swaps two adjacent axes. Tiles of TILE x TILE keep both sides in cache.
#define TILE 32
static napi_value transpose_blocks(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) {
    napi_throw_error(env, NULL, "transposeBlocks: expected 8 arguments");
    return NULL;
  }

  int64_t dims[4], offsets[2], lengths[2];
  float *arrays[2];
  for (int i = 0; i < 4; i++) {
    CHECK(napi_get_value_int64(env, argv[i], &dims[i]));
  }
  for (int i = 0; i < 2; i++) {
    if (!get_float32_array(env, argv[4 + 2 * i], &arrays[i], &lengths[i])) {
      napi_throw_type_error(env, NULL, "transposeBlocks: src and dst must be Float32Arrays");
      return NULL;
    }
    CHECK(napi_get_value_int64(env, argv[5 + 2 * i], &offsets[i]));
  }

  const int64_t outer = dims[0], rows = dims[1], cols = dims[2], inner = dims[3];
  if (outer < 1 || rows < 1 || cols < 1 || inner < 1 || rows > INT32_MAX / cols ||
      rows * cols > INT32_MAX / inner) {
    napi_throw_range_error(env, NULL, "transposeBlocks: dimensions must be at least 1 and small");
    return NULL;
  }

  const int64_t size = rows * cols * inner;
  for (int i = 0; i < 2; i++) {
    if (!fits(offsets[i], size, size, outer, lengths[i])) {
      napi_throw_range_error(env, NULL, "transposeBlocks: a tensor extends past its array");
      return NULL;
    }
  }

  for (int64_t o = 0; o < outer; o++) {
    const float *src = arrays[0] + offsets[0] + o * size;
    float *dst = arrays[1] + offsets[1] + o * size;
    for (int64_t i0 = 0; i0 < rows; i0 += TILE) {
      const int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows;
      for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
        const int64_t j1 = j0 + TILE < cols ? j0 + TILE : cols;
        for (int64_t j = j0; j < j1; j++) {
          for (int64_t i = i0; i < i1; i++) {
            const float *from = src + (i * cols + j) * inner;
            float *to = dst + (j * rows + i) * inner;
            for (int64_t e = 0; e < inner; e++) {
              to[e] = from[e];
            }
          }
        }
      }
    }
  }
  return NULL;
}

// setNumThreads(n): returns true when the BLAS library exports openblas_set_num_threads.
static napi_value set_num_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t threads = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &threads));
  napi_value result;
  if (openblas_set_num_threads != NULL && threads >= 1) {
    openblas_set_num_threads(threads);
  }
  napi_get_boolean(env, openblas_set_num_threads != NULL && threads >= 1, &result);
  return result;
}

// getNumThreads(): the OpenBLAS thread count, or -1 when the library does not report it.
static napi_value get_num_threads(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_create_int32(env, openblas_get_num_threads != NULL ? openblas_get_num_threads() : -1,
                    &result);
  return result;
}

// getConfig(): OpenBLAS's build description (version, kernel, threading), or null.
static napi_value get_config(napi_env env, napi_callback_info info) {
  napi_value result;
  if (openblas_get_config == NULL) {
    napi_get_null(env, &result);
  } else {
    napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"sgemmBatch", NULL, sgemm_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"transposeBlocks", NULL, transpose_blocks, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNumThreads", NULL, set_num_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getNumThreads", NULL, get_num_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getConfig", NULL, get_config, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
