// The last N distinct 64-bit keys seen, for the rollup's dedup window: a ring of them in arrival
// order and an open-addressing table (linear probing, at most half full, backward-shift deletion)
// to find them. Replaces a deque plus an unordered_set, whose node allocation per reading cost
// ten times the lookup; 3 MB for a window of 131,072 keys instead of about 6.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sp {

class RecentKeys {
 public:
  explicit RecentKeys(size_t window);
  //! Adds key, forgetting the oldest when the window is full; false when key is already there.
  bool Insert(uint64_t key);
  void Clear();
  size_t size() const { return size_; }

 private:
  size_t Home(uint64_t key) const { return static_cast<size_t>(key * 0x9e3779b97f4a7c15ULL >> shift_); }
  bool Contains(uint64_t key) const;
  void Erase(uint64_t key);

  std::vector<uint64_t> ring_;   // the window, oldest at next_ once full
  size_t next_ = 0, size_ = 0;
  std::vector<uint64_t> table_;  // 0 marks an empty slot, so key 0 is kept aside
  bool has_zero_ = false;
  size_t mask_;
  int shift_;
};

}  // namespace sp
