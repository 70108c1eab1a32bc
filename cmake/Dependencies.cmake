# Every dependency comes from a Debian package (scripts/bootstrap.sh installs them) except DuckDB,
# whose C library and header scripts/fetch-duckdb.sh unpacks from npm into .cache/duckdb.
# Prefer pkg-config files and CMake targets: Debian's cpp-httplib, for one, needs the defines its
# .pc file carries, and date-tz needs USE_OS_TZDB from its target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(toml11 REQUIRED)
find_package(date REQUIRED)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
# The lines above are all the device side links; the cross build for the Pi (SP_AGENT_ONLY) stops
# here, since the daemon's libraries below may not exist for its architecture (simdjson does not).
if(SP_AGENT_ONLY)
  return()
endif()
pkg_check_modules(SIMDJSON REQUIRED IMPORTED_TARGET simdjson)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(EXPAT REQUIRED IMPORTED_TARGET expat)
# librdkafka: its mock cluster hosts the tests' Kafka (tests/support/kafka_cluster.h).
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
if(SP_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SP_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

set(SP_DUCKDB_DIR ${CMAKE_SOURCE_DIR}/.cache/duckdb CACHE PATH "Where fetch-duckdb.sh put libduckdb.so and duckdb.h")
if(NOT EXISTS ${SP_DUCKDB_DIR}/lib/libduckdb.so)
  message(FATAL_ERROR "DuckDB not found in ${SP_DUCKDB_DIR}: run scripts/fetch-duckdb.sh")
endif()
add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES
  IMPORTED_LOCATION ${SP_DUCKDB_DIR}/lib/libduckdb.so
  INTERFACE_INCLUDE_DIRECTORIES ${SP_DUCKDB_DIR}/include)
# The binaries find libduckdb.so next to the cache through their RUNPATH, so no install step is needed.
set(CMAKE_BUILD_RPATH ${SP_DUCKDB_DIR}/lib)
