/* The learned embedder's PCA fitted directly in the compact form: the
 * sample's covariance by ssyrk, then only its top dim_out eigenvectors by
 * LAPACK's ssyevr. FAISS's PCAMatrix::train, for n >= d_in, asks LAPACK for
 * all d_in eigenvectors of that covariance (hours for a 5,184-value layer);
 * asking for the top 64 only leaves the tridiagonal reduction, bisection,
 * inverse iteration and a 64-column back-transformation.
 *
 * Float, with the mean in double and each row centred in double before
 * the cast (no cancellation left for the products). Measured on the real
 * "repr" layer, 50,000 positions, 64 components: the float fit's rows and
 * those of the same fit in double (dsyrk, dsyevr) agree to |<f_i, d_i>| >=
 * 0.9999999 each, including the last ones whose eigenvalues differ by 0.15%,
 * and float took 0.42x the wall time of double on the same loaded machine;
 * double buys nothing here. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/omp_threads.h"
#include "embed/embed_internal.h"

/* LAPACK's Fortran symbol (no lapacke.h here); the trailing lengths are the
 * hidden string arguments gfortran passes for the three CHARACTER ones. */
void ssyevr_(const char *jobz, const char *range, const char *uplo, const int *n, float *a, const int *lda,
             const float *vl, const float *vu, const int *il, const int *iu, const float *abstol, int *m, float *w,
             float *z, const int *ldz, int *isuppz, float *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t range_len, size_t uplo_len);

/* Rows centred per ssyrk call: bounds the centred copy of the sample to
 * CHUNK x dim_in (10 MB for a 5,184-value layer) instead of a second n x dim_in. */
#define CHUNK 512

void sp__embed_mean(const float *x, uint64_t n, size_t din, double *mean)
{
    memset(mean, 0, din * sizeof *mean);
    for (uint64_t r = 0; r < n; r++)
        for (size_t j = 0; j < din; j++)
            mean[j] += x[r * din + j];
    for (size_t j = 0; j < din; j++)
        mean[j] /= (double)n;
}

/* The upper triangle (row-major) of (X - m)^T (X - m) / n, a chunk of rows
 * centred at a time. */
static void covariance(const float *x, uint64_t n, size_t din, const double *mean, float *chunk, float *cov)
{
    memset(cov, 0, din * din * sizeof *cov);
    for (uint64_t first = 0; first < n; first += CHUNK) {
        size_t rows = n - first < CHUNK ? (size_t)(n - first) : CHUNK;
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < din; j++)
                chunk[r * din + j] = (float)((double)x[(first + r) * din + j] - mean[j]);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)din, (int)rows, (float)(1.0 / (double)n), chunk,
                    (int)din, 1.0f, cov, (int)din);
    }
}

/* The top dim_out eigenvectors of cov (destroyed) into z (column-major,
 * ascending eigenvalues, as LAPACK returns them); w has din floats. The
 * row-major upper triangle is the column-major lower one. */
static int top_eigenvectors(float *cov, int din, int dout, float *w, float *z, const char *who)
{
    const float zero = 0.0f;
    const int il = din - dout + 1, iu = din;
    int found = 0, info = 0, lwork = -1, liwork = -1, iwork_size = 0;
    float work_size = 0.0f;
    int *isuppz = malloc(2 * (size_t)dout * sizeof *isuppz);
    if (!isuppz)
        return sp__error(SP_ERR_NOMEM, "%s: out of memory for the eigensolver", who);
    /* Workspace query first: its sizes depend on LAPACK's block sizes. */
    ssyevr_("V", "I", "L", &din, cov, &din, &zero, &zero, &il, &iu, &zero, &found, w, z, &din, isuppz, &work_size,
            &lwork, &iwork_size, &liwork, &info, 1, 1, 1);
    float *work = NULL;
    int *iwork = NULL;
    if (info == 0 && work_size >= 1.0f && work_size < 1e9f && iwork_size >= 1) {
        lwork = (int)work_size;
        liwork = iwork_size;
        work = malloc((size_t)lwork * sizeof *work);
        iwork = malloc((size_t)liwork * sizeof *iwork);
    }
    int rc = SP_OK;
    if (info != 0)
        rc = sp__error(SP_ERR_INTERNAL, "%s: LAPACK ssyevr's workspace query failed (info %d)", who, info);
    else if (!work || !iwork)
        rc = sp__error(SP_ERR_NOMEM, "%s: out of memory for the eigensolver's workspace (%g floats)", who,
                       (double)work_size);
    if (rc == SP_OK) {
        ssyevr_("V", "I", "L", &din, cov, &din, &zero, &zero, &il, &iu, &zero, &found, w, z, &din, isuppz, work,
                &lwork, iwork, &liwork, &info, 1, 1, 1);
        if (info != 0)
            rc = sp__error(SP_ERR_INTERNAL, "%s: LAPACK ssyevr failed (info %d) on the %d x %d covariance", who,
                           info, din, din);
        else if (found != dout)
            rc = sp__error(SP_ERR_INTERNAL, "%s: LAPACK ssyevr found %d eigenvectors, %d asked", who, found, dout);
    }
    free(work);
    free(iwork);
    free(isuppz);
    return rc;
}

