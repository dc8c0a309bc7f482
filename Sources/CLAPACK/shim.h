// The LAPACK routines Vitreous calls, from the OpenBLAS already linked for CBLAS (Debian's libopenblas0 exports
// the Fortran symbols; libopenblas-dev ships no LAPACK header, so the prototypes are declared here). Fortran
// passes everything by reference and appends the lengths of character arguments (gfortran's convention).
#ifndef VITREOUS_CLAPACK_SHIM_H
#define VITREOUS_CLAPACK_SHIM_H
#include <stddef.h>

/// Selected eigenvalues and eigenvectors of a real symmetric matrix (MRRR). See LAPACK's dsyevr documentation.
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info, size_t jobz_length, size_t range_length, size_t uplo_length);
#endif
