//! Covariance helpers and the trace of a matrix square root (LAPACK).
