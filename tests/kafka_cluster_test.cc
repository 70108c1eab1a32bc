// The mock Kafka cluster the scale-out tests run on (support/kafka_cluster.h): idempotent acks=all
// producing and group consuming across 3 brokers with replication 3, a broker down withholding
// delivery until it is back, and the sp-kafka-cluster tool serving another process.
#include "support/kafka_cluster.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/testing.h"
#include "support/process.h"

namespace sp::testing {
namespace {

struct Delivered {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> last_error{0};
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Delivered*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->ok;
  } else {
    d->last_error = m->err;
    ++d->failed;
  }
}

using Handle = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;

Handle NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& props, Delivered* delivered) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << k << ": " << err;
  }
  if (delivered != nullptr) {
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    rd_kafka_conf_set_opaque(conf, delivered);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return Handle(rk, rd_kafka_destroy);
}

// The producer settings the Kafka log will use (docs/format/kafka.md).
std::map<std::string, std::string> ProducerProps(const std::string& bootstraps, const std::string& timeout_ms) {
  return {{"bootstrap.servers", bootstraps}, {"enable.idempotence", "true"},     {"acks", "all"},
          {"partitioner", "murmur2_random"}, {"message.timeout.ms", timeout_ms}, {"log_level", "3"}};
}

void Produce(rd_kafka_t* producer, const std::string& topic, const std::string& key, const std::string& value) {
  ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Serves delivery reports until pred holds or the deadline passes.
bool PollUntil(rd_kafka_t* rk, const std::function<bool()>& pred) {
  return WaitUntil(
      [&] {
        rd_kafka_poll(rk, 10);
        return pred();
      },
      kDeadline);
}

TEST(KafkaCluster, IdempotentProducerAndGroupConsumerAcrossThreeBrokers) {
  ASSERT_OK_AND_ASSIGN(auto cluster, KafkaCluster::Start(3));
  ASSERT_OK(cluster->CreateTopic("sensorpipe.readings", 4, 3));
  Delivered delivered;
  Handle producer = NewClient(RD_KAFKA_PRODUCER, ProducerProps(cluster->bootstraps(), "30000"), &delivered);
  constexpr int kDevices = 10, kPerDevice = 100;
  for (int i = 0; i < kPerDevice; ++i) {
    for (int d = 0; d < kDevices; ++d) {
      Produce(producer.get(), "sensorpipe.readings", "dev" + std::to_string(d), std::to_string(i));
    }
  }
  ASSERT_TRUE(PollUntil(producer.get(), [&] { return delivered.ok + delivered.failed == kDevices * kPerDevice; }));
  EXPECT_EQ(delivered.failed, 0) << rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(delivered.last_error.load()));

  Handle consumer = NewClient(RD_KAFKA_CONSUMER,
                              {{"bootstrap.servers", cluster->bootstraps()},
                               {"group.id", "sensorpipe.lake-raw"},
                               {"auto.offset.reset", "earliest"},
                               {"enable.auto.commit", "false"},
                               {"log_level", "3"}},
                              nullptr);
  rd_kafka_poll_set_consumer(consumer.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "sensorpipe.readings", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer.get(), topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  // Each device's values come back in order, all from one partition.
  std::map<std::string, std::vector<int>> values;
  std::map<std::string, int32_t> partition;
  int consumed = 0;
  bool one_partition_each = true;
  ASSERT_TRUE(WaitUntil(
      [&] {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
        if (m == nullptr) return false;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const std::string key(static_cast<const char*>(m->key), m->key_len);
          values[key].push_back(std::stoi(std::string(static_cast<const char*>(m->payload), m->len)));
          if (partition.count(key) != 0 && partition[key] != m->partition) one_partition_each = false;
          partition[key] = m->partition;
          ++consumed;
        }
        rd_kafka_message_destroy(m);
        return consumed == kDevices * kPerDevice;
      },
      kDeadline))
      << consumed << " consumed";
  EXPECT_TRUE(one_partition_each);
  for (const auto& [key, v] : values) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << key;
    EXPECT_EQ(v.size(), size_t{kPerDevice}) << key;
  }
  rd_kafka_consumer_close(consumer.get());
}

TEST(KafkaCluster, ALeaderDownWithholdsDeliveryUntilItIsBack) {
  ASSERT_OK_AND_ASSIGN(auto cluster, KafkaCluster::Start(3));
  ASSERT_OK(cluster->CreateTopic("t", 1, 3));
  ASSERT_OK(cluster->SetLeader("t", 0, 1));
  Delivered delivered;
  Handle producer = NewClient(RD_KAFKA_PRODUCER, ProducerProps(cluster->bootstraps(), "30000"), &delivered);
  Produce(producer.get(), "t", "dev", "before");
  ASSERT_TRUE(PollUntil(producer.get(), [&] { return delivered.ok == 1; }));

  // With the leader down the record is neither delivered nor failed while its timeout runs: ingest
  // withholds the acknowledgement, and the record goes through once the broker is back.
  ASSERT_OK(cluster->SetBrokerDown(1));
  Produce(producer.get(), "t", "dev", "during");
  EXPECT_FALSE(WaitUntil(
      [&] {
        rd_kafka_poll(producer.get(), 10);
        return delivered.ok + delivered.failed > 1;
      },
      std::chrono::seconds(2)));
  ASSERT_OK(cluster->SetBrokerUp(1));
  ASSERT_TRUE(PollUntil(producer.get(), [&] { return delivered.ok + delivered.failed == 2; }));
  EXPECT_EQ(delivered.ok, 2) << rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(delivered.last_error.load()));
}

TEST(KafkaCluster, TheToolServesAnotherProcess) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto tool, Process::Start({BinDir() + "/../tests/sp-kafka-cluster", "sensorpipe.readings:2:3"},
                                                 dir.Sub("cluster.log")));
  std::string bootstraps;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = tool->Log();
        const size_t at = log.find("bootstraps ");
        if (at == std::string::npos || log.find('\n', at) == std::string::npos) return false;
        bootstraps = log.substr(at + 11, log.find('\n', at) - at - 11);
        return true;
      },
      kDeadline))
      << tool->Log();
  Delivered delivered;
  Handle producer = NewClient(RD_KAFKA_PRODUCER, ProducerProps(bootstraps, "30000"), &delivered);
  for (int i = 0; i < 100; ++i) Produce(producer.get(), "sensorpipe.readings", "dev", std::to_string(i));
  ASSERT_TRUE(PollUntil(producer.get(), [&] { return delivered.ok + delivered.failed == 100; }));
  EXPECT_EQ(delivered.ok, 100);
  producer.reset();
  ASSERT_OK(tool->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(int code, tool->Wait(kDeadline));
  EXPECT_EQ(code, 0) << tool->Log();
}

}  // namespace
}  // namespace sp::testing
