/* oneDNN engine and stream per network, backend choice, the calling
 * thread's OpenMP setting, and thin wrappers that turn oneDNN failures into
 * sp statuses. */
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>

#include "core/omp_threads.h"
#include "nn.h"

static const sp_nn_options nn_defaults = SP_NN_OPTIONS_INIT;
static const sp__options_type nn_options_type = { "sp_nn_options", SP_NN_OPTIONS_VERSION, sizeof(sp_nn_options),
                                                  &nn_defaults, { 0 } };

int sp_nn_options_init(sp_nn_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &nn_options_type, "sp_nn_options_init");
}

int sp_nn_device_count(int backend, int *out)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_nn_device_count: out is NULL");
    *out = 0;
    if (backend == SP_BACKEND_CPU)
        *out = (int)dnnl_engine_get_count(dnnl_cpu);
    else if (backend == SP_BACKEND_GPU)
        *out = (int)dnnl_engine_get_count(dnnl_gpu);
    else
        return sp__error(SP_ERR_INVALID_ARG, "sp_nn_device_count: backend %d is not CPU or GPU", backend);
    return SP_OK;
}

int sp__dnnl_error(dnnl_status_t status, const char *what)
{
    int code = status == dnnl_out_of_memory ? SP_ERR_NOMEM
             : status == dnnl_unimplemented ? SP_ERR_UNSUPPORTED
             : status == dnnl_invalid_arguments ? SP_ERR_INVALID_ARG
                                                : SP_ERR_INTERNAL;
    return sp__error(code, "oneDNN: %s failed: %s", what, dnnl_status2str(status));
}

int sp__nn_create(sp__nn **out, const sp_nn_options *caller_opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "nn: out is NULL");
    *out = NULL;
    sp_nn_options read;
    int rc = sp__options_read(&read, caller_opts, &nn_options_type, "nn");
    if (rc != SP_OK)
        return rc;
    const sp_nn_options *opts = &read;
    if (opts->threads < 0 || opts->threads > 4096)
        return sp__error(SP_ERR_INVALID_ARG, "nn options: threads = %d is out of range", opts->threads);
    if (opts->precision != SP_PRECISION_F32 && opts->precision != SP_PRECISION_BF16)
        return sp__error(SP_ERR_INVALID_ARG, "nn options: unknown precision %d", opts->precision);

    int backend = opts->backend;
    size_t gpus = 0;
    switch (backend) {
    case SP_BACKEND_AUTO:
        gpus = dnnl_engine_get_count(dnnl_gpu);
        backend = gpus > 0 ? SP_BACKEND_GPU : SP_BACKEND_CPU;
        break;
    case SP_BACKEND_GPU:
        gpus = dnnl_engine_get_count(dnnl_gpu);
        if (gpus == 0)
            return sp__error(SP_ERR_NO_DEVICE,
                             "no GPU found: this oneDNN build drives Intel GPUs through OpenCL, and "
                             "dnnl_engine_get_count(dnnl_gpu) is 0 here; use SP_BACKEND_CPU or SP_BACKEND_AUTO");
        break;
    case SP_BACKEND_CPU:
        break;
    default:
        return sp__error(SP_ERR_INVALID_ARG, "nn options: unknown backend %d", backend);
    }

    sp__nn *nn = calloc(1, sizeof *nn);
    if (!nn)
        return sp__error(SP_ERR_NOMEM, "nn: out of memory");
    nn->backend = backend;
    nn->threads = opts->threads;
    nn->precision = opts->precision;
    nn->seed = opts->seed;
    SP__DNNL_TRY(dnnl_engine_create(&nn->engine, backend == SP_BACKEND_GPU ? dnnl_gpu : dnnl_cpu, 0),
                 "engine creation");
    SP__DNNL_TRY(dnnl_stream_create(&nn->stream, nn->engine, dnnl_stream_default_flags), "stream creation");
    *out = nn;
    return SP_OK;
fail:
    sp__nn_free(nn);
    return rc;
}

void sp__nn_free(sp__nn *nn)
{
    if (!nn)
        return;
    if (nn->stream)
        dnnl_stream_destroy(nn->stream);
    if (nn->engine)
        dnnl_engine_destroy(nn->engine);
    free(nn);
}

int sp__nn_threads_enter(const sp__nn *nn) { return sp__omp_enter(nn ? nn->threads : 0); }

void sp__nn_threads_leave(const sp__nn *nn, int saved) { sp__omp_leave(saved); }

