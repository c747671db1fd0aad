# Third-party dependencies from Debian packages (scripts/install-deps.sh installs them).
# CBLAS (OpenBLAS) is optional: without it (or with -DLRP_ENABLE_CBLAS=OFF) the CPU GEMM uses lrpcu's own
# blocked kernel.
set(LRP_HAVE_CBLAS OFF)
if(LRP_ENABLE_CBLAS)
  find_path(LRP_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas include/openblas include/x86_64-linux-gnu/openblas-pthread)
  find_library(LRP_CBLAS_LIBRARY NAMES openblas cblas PATH_SUFFIXES openblas-pthread x86_64-linux-gnu/openblas-pthread)
endif()
if(LRP_ENABLE_CBLAS AND LRP_CBLAS_INCLUDE_DIR AND LRP_CBLAS_LIBRARY)
  add_library(lrp_cblas INTERFACE)
  target_include_directories(lrp_cblas INTERFACE ${LRP_CBLAS_INCLUDE_DIR})
  target_link_libraries(lrp_cblas INTERFACE ${LRP_CBLAS_LIBRARY})
  set(LRP_HAVE_CBLAS ON)
  # OpenBLAS's own queries (CPU kernels), for the record of what computed a CPU run, and its thread setting (lrpcu
  # holds it at one thread and tiles products itself). Checked anew at every configure (the library found may have
  # changed); libopenblas brings its own thread library.
  include(CheckCXXSourceCompiles)
  unset(LRP_HAVE_OPENBLAS_INFO CACHE)
  set(CMAKE_REQUIRED_INCLUDES ${LRP_CBLAS_INCLUDE_DIR})
  set(CMAKE_REQUIRED_LIBRARIES ${LRP_CBLAS_LIBRARY})
  set(CMAKE_REQUIRED_QUIET ON)
  check_cxx_source_compiles("#include <cblas.h>
int main() {
  openblas_set_num_threads(1);
  return openblas_get_parallel() + (openblas_get_config() != nullptr) + (openblas_get_corename() != nullptr);
}"
                            LRP_HAVE_OPENBLAS_INFO)
  unset(CMAKE_REQUIRED_INCLUDES)
  unset(CMAKE_REQUIRED_LIBRARIES)
  unset(CMAKE_REQUIRED_QUIET)
  if(NOT LRP_HAVE_OPENBLAS_INFO AND LRP_CBLAS_LIBRARY MATCHES "openblas")
    message(WARNING "${LRP_CBLAS_LIBRARY} lacks OpenBLAS's openblas_get_* queries: runs record the CPU GEMM as "
                    "'CBLAS', and products are not tiled over lrpcu's threads (OpenBLAS's own thread count then "
                    "changes the rounding)")
  endif()
endif()
find_package(Threads REQUIRED)
