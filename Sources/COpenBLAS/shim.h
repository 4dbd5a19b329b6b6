// COpenBLAS: no stable API. Only Sources/TokenMDP/Linalg imports this module.
// Debian: libopenblas-dev (cblas.h), liblapacke-dev (lapacke.h).
#include <cblas.h>
#include <lapacke.h>

// OpenBLAS (pthreads build) starts its worker pool when the library loads;
// the idle workers spin for a while before sleeping. Exported by
// libopenblas0-pthread; used by Linalg.releaseIdleWorkers().
int blas_thread_shutdown_(void);
