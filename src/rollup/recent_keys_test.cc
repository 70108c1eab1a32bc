// RecentKeys against a model (a deque and a set) under random inserts with many repeats and
// colliding homes, including key 0, and across the window's wrap.
#include "rollup/recent_keys.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <unordered_set>

namespace sp {
namespace {

TEST(RecentKeys, BehavesAsTheLastNDistinctKeys) {
  for (size_t window : {1, 2, 7, 64, 1000}) {
    RecentKeys keys(window);
    std::deque<uint64_t> order;
    std::unordered_set<uint64_t> model;
    std::mt19937_64 rng(window);
    for (int i = 0; i < 200'000; ++i) {
      // Few distinct values so repeats are common; some multiples of a large power of two so
      // many keys share a home slot.
      uint64_t key = rng() % (3 * window + 5);
      if (key % 7 == 0) key <<= 40;
      const bool fresh = model.count(key) == 0;
      ASSERT_EQ(keys.Insert(key), fresh) << "window " << window << " step " << i << " key " << key;
      if (fresh) {
        model.insert(key);
        order.push_back(key);
        if (order.size() > window) {
          model.erase(order.front());
          order.pop_front();
        }
      }
      ASSERT_EQ(keys.size(), order.size());
    }
    keys.Clear();
    EXPECT_EQ(keys.size(), 0u);
    EXPECT_TRUE(keys.Insert(order.back()));
  }
}

}  // namespace
}  // namespace sp
