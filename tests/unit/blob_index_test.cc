#include "store/blob_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace cifs {
namespace {

std::string Key(uint64_t n, bool colliding) {
  // Colliding keys share their first 8 bytes (the hash) to force long probes.
  std::string k(40, '\0');
  uint64_t head = colliding ? 42 : n * 0x9e3779b97f4a7c15ULL;
  std::memcpy(k.data(), &head, 8);
  std::memcpy(k.data() + 8, &n, 8);
  return k;
}

TEST(BlobIndexTest, MatchesAStdMapUnderRandomInsertsAndErases) {
  for (bool colliding : {false, true}) {
    BlobIndex<int> index;
    std::map<std::string, int> model;
    std::mt19937 rng(7);
    const int universe = colliding ? 300 : 20000;
    for (int step = 0; step < 60000; ++step) {
      std::string k = Key(rng() % universe, colliding);
      int op = static_cast<int>(rng() % 3);
      if (op == 0) {
        index.Insert(k, step);
        model[k] = step;
      } else if (op == 1) {
        EXPECT_EQ(index.Erase(k), model.erase(k) == 1);
      } else {
        int* v = index.Find(k);
        auto it = model.find(k);
        ASSERT_EQ(v != nullptr, it != model.end()) << step;
        if (v) EXPECT_EQ(*v, it->second);
      }
      ASSERT_EQ(index.size(), model.size());
    }
    for (const auto& [k, v] : model) {
      ASSERT_NE(index.Find(k), nullptr);
      EXPECT_EQ(*index.Find(k), v);
    }
  }
}

}  // namespace
}  // namespace cifs
