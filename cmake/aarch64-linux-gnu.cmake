# Cross-compiles for 64-bit Arm Linux (Raspberry Pi 3, 4, 5 and Zero 2 on a 64-bit OS) with Debian's
# crossbuild-essential-arm64, against the :arm64 library packages (scripts/build-arm64.sh installs both).
# Debian installs those beside the host's in multiarch folders (/usr/lib/aarch64-linux-gnu), not in a
# sysroot, so the root stays /: CMAKE_LIBRARY_ARCHITECTURE picks the arm64 folder for libraries and
# CMake packages, PKG_CONFIG_LIBDIR for pkg-config files.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# The host's libraries (/usr/lib/x86_64-linux-gnu) must never be found: only the arm64 folder and the
# architecture-independent ones (/usr/share for header-only packages such as toml11 and CLI11).
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Binaries built for the target run here under qemu-user, with the :arm64 packages' loader and libc
# (the cross toolchain's own, in /usr/aarch64-linux-gnu, is an older glibc: see tests/agent_arm64_test.cc).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