int sp__nn_primitive(sp__nn *nn, const void *op_desc, const dnnl_primitive_attr_t attr,
                     const dnnl_primitive_desc_t hint, int refuse_ref, const char *what,
                     dnnl_primitive_desc_t *out_pd, dnnl_primitive_t *out_prim)
{
    int rc = SP_OK;
    dnnl_primitive_desc_t pd = NULL;
    *out_pd = NULL;
    *out_prim = NULL;
    /* Kernels are chosen for the thread count in force at creation. */
    int saved = sp__nn_threads_enter(nn);
    SP__DNNL_TRY(dnnl_primitive_desc_create(&pd, op_desc, attr, nn->engine, hint), what);
    if (refuse_ref) {
        const char *impl = NULL;
        SP__DNNL_TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl), what);
        if (impl && strstr(impl, "ref")) {
            rc = sp__error(SP_ERR_UNSUPPORTED,
                           "oneDNN: %s would run on the slow reference kernel '%s' (a memory format mix?)",
                           what, impl);
            goto fail;
        }
    }
    SP__DNNL_TRY(dnnl_primitive_create(out_prim, pd), what);
    sp__nn_threads_leave(nn, saved);
    *out_pd = pd;
    return SP_OK;
fail:
    sp__nn_threads_leave(nn, saved);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return rc;
}

int sp__nn_execute(sp__nn *nn, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                   const char *what)
{
    int rc = SP_OK;
    int saved = sp__nn_threads_enter(nn);
    SP__DNNL_TRY(dnnl_primitive_execute(prim, nn->stream, nargs, args), what);
    SP__DNNL_TRY(dnnl_stream_wait(nn->stream), what);
fail:
    sp__nn_threads_leave(nn, saved);
    return rc;
}

int sp__nn_reorder(sp__nn *nn, const dnnl_memory_desc_t *src_md, const dnnl_memory_desc_t *dst_md,
                   int accumulate, dnnl_primitive_t *out)
{
    int rc = SP_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    *out = NULL;
    SP__DNNL_TRY(dnnl_primitive_attr_create(&attr), "reorder attributes");
    if (accumulate) {
        SP__DNNL_TRY(dnnl_post_ops_create(&ops), "reorder post-ops");
        SP__DNNL_TRY(dnnl_post_ops_append_sum(ops, 1.0f), "reorder sum");
        SP__DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, ops), "reorder post-ops");
    }
    int saved = sp__nn_threads_enter(nn);
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, src_md, nn->engine, dst_md, nn->engine, attr);
    if (st == dnnl_success)
        st = dnnl_primitive_create(out, pd);
    sp__nn_threads_leave(nn, saved);
    SP__DNNL_TRY(st, "reorder");
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

int sp__nn_run_reorder(sp__nn *nn, dnnl_primitive_t reorder, dnnl_memory_t src, dnnl_memory_t dst)
{
    dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, src }, { DNNL_ARG_TO, dst } };
    return sp__nn_execute(nn, reorder, 2, args, "reorder");
}

int sp__nn_memory(sp__nn *nn, const dnnl_memory_desc_t *md, dnnl_memory_t *out)
{
    dnnl_status_t st = dnnl_memory_create(out, md, nn->engine, DNNL_MEMORY_ALLOCATE);
    if (st != dnnl_success) {
        *out = NULL;
        return sp__dnnl_error(st, "memory allocation");
    }
    return SP_OK;
}

const dnnl_memory_desc_t *sp__nn_query_md(dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

int sp__nn_map(dnnl_memory_t mem, void **out)
{
    dnnl_status_t st = dnnl_memory_map_data(mem, out);
    if (st != dnnl_success) {
        *out = NULL;
        return sp__dnnl_error(st, "memory map");
    }
    return SP_OK;
}

void sp__nn_unmap(dnnl_memory_t mem, void *ptr)
{
    if (mem && ptr)
        dnnl_memory_unmap_data(mem, ptr);
}

void sp__nn_destroy_primitive(dnnl_primitive_t *prim)
{
    if (*prim)
        dnnl_primitive_destroy(*prim);
    *prim = NULL;
}

void sp__nn_destroy_pd(dnnl_primitive_desc_t *pd)
{
    if (*pd)
        dnnl_primitive_desc_destroy(*pd);
    *pd = NULL;
}

void sp__nn_destroy_memory(dnnl_memory_t *mem)
{
    if (*mem)
        dnnl_memory_destroy(*mem);
    *mem = NULL;
}
