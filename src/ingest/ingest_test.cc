// The ingest promise on real parts (mosquitto, the file log, the default rule): a message is
// acknowledged only after its record is durable, so when the disk fails nothing is acknowledged
// and nothing is lost: the broker delivers it again to the next subscriber.
#include "ingest/ingest.h"

#include <gtest/gtest.h>

#include "common/testing.h"
#include "log/file_log.h"
#include "rules/rule.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace sp {
namespace {

using std::chrono::milliseconds;
constexpr auto kDeadline = std::chrono::seconds(60);

// A stream whose appends fail while `failing` is set: a full or broken disk, which the real log
// cannot be made to produce on demand.
class FailingStream final : public Stream {
 public:
  explicit FailingStream(Stream* inner) : inner_(inner) {}
  const std::string& name() const override { return inner_->name(); }
  uint32_t shard_count() const override { return inner_->shard_count(); }
  uint32_t ShardFor(std::string_view key) const override { return inner_->ShardFor(key); }
  Status Append(std::span<const Record> records) override {
    ++attempts;
    return failing ? Status::IOError("no space left on device") : inner_->Append(records);
  }
  std::vector<uint64_t> EndOffsets() const override { return inner_->EndOffsets(); }
  Result<std::unique_ptr<Consumer>> OpenConsumer(const std::string& name, StartFrom from) override {
    return inner_->OpenConsumer(name, from);
  }
  std::vector<ShardStats> Stats() const override { return inner_->Stats(); }
  Result<uint64_t> OffsetForTime(uint32_t shard, int64_t ts) override { return inner_->OffsetForTime(shard, ts); }
  Result<std::vector<ConsumerInfo>> Consumers() const override { return inner_->Consumers(); }
  std::atomic<bool> failing{false};
  std::atomic<int> attempts{0};

 private:
  Stream* inner_;
};

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(broker_, testing::Mosquitto::Start(dir_.Sub("broker")));
    FileLogOptions o;
    o.dir = dir_.Sub("log");
    ASSERT_OK_AND_ASSIGN(log_, OpenFileLog(Env::Default(), Clock::Default(), &metrics_, o));
    ASSERT_OK_AND_ASSIGN(Stream * readings, log_->OpenStream("readings"));
    ASSERT_OK_AND_ASSIGN(errors_, log_->OpenStream("errors"));
    readings_ = std::make_unique<FailingStream>(readings);
    ASSERT_OK_AND_ASSIGN(rules_, RuleSet::Compile({}, {}));
  }
  // A fresh session is waited for, so that messages published next are queued for it. A resumed
  // one is not: its queued messages must reach the Ingest under test, not this helper.
  std::unique_ptr<MqttSubscriber> Subscriber(bool fresh = false) {
    MqttClientOptions o;
    o.port = broker_->port();
    o.client_id = "sp-ingest";
    o.topics = {"sensor/#"};
    o.reconnect_max = milliseconds(300);
    auto s = std::make_unique<MqttSubscriber>(o, Clock::Default(), &metrics_);
    if (fresh) {
      EXPECT_TRUE(testing::WaitUntil(
          [&] {
            auto got = s->Poll(milliseconds(20), 100);
            EXPECT_TRUE(got.ok() && got->empty());
            return s->connected();
          },
          kDeadline));
    }
    return s;
  }
  void Publish(int count) {
    ASSERT_OK(broker_->Publish(
        {"-m", R"({"client_id":"pi","timestamp":"2022-07-14 00:00:00","count":)" + std::to_string(count) + "}"}));
  }
  size_t LogRecords() {
    auto c = readings_->OpenConsumer("check-" + std::to_string(checks_++), StartFrom::kOldest);
    size_t n = 0;
    while (true) {
      auto got = (*c)->Poll(1000, milliseconds(0));
      if (!got.ok() || got->empty()) return n;
      n += got->size();
    }
  }

  testing::TempDir dir_;
  Metrics metrics_;
  std::unique_ptr<testing::Mosquitto> broker_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<FailingStream> readings_;
  Stream* errors_ = nullptr;
  std::shared_ptr<const RuleSet> rules_;
  int checks_ = 0;
};

TEST_F(IngestTest, NothingIsAcknowledgedBeforeItIsDurable) {
  auto sub = Subscriber(/*fresh=*/true);
  Publish(0);
  Publish(1);
  readings_->failing = true;
  {
    Ingest ingest(sub.get(), rules_, {readings_.get()}, errors_, Clock::Default(), &metrics_, {});
    ingest.Start();
    // The append keeps failing and is retried; the messages stay unacknowledged meanwhile.
    ASSERT_TRUE(testing::WaitUntil([&] { return readings_->attempts >= 3; }, kDeadline));
    ingest.Stop();  // gives up with the append outstanding: no PUBACK was sent
  }
  EXPECT_EQ(LogRecords(), 0u);
  EXPECT_GE(metrics_.CounterValue("sensorpipe_ingest_append_errors_total"), 3u);

  // The disk is back; a new connection with the same session gets both messages again.
  readings_->failing = false;
  sub = Subscriber();
  {
    Ingest ingest(sub.get(), rules_, {readings_.get()}, errors_, Clock::Default(), &metrics_, {});
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          EXPECT_OK(ingest.RunOnce(milliseconds(100)));
          return LogRecords() >= 2;
        },
        kDeadline));
    EXPECT_EQ(LogRecords(), 2u);
    EXPECT_EQ(metrics_.CounterValue("sensorpipe_messages_redelivered_total"), 2u);
  }  // Stop: disconnects after the acknowledgements

  // Those were acknowledged after the append: after another reconnect they do not come back,
  // and the next message is the only one to arrive.
  sub = Subscriber();
  Ingest again(sub.get(), rules_, {readings_.get()}, errors_, Clock::Default(), &metrics_, {});
  Publish(2);
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        EXPECT_OK(again.RunOnce(milliseconds(100)));
        return LogRecords() >= 3;
      },
      kDeadline));
  EXPECT_OK(again.RunOnce(milliseconds(300)));
  EXPECT_EQ(LogRecords(), 3u);
}

TEST_F(IngestTest, RejectionsGoToTheErrorStreamAndAreCounted) {
  auto sub = Subscriber(/*fresh=*/true);
  Ingest ingest(sub.get(), rules_, {readings_.get()}, errors_, Clock::Default(), &metrics_, {});
  ASSERT_OK(broker_->Publish({"-m", "not json"}));
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        EXPECT_OK(ingest.RunOnce(milliseconds(100)));
        return errors_->EndOffsets()[errors_->ShardFor("malformed_json")] == 1;
      },
      kDeadline));
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_messages_rejected_total", {{"reason", "malformed_json"}}), 1u);
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_messages_received_total"), 1u);
  EXPECT_EQ(metrics_.CounterValue("sensorpipe_records_appended_total"), 0u);
}

}  // namespace
}  // namespace sp
