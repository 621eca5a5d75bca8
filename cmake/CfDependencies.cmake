# Find every dependency (DESIGN.md, "Dependencies") and fail with the Debian
# package that provides it. The result is CF_DEP_TARGETS, the list the library
# links against publicly.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

set(CF_DEP_TARGETS "")
set(CF_PC_REQUIRES "")

# cf_require_pkg(<name> <pkg-config module> <debian package>)
macro(cf_require_pkg name module debpkg)
  pkg_check_modules(CFDEP_${name} QUIET IMPORTED_TARGET ${module})
  if(NOT CFDEP_${name}_FOUND)
    message(FATAL_ERROR
      "carbonflux needs ${name} (pkg-config module '${module}'), which was not found.\n"
      "On Debian 12: apt-get install ${debpkg}")
  endif()
  list(APPEND CF_DEP_TARGETS PkgConfig::CFDEP_${name})
  string(APPEND CF_PC_REQUIRES " ${module}")
  message(STATUS "carbonflux: ${name} ${CFDEP_${name}_VERSION}")
endmacro()

cf_require_pkg(GDAL     gdal          libgdal-dev)
cf_require_pkg(HDF5     hdf5          libhdf5-dev)
cf_require_pkg(FFTW3    fftw3         libfftw3-dev)
cf_require_pkg(FFTW3F   fftw3f        libfftw3-dev)
cf_require_pkg(PROJ     proj          libproj-dev)
cf_require_pkg(NETCDF   netcdf        libnetcdf-dev)
cf_require_pkg(LAPACKE  lapacke       liblapacke-dev)
cf_require_pkg(OPENBLAS openblas      libopenblas-dev)
cf_require_pkg(YAML     yaml-0.1      libyaml-dev)
cf_require_pkg(SQLITE3  sqlite3       libsqlite3-dev)
cf_require_pkg(PLPLOT   plplot        "libplplot-dev plplot-driver-cairo")
cf_require_pkg(CRYPTO   libcrypto     libssl-dev)
cf_require_pkg(DEFLATE  libdeflate    libdeflate-dev) # raster/tile_codec.c: the COG writer's DEFLATE
cf_require_pkg(ZSTD     libzstd       libzstd-dev)    # and ZSTD tiles

find_package(OpenMP COMPONENTS C)
if(NOT OpenMP_C_FOUND)
  message(FATAL_ERROR "carbonflux needs OpenMP for C. On Debian 12: apt-get install gcc (libgomp1)")
endif()
list(APPEND CF_DEP_TARGETS OpenMP::OpenMP_C)

# cmocka is needed for the tests only.
if(CF_BUILD_TESTS)
  pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET cmocka)
  if(NOT CMOCKA_FOUND)
    message(FATAL_ERROR "the tests need cmocka. On Debian 12: apt-get install libcmocka-dev "
                        "(or configure with -DCF_BUILD_TESTS=OFF)")
  endif()
endif()

# Open MPI is optional (README, "Running on several nodes (MPI)"). CF_MPI:
# AUTO uses it when find_package finds it, ON requires it, OFF never looks.
# Only core/par.c includes mpi.h and sees CF_HAVE_MPI (set in CMakeLists.txt):
# the rest of the library calls core/par.h, which is the one-rank identity
# without MPI, so both builds compile the same code everywhere else.
set(CF_MPI AUTO CACHE STRING "Build with MPI: AUTO (if found), ON (required) or OFF")
set_property(CACHE CF_MPI PROPERTY STRINGS AUTO ON OFF)
set(CF_HAVE_MPI OFF)
if(NOT CF_MPI STREQUAL "OFF")
  if(CF_MPI STREQUAL "ON")
    find_package(MPI COMPONENTS C)
    if(NOT MPI_C_FOUND)
      message(FATAL_ERROR "CF_MPI=ON but MPI for C was not found. On Debian 12: "
                          "apt-get install libopenmpi-dev openmpi-bin (or configure with -DCF_MPI=OFF)")
    endif()
  else()
    find_package(MPI COMPONENTS C QUIET)
  endif()
  if(MPI_C_FOUND)
    set(CF_HAVE_MPI ON)
    message(STATUS "carbonflux: MPI ${MPI_C_VERSION} (multi-node runs available; mpiexec ${MPIEXEC_EXECUTABLE})")
  else()
    message(STATUS "carbonflux: MPI not found, building the one-rank version")
  endif()
endif()
