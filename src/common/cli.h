// Command-line parsing shared by the binaries: bad arguments print the error and the usage and
// give exit code 2; --help prints the usage and gives 0.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

namespace sp {

//! Parses argv into app. Returns the exit code to leave with, or nothing to carry on.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (app.exit(e) == 0) return 0;  // --help
    std::cerr << "\n" << app.help();
    return 2;
  }
}

}  // namespace sp
