// COpenBLAS: no stable API. Only Sources/TokenMDP/Linalg imports this module.
// Debian: libopenblas-dev (cblas.h), liblapacke-dev (lapacke.h).
#include <cblas.h>
#include <lapacke.h>
