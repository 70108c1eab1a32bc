#include "store/object_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <thread>

#include "common/testing.h"
#include "store/fs_object_store.h"

namespace sp {
namespace {

using ::testing::HasSubstr;

// A cache in front of a folder store: the cache copies whatever store it fronts, and a folder
// needs no server. Objects are 1000 bytes, the bound three of them.
struct Fixture {
  Fixture() {
    Env* env = Env::Default();
    for (const char* key : {"raw/a", "raw/b", "raw/c", "raw/d", "raw/e"}) {
      EXPECT_OK(FsObjectStore(env, dir.Sub("remote")).Put(key, std::string(1000, key[4])));
    }
    cache = OpenCache();
  }
  std::unique_ptr<ObjectCache> OpenCache() {
    auto opened = ObjectCache::Open(std::make_unique<FsObjectStore>(Env::Default(), dir.Sub("remote")), Env::Default(),
                                    &metrics, {dir.Sub("cache"), 3000});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  static std::vector<ObjectInfo> Objects(std::initializer_list<const char*> keys) {
    std::vector<ObjectInfo> out;
    for (const char* key : keys) out.push_back({std::string("raw/") + key, 1000});
    return out;
  }
  // Where the cache keeps the copy of key: below its folder, the object's location.
  std::string CopyOf(const std::string& key) const {
    return JoinPath(dir.Sub("cache"), dir.Sub("remote").substr(1) + "/raw/" + key);
  }
  uint64_t Count(const std::string& name) const { return metrics.CounterValue(name); }

  testing::TempDir dir;
  Metrics metrics;
  std::unique_ptr<ObjectCache> cache;
};

TEST(ObjectCache, FetchesAnObjectOnceThenReadsTheCopy) {
  Fixture f;
  ASSERT_OK_AND_ASSIGN(PinnedFiles pinned, f.cache->Pin(Fixture::Objects({"a", "b"})));
  ASSERT_EQ(pinned.paths(), (std::vector<std::string>{f.CopyOf("a"), f.CopyOf("b")}));
  EXPECT_EQ(Env::Default()->ReadFile(pinned.paths()[1]).value(), std::string(1000, 'b'));
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 2u);
  EXPECT_EQ(f.Count("sensorpipe_cache_fetched_bytes_total"), 2000u);
  ASSERT_OK_AND_ASSIGN(PinnedFiles again, f.cache->Pin(Fixture::Objects({"b", "a"})));
  EXPECT_EQ(again.paths(), (std::vector<std::string>{f.CopyOf("b"), f.CopyOf("a")}));
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 2u);
  EXPECT_EQ(f.Count("sensorpipe_cache_hits_total"), 2u);
  EXPECT_EQ(f.cache->bytes(), 2000u);
  EXPECT_NE(f.metrics.RenderPrometheus().find("sensorpipe_cache_bytes 2000"), std::string::npos);
  // Nothing to do with the copies: writes and listings go to the store behind the cache.
  ASSERT_OK(f.cache->Put("raw/z", "z"));
  EXPECT_EQ(FsObjectStore(Env::Default(), f.dir.Sub("remote")).Get("raw/z").value(), "z");
  EXPECT_EQ(f.cache->List("raw/").value().size(), 6u);
}

TEST(ObjectCache, EvictsTheLeastRecentlyUsedCopiesNobodyPins) {
  Fixture f;
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a"})).status());
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"b"})).status());
  ASSERT_OK_AND_ASSIGN(PinnedFiles c, f.cache->Pin(Fixture::Objects({"c"})));
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a"})).status());  // a is now used after b
  ASSERT_OK_AND_ASSIGN(PinnedFiles d, f.cache->Pin(Fixture::Objects({"d"})));
  EXPECT_FALSE(Env::Default()->FileExists(f.CopyOf("b")));
  EXPECT_TRUE(Env::Default()->FileExists(f.CopyOf("a")));
  EXPECT_EQ(f.Count("sensorpipe_cache_evictions_total"), 1u);
  EXPECT_EQ(f.cache->bytes(), 3000u);

  // A reader's set larger than the bound: nothing of it is evicted, the bound gives way.
  ASSERT_OK_AND_ASSIGN(PinnedFiles all, f.cache->Pin(Fixture::Objects({"a", "b", "c", "d", "e"})));
  for (const std::string& path : all.paths()) EXPECT_TRUE(Env::Default()->FileExists(path)) << path;
  EXPECT_EQ(f.cache->bytes(), 5000u);
  all = PinnedFiles();
  c = PinnedFiles();
  d = PinnedFiles();
  // Unpinned, the least recently used go at the next fetch: a and c (the big set used them before
  // d, and fetched b after).
  ASSERT_OK(f.cache->Delete("raw/e"));  // also drops e's copy
  ASSERT_OK(f.cache->Put("raw/e", std::string(1000, 'E')));
  ASSERT_OK_AND_ASSIGN(PinnedFiles e, f.cache->Pin(Fixture::Objects({"e"})));
  EXPECT_EQ(Env::Default()->ReadFile(e.paths()[0]).value(), std::string(1000, 'E'));
  EXPECT_EQ(f.cache->bytes(), 3000u);
  for (const char* gone : {"a", "c"}) EXPECT_FALSE(Env::Default()->FileExists(f.CopyOf(gone))) << gone;
  for (const char* kept : {"b", "d"}) EXPECT_TRUE(Env::Default()->FileExists(f.CopyOf(kept))) << kept;
}

