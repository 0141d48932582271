/**
 * @file nn.h
 * @brief Compute backend choice and the options shared by every network the
 *        library runs on oneDNN. The networks themselves have no public API
 *        yet: this header is all of the nn module that is public today.
 */
#ifndef SEMIPARAM_NN_H
#define SEMIPARAM_NN_H

#include <stdint.h>

#include "semiparam/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Where a network runs.
 * @since 0.1
 */
typedef enum sp_backend {
    SP_BACKEND_AUTO = 0, /**< a GPU when oneDNN finds one, else the CPU */
    SP_BACKEND_CPU = 1,  /**< the CPU (OpenMP threads) */
    SP_BACKEND_GPU = 2   /**< the first GPU; SP_ERR_NO_DEVICE when there is none */
} sp_backend;

/**
 * Arithmetic of inference (training always runs in f32).
 * @since 0.1
 */
typedef enum sp_precision {
    SP_PRECISION_F32 = 0,  /**< 32-bit floats everywhere */
    SP_PRECISION_BF16 = 1  /**< bfloat16 convolutions, f32 inputs and outputs; needs CPU support */
} sp_precision;

/** Current version of sp_nn_options. @since 0.1 */
#define SP_NN_OPTIONS_VERSION 1

/**
 * How a network is run. Fields are only ever appended; set @c version to
 * SP_NN_OPTIONS_VERSION (SP_NN_OPTIONS_INIT or sp_nn_options_init() do).
 * @since 0.1
 */
typedef struct sp_nn_options {
    uint32_t version;   /**< SP_NN_OPTIONS_VERSION */
    int backend;        /**< an sp_backend; default SP_BACKEND_AUTO */
    int threads;        /**< OpenMP threads used by the calling thread during library
                             calls (restored afterwards); 0 keeps the caller's setting */
    int precision;      /**< an sp_precision for inference; default SP_PRECISION_F32 */
    uint64_t seed;      /**< seed of the deterministic parameter initialisation; default 1 */
} sp_nn_options;

/** Static initialiser with the defaults. @since 0.1 */
#define SP_NN_OPTIONS_INIT { SP_NN_OPTIONS_VERSION, SP_BACKEND_AUTO, 0, SP_PRECISION_F32, 1 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_NN_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_nn_options_init(sp_nn_options *opts, uint32_t version);

/**
 * Number of devices oneDNN can drive for @p backend (SP_BACKEND_CPU or
 * SP_BACKEND_GPU) in @p out. Debian's oneDNN drives Intel GPUs through
 * OpenCL only; on other machines the GPU count is 0. Thread-safe.
 * @return SP_OK, or SP_ERR_INVALID_ARG for a NULL out or another backend.
 * @since 0.1
 */
SP_API int sp_nn_device_count(int backend, int *out);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_NN_H */
