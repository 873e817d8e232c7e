#ifndef COTFORGE_COPENBLAS_SHIM_H
#define COTFORGE_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
