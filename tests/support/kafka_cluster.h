// A Kafka cluster for tests: librdkafka's mock cluster (rdkafka_mock.h), which speaks the Kafka
// protocol on loopback ports inside this process, so other processes (daemons under test) reach it
// through bootstraps(). No Kafka broker is packaged for Debian 12. What the mock proves and what it
// cannot (no disks, no real replication, no TLS or SASL listeners in librdkafka 2.0.2, CreateTopics
// that times out): ../shared/FACTS.md and docs/format/kafka.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace sp::testing {

class KafkaCluster {
 public:
  //! brokers brokers, ids 1..brokers, on free loopback ports.
  static Result<std::unique_ptr<KafkaCluster>> Start(int brokers = 3);
  ~KafkaCluster();
  KafkaCluster(const KafkaCluster&) = delete;
  KafkaCluster& operator=(const KafkaCluster&) = delete;

  //! "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstraps() const;
  //! Creates topic with its partitions, each replicated on replication brokers. (The mock's
  //! CreateTopics request never completes; this goes around it.)
  Status CreateTopic(const std::string& topic, int partitions, int replication);
  //! A broker down: its partitions' requests time out (leaders do not move by themselves).
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);
  Status SetLeader(const std::string& topic, int32_t partition, int32_t broker_id);

 private:
  KafkaCluster(rd_kafka_s* handle, rd_kafka_mock_cluster_s* cluster) : handle_(handle), cluster_(cluster) {}
  rd_kafka_s* handle_;  // owns the mock cluster's threads
  rd_kafka_mock_cluster_s* cluster_;
};

}  // namespace sp::testing
