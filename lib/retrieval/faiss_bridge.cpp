// The few FAISS C API functions the retriever uses, implemented on the C++
// library, for builds without libfaiss_c (Debian ships only the headers).
// Same signatures and error convention as upstream's C API; hidden visibility.
#include <cstddef>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexIVF.h>
#include <faiss/clone_index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

extern "C" {
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/clone_index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
}

namespace {

thread_local std::exception_ptr last_exception;

// Upstream's error codes: -2 for FAISS exceptions, -4 for other C++ ones.
template <typename F>
int guarded(F &&body)
{
    try {
        body();
        return 0;
    } catch (const faiss::FaissException &) {
        last_exception = std::current_exception();
        return -2;
    } catch (const std::exception &) {
        last_exception = std::current_exception();
        return -4;
    } catch (...) {
        last_exception = std::make_exception_ptr(std::runtime_error("unknown error"));
        return -1;
    }
}

faiss::Index *cxx(FaissIndex *index) { return reinterpret_cast<faiss::Index *>(index); }
const faiss::Index *cxx(const FaissIndex *index) { return reinterpret_cast<const faiss::Index *>(index); }

} // namespace

extern "C" {

const char *faiss_get_last_error()
{
    if (!last_exception)
        return nullptr;
    try {
        std::rethrow_exception(last_exception);
    } catch (const std::exception &e) {
        return e.what(); // lives as long as last_exception holds it
    } catch (...) {
        return "unknown error";
    }
}

int faiss_index_factory(FaissIndex **p_index, int d, const char *description, FaissMetricType metric)
{
    return guarded([&] {
        *p_index = reinterpret_cast<FaissIndex *>(
                faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
    });
}

void faiss_Index_free(FaissIndex *obj) { delete cxx(obj); }
int faiss_Index_d(const FaissIndex *index) { return cxx(index)->d; }
int faiss_Index_is_trained(const FaissIndex *index) { return cxx(index)->is_trained; }
idx_t faiss_Index_ntotal(const FaissIndex *index) { return cxx(index)->ntotal; }

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x)
{
    return guarded([&] { cxx(index)->train(n, x); });
}

int faiss_Index_add(FaissIndex *index, idx_t n, const float *x)
{
    return guarded([&] { cxx(index)->add(n, x); });
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k, float *distances,
                       idx_t *labels)
{
    return guarded([&] { cxx(index)->search(n, x, k, distances, labels); });
}

int faiss_Index_sa_code_size(const FaissIndex *index, size_t *size)
{
    return guarded([&] { *size = cxx(index)->sa_code_size(); });
}

int faiss_Index_sa_encode(const FaissIndex *index, idx_t n, const float *x, uint8_t *bytes)
{
    return guarded([&] { cxx(index)->sa_encode(n, x, bytes); });
}

int faiss_clone_index(const FaissIndex *index, FaissIndex **p_out)
{
    return guarded([&] { *p_out = reinterpret_cast<FaissIndex *>(faiss::clone_index(cxx(index))); });
}

int faiss_write_index(const FaissIndex *idx, FILE *f)
{
    return guarded([&] { faiss::write_index(cxx(idx), f); });
}

// The C header's FAISS_IO_FLAG_MMAP (1) is not 1.7.3's C++ IO_FLAG_MMAP,
// so the flags are translated here rather than passed through.
int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out)
{
    int flags = 0;
    if (io_flags & FAISS_IO_FLAG_MMAP)
        flags |= faiss::IO_FLAG_MMAP;
    if (io_flags & FAISS_IO_FLAG_READ_ONLY)
        flags |= faiss::IO_FLAG_READ_ONLY;
    return guarded([&] { *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, flags)); });
}

void faiss_ParameterSpace_free(FaissParameterSpace *space)
{
    delete reinterpret_cast<faiss::ParameterSpace *>(space);
}

int faiss_ParameterSpace_new(FaissParameterSpace **space)
{
    return guarded([&] { *space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace()); });
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space, FaissIndex *index,
                                             const char *name, double value)
{
    return guarded([&] {
        reinterpret_cast<const faiss::ParameterSpace *>(space)->set_index_parameter(cxx(index), name,
                                                                                   value);
    });
}

// The C struct mirrors faiss::IndexIVFStats field by field (upstream casts too).
static_assert(sizeof(FaissIndexIVFStats) == sizeof(faiss::IndexIVFStats), "IndexIVFStats layout");
static_assert(offsetof(FaissIndexIVFStats, ndis) == offsetof(faiss::IndexIVFStats, ndis), "IndexIVFStats layout");

FaissIndexIVFStats *faiss_get_indexIVF_stats()
{
    return reinterpret_cast<FaissIndexIVFStats *>(&faiss::indexIVF_stats);
}

void faiss_IndexIVFStats_reset(FaissIndexIVFStats *stats)
{
    reinterpret_cast<faiss::IndexIVFStats *>(stats)->reset();
}

} // extern "C"