/* A's rows in descending eigenvalue order (as FAISS's PCAMatrix orders
 * them), each signed so its largest-magnitude entry (the first of equals)
 * is positive: an eigenvector's sign is LAPACK's arbitrary choice, and
 * this makes a fit's keys reproducible whatever the LAPACK build. */
static void ordered_rows(const float *z, size_t din, size_t dout, float *a)
{
    for (size_t i = 0; i < dout; i++) {
        const float *v = z + (dout - 1 - i) * din;
        size_t top = 0;
        for (size_t j = 1; j < din; j++)
            if (fabsf(v[j]) > fabsf(v[top]))
                top = j;
        float sign = v[top] < 0 ? -1.0f : 1.0f;
        for (size_t j = 0; j < din; j++)
            a[i * din + j] = sign * v[j];
    }
}

/* The centre kept is the mean's part in A's row space, A^T A m, as
 * sp_pca_components() documents for every PCA (it is all A sees); `s`
 * holds dout doubles of scratch. */
static void projected_centre(const float *a, const double *mean, size_t din, size_t dout, double *s, float *centre)
{
    for (size_t i = 0; i < dout; i++) {
        s[i] = 0.0;
        for (size_t j = 0; j < din; j++)
            s[i] += (double)a[i * din + j] * mean[j];
    }
    for (size_t j = 0; j < din; j++) {
        double c = 0.0;
        for (size_t i = 0; i < dout; i++)
            c += s[i] * a[i * din + j];
        centre[j] = (float)c;
    }
}

int sp__pca_fit_compact(sp_pca **out, const float *x, uint64_t n, uint32_t dim_in, uint32_t dim_out,
                        uint32_t threads, const char *who)
{
    if (!who)
        who = "sp__pca_fit_compact";
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "%s: out is NULL", who);
    *out = NULL;
    if (!x)
        return sp__error(SP_ERR_INVALID_ARG, "%s: the sample is NULL", who);
    if (n < 2)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %llu samples; the PCA needs at least 2", who,
                         (unsigned long long)n);
    if (dim_out == 0 || dim_out > dim_in)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %u -> %u dimensions; need 0 < dim_out <= dim_in", who, dim_in,
                         dim_out);
    /* BLAS and LAPACK count in int; ssyevr's workspace is 26 dim_in and its
     * integer one 10 dim_in. */
    if (dim_in > INT_MAX / 26 || (uint64_t)dim_in * dim_in > SIZE_MAX / sizeof(double))
        return sp__error(SP_ERR_INVALID_ARG, "%s: %u input values are too many for BLAS and LAPACK's int sizes", who,
                         dim_in);
    const size_t din = dim_in, dout = dim_out;
    double *mean = malloc(din * sizeof *mean);
    float *chunk = malloc(CHUNK * din * sizeof *chunk);
    float *cov = malloc(din * din * sizeof *cov);
    float *w = malloc(din * sizeof *w); /* ssyevr's W is dim_in long: it also works there */
    float *z = malloc(din * dout * sizeof *z);
    double *scratch = malloc(dout * sizeof *scratch);
    float *a = malloc((dout * din + din) * sizeof *a);
    int rc = mean && chunk && cov && w && z && scratch && a
                 ? SP_OK
                 : sp__error(SP_ERR_NOMEM, "%s: out of memory for the %u x %u covariance", who, dim_in, dim_in);
    if (rc == SP_OK) {
        sp__embed_mean(x, n, din, mean);
        /* OpenBLAS (the OpenMP build) follows the calling thread's OpenMP
         * team size, so this sets the threads of ssyrk and ssyevr too. */
        int previous = sp__omp_enter((int)threads);
        covariance(x, n, din, mean, chunk, cov);
        free(chunk);
        chunk = NULL;
        rc = top_eigenvectors(cov, (int)din, (int)dout, w, z, who);
        sp__omp_leave(previous);
    }
    if (rc == SP_OK) {
        ordered_rows(z, din, dout, a);
        projected_centre(a, mean, din, dout, scratch, a + dout * din);
        rc = sp__pca_compact_from(out, a, a + dout * din, dim_in, dim_out, who);
    }
    free(mean);
    free(chunk);
    free(cov);
    free(w);
    free(z);
    free(scratch);
    free(a);
    return rc;
}
