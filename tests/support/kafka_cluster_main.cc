// sp-kafka-cluster: a mock Kafka cluster (support/kafka_cluster.h) in a process of its own, for tests
// whose daemons run as separate processes. Prints "bootstraps <host:port,...>" once its topics
// exist, then serves until SIGTERM or SIGINT.
// Usage: sp-kafka-cluster [--brokers N] [TOPIC:PARTITIONS:REPLICATION ...]
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/kafka_cluster.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: sp-kafka-cluster [--brokers N] [TOPIC:PARTITIONS:REPLICATION ...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  int first_topic = 1;
  if (argc > 2 && std::string(argv[1]) == "--brokers") {
    brokers = std::atoi(argv[2]);
    first_topic = 3;
  }
  if (brokers < 1) return Usage();
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the cluster's threads start, so they inherit it

  auto cluster = sp::testing::KafkaCluster::Start(brokers);
  if (!cluster.ok()) {
    std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
    return 1;
  }
  for (int i = first_topic; i < argc; ++i) {
    const std::string spec = argv[i];
    const size_t a = spec.find(':'), b = spec.rfind(':');
    if (a == std::string::npos || a == b) return Usage();
    const int partitions = std::atoi(spec.substr(a + 1, b - a - 1).c_str());
    const int replication = std::atoi(spec.substr(b + 1).c_str());
    if (partitions < 1 || replication < 1) return Usage();
    if (sp::Status s = (*cluster)->CreateTopic(spec.substr(0, a), partitions, replication); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::printf("bootstraps %s\n", (*cluster)->bootstraps().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}
