#include "rollup/recent_keys.h"

#include <algorithm>
#include <bit>

namespace sp {

RecentKeys::RecentKeys(size_t window) : ring_(std::max<size_t>(window, 1)) {
  const size_t slots = std::bit_ceil(ring_.size() * 2);
  table_.assign(slots, 0);
  mask_ = slots - 1;
  shift_ = 64 - std::countr_zero(slots);
}

void RecentKeys::Clear() {
  std::fill(table_.begin(), table_.end(), 0);
  has_zero_ = false;
  next_ = size_ = 0;
}

bool RecentKeys::Insert(uint64_t key) {
  if (key == 0 ? has_zero_ : Contains(key)) return false;
  if (size_ == ring_.size()) {
    Erase(ring_[next_]);
    --size_;
  }
  if (key == 0) {
    has_zero_ = true;
  } else {
    size_t i = Home(key);
    while (table_[i] != 0) i = (i + 1) & mask_;
    table_[i] = key;
  }
  ring_[next_] = key;
  next_ = (next_ + 1) % ring_.size();
  ++size_;
  return true;
}

bool RecentKeys::Contains(uint64_t key) const {
  for (size_t i = Home(key); table_[i] != 0; i = (i + 1) & mask_) {
    if (table_[i] == key) return true;
  }
  return false;
}

void RecentKeys::Erase(uint64_t key) {
  if (key == 0) {
    has_zero_ = false;
    return;
  }
  size_t i = Home(key);
  while (table_[i] != key) i = (i + 1) & mask_;
  // Backward shift: move later entries of the same probe run into the hole, so no lookup that
  // passed through it stops early.
  for (size_t j = (i + 1) & mask_; table_[j] != 0; j = (j + 1) & mask_) {
    const size_t home = Home(table_[j]);
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    table_[i] = table_[j];
    i = j;
  }
  table_[i] = 0;
}

}  // namespace sp
