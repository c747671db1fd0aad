# LRP_CUDA_EMULATION (tests only): the CUDA backend built by the host compiler against the CUDA emulation of
# tests/cuda_emu (kernels run as CPU fibers; cudart/cuBLAS/cuDNN subsets on host memory), so every CUDA-vs-CPU
# test runs on a machine without a GPU. Needs the toolkit's headers only. Never a substitute for a GPU run.
find_package(CUDAToolkit REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{CUDNN_PATH} PATH_SUFFIXES include)
if(NOT CUDNN_INCLUDE_DIR)
  message(FATAL_ERROR "LRP_CUDA_EMULATION needs cudnn.h (set CUDNN_PATH)")
endif()
set(LRP_EMU_DIR ${PROJECT_SOURCE_DIR}/tests/cuda_emu)
add_library(lrp_cudnn INTERFACE)
target_include_directories(lrp_cudnn INTERFACE ${CUDNN_INCLUDE_DIR})
file(GLOB LRP_EMU_SOURCES CONFIGURE_DEPENDS ${LRP_EMU_DIR}/src/*.cpp)
add_library(lrp_cuda_emu STATIC ${LRP_EMU_SOURCES})
target_include_directories(lrp_cuda_emu PUBLIC ${LRP_EMU_DIR}/include ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
target_compile_options(lrp_cuda_emu PRIVATE -Wno-deprecated-declarations)
find_package(Threads REQUIRED)
target_link_libraries(lrp_cuda_emu PUBLIC Threads::Threads)
set(LRP_HAVE_CUDA ON)
set(LRP_HAVE_CUDNN ON)
set(LRP_CUDA_LIBS lrp_cuda_emu lrp_cudnn CUDA::nvtx3)

# nvcc contracts a * b + c into fused multiply-adds by default (--fmad=true); LRP_EMU_FMA does so in the emulated
# kernels (needs a CPU with FMA), so a test that expects bitwise CPU/CUDA equality where a GPU would round
# differently fails here too.
option(LRP_EMU_FMA "contract multiply-adds in the emulated kernels as nvcc does (x86-64 with FMA)" OFF)
set(LRP_EMU_FLAGS "-include;lrp_emu/device.h;-Wno-deprecated-declarations;-Wno-unused-parameter;-Wno-unknown-pragmas")
if(LRP_EMU_FMA)
  list(APPEND LRP_EMU_FLAGS -mfma -ffp-contract=fast)
endif()

# The .cu files with their launches rewritten (tests/cuda_emu/rewrite_launch.py), compiled as C++ with the
# emulated device builtins force-included.
function(lrp_emulated_cuda_sources out)
  set(result)
  foreach(cu ${ARGN})
    get_filename_component(name ${cu} NAME_WE)
    set(cpp ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu/${name}.cpp)
    add_custom_command(OUTPUT ${cpp}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu
      COMMAND Python3::Interpreter ${LRP_EMU_DIR}/rewrite_launch.py ${cu} ${cpp}
      DEPENDS ${cu} ${LRP_EMU_DIR}/rewrite_launch.py VERBATIM)
    set_source_files_properties(${cpp} PROPERTIES
      COMPILE_OPTIONS "${LRP_EMU_FLAGS}"
      INCLUDE_DIRECTORIES "${LRP_EMU_DIR}/include;${CMAKE_CURRENT_SOURCE_DIR}/cuda")
    list(APPEND result ${cpp})
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
