// CRC-32C (Castagnoli), the checksum of log batches and checkpoints. Uses the SSE 4.2 / ARMv8
// CRC instruction when the CPU has it, a table otherwise; both give the same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sp::crc32c {

//! Extends crc (the value of the bytes before data) over data. Value(data) == Extend(0, data).
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

}  // namespace sp::crc32c
