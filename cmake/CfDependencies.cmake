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

# Open MPI is optional (multi-node batch); detected, not required.
find_package(MPI COMPONENTS C QUIET)
if(MPI_C_FOUND)
  message(STATUS "carbonflux: MPI found (multi-node batch available)")
endif()
