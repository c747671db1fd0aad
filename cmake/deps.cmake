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
  # OpenBLAS's own queries (thread count, CPU kernels), for the record of what computed a CPU run.
  include(CheckSymbolExists)
  set(CMAKE_REQUIRED_INCLUDES ${LRP_CBLAS_INCLUDE_DIR})
  set(CMAKE_REQUIRED_LIBRARIES ${LRP_CBLAS_LIBRARY} Threads::Threads)
  check_symbol_exists(openblas_get_num_threads cblas.h LRP_HAVE_OPENBLAS_INFO)
  unset(CMAKE_REQUIRED_INCLUDES)
  unset(CMAKE_REQUIRED_LIBRARIES)
endif()
find_package(Threads REQUIRED)