TEST(ObjectCache, ACopyOfAnotherSizeIsFetchedAgain) {
  Fixture f;
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a"})).status());
  ASSERT_OK(Env::Default()->Truncate(f.CopyOf("a"), 10));  // as if cut short
  ASSERT_OK_AND_ASSIGN(PinnedFiles a, f.cache->Pin(Fixture::Objects({"a"})));
  EXPECT_EQ(Env::Default()->ReadFile(a.paths()[0]).value(), std::string(1000, 'a'));
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 2u);
  EXPECT_EQ(f.cache->bytes(), 1000u);
  // The object itself disagrees with the catalog: an error, and no copy.
  auto wrong = f.cache->Pin({{"raw/b", 999}});
  EXPECT_TRUE(wrong.status().IsCorruption()) << wrong.status().ToString();
  EXPECT_THAT(wrong.status().ToString(), HasSubstr("has 1000 bytes where the catalog says 999"));
  EXPECT_FALSE(Env::Default()->FileExists(f.CopyOf("b")));
  // Size 0: any size will do.
  ASSERT_OK(f.cache->Pin({{"raw/b", 0}}).status());
}

TEST(ObjectCache, DeleteDropsTheCopyUnlessAReaderHasItPinned) {
  Fixture f;
  ASSERT_OK_AND_ASSIGN(PinnedFiles a, f.cache->Pin(Fixture::Objects({"a", "b"})));
  ASSERT_OK(f.cache->Delete("raw/a"));
  EXPECT_TRUE(f.cache->Get("raw/a").status().IsNotFound());
  EXPECT_TRUE(Env::Default()->FileExists(f.CopyOf("a")));  // still read
  a = PinnedFiles();
  ASSERT_OK(f.cache->Delete("raw/b"));
  EXPECT_FALSE(Env::Default()->FileExists(f.CopyOf("b")));
  EXPECT_EQ(f.cache->bytes(), 1000u);  // a's copy waits for eviction
}

TEST(ObjectCache, NoEvictionWhileAnotherProcessHasTheFolderOpen) {
  Fixture f;
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a", "b", "c"})).status());
  // A second cache on the folder stands for another process: it finds the copies there.
  std::unique_ptr<ObjectCache> other = f.OpenCache();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->bytes(), 3000u);
  ASSERT_OK(other->Pin(Fixture::Objects({"a"})).status());
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 3u);
  // Over the bound, but the other one may be reading any copy: nothing goes.
  ASSERT_OK(other->Pin(Fixture::Objects({"d"})).status());
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"e"})).status());
  EXPECT_EQ(f.Count("sensorpipe_cache_evictions_total"), 0u);
  EXPECT_EQ(f.Count("sensorpipe_cache_evictions_deferred_total"), 2u);
  // Alone again, the first counts the other's copies too and evicts down to the bound.
  other.reset();
  ASSERT_OK(f.cache->Delete("raw/e"));
  ASSERT_OK(f.cache->Put("raw/e", std::string(1000, 'E')));
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"e"})).status());
  EXPECT_EQ(f.cache->bytes(), 3000u);
  EXPECT_EQ(f.Count("sensorpipe_cache_evictions_total"), 2u);
}

TEST(ObjectCache, AReopenedCacheKnowsItsCopiesAndDropsStrayTemporaryFiles) {
  Fixture f;
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a", "b"})).status());
  f.cache.reset();
  ASSERT_OK(Env::Default()->WriteFileAtomic(f.dir.Sub("cache/.tmp/123-4"), "half a fetch"));
  f.cache = f.OpenCache();
  EXPECT_EQ(f.cache->bytes(), 2000u);
  EXPECT_EQ(Env::Default()->GetChildren(f.dir.Sub("cache/.tmp")).value().size(), 0u);
  ASSERT_OK(f.cache->Pin(Fixture::Objects({"a"})).status());
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 2u);

  // Emptied by hand while open: fetched again rather than handed out missing.
  std::filesystem::remove(f.CopyOf("a"));
  ASSERT_OK_AND_ASSIGN(PinnedFiles a, f.cache->Pin(Fixture::Objects({"a"})));
  EXPECT_TRUE(Env::Default()->FileExists(a.paths()[0]));
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 3u);
}

TEST(ObjectCache, ReadersOfOneMissingObjectFetchItOnce) {
  Fixture f;
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] { EXPECT_OK(f.cache->Pin(Fixture::Objects({"a", "b", "c"})).status()); });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(f.Count("sensorpipe_cache_fetches_total"), 3u);
  EXPECT_EQ(f.Count("sensorpipe_cache_hits_total"), 9u);
}

TEST(ObjectCache, PinnedFilesMayOutliveTheCache) {
  Fixture f;
  ASSERT_OK_AND_ASSIGN(PinnedFiles a, f.cache->Pin(Fixture::Objects({"a"})));
  f.cache.reset();
  a = PinnedFiles();  // nothing left to unpin, and no crash
}

TEST(ObjectCache, KeysThatCannotBeOneFileAreRefused) {
  Fixture f;
  for (const char* key : {"raw//a", "raw/./a", "raw/../a"}) {
    auto pinned = f.cache->Pin({{key, 0}});
    EXPECT_EQ(pinned.status().code(), Status::Code::kInvalidArgument) << key;
  }
}

}  // namespace
}  // namespace sp
