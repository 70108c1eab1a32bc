#include "support/kafka_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace sp::testing {

namespace {

Status MockError(const std::string& what, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  return Status::Unavailable("mock Kafka cluster: " + what + ": " + rd_kafka_err2str(err));
}

}  // namespace

Result<std::unique_ptr<KafkaCluster>> KafkaCluster::Start(int brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster: nothing is produced through it.
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Status::Unavailable(std::string("mock Kafka cluster: ") + err);
  }
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes conf
  if (handle == nullptr) return Status::Unavailable(std::string("mock Kafka cluster: ") + err);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(handle);
    return Status::Unavailable("mock Kafka cluster: could not start " + std::to_string(brokers) + " brokers");
  }
  return std::unique_ptr<KafkaCluster>(new KafkaCluster(handle, cluster));
}

KafkaCluster::~KafkaCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string KafkaCluster::bootstraps() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

Status KafkaCluster::CreateTopic(const std::string& topic, int partitions, int replication) {
  return MockError("creating " + topic, rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication));
}

Status KafkaCluster::SetBrokerDown(int32_t broker_id) {
  return MockError("broker " + std::to_string(broker_id) + " down", rd_kafka_mock_broker_set_down(cluster_, broker_id));
}

Status KafkaCluster::SetBrokerUp(int32_t broker_id) {
  return MockError("broker " + std::to_string(broker_id) + " up", rd_kafka_mock_broker_set_up(cluster_, broker_id));
}

Status KafkaCluster::SetLeader(const std::string& topic, int32_t partition, int32_t broker_id) {
  return MockError("leader of " + topic + "/" + std::to_string(partition),
                   rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id));
}

}  // namespace sp::testing
