// P4: publish -> durable in the log, at a fixed offered rate, against B-LAT (publish -> a plain
// subscriber) through the same broker, alternating A B A B ... One publisher (TCP_NODELAY)
// sends seed-shaped QoS 0 messages carrying their sequence number and notes when each left.
// Baseline: a libmosquitto subscriber notes when each arrives. sensorpipe: the daemon's own
// ingest path in this process (MqttSubscriber -> default rule -> FileLog with
// fsync = "batch" -> acknowledgement), and a log consumer notes when each record becomes visible,
// which the log allows only once the group commit that holds it was fdatasync'ed.
// Usage: ingest_latency_bench BROKER_PORT DIR [RATE=50000] [SECONDS=10] [ROUNDS=5]
#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "ingest/ingest.h"
#include "log/file_log.h"
#include "rules/rule.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t NowNs() { return SteadyClock::now().time_since_epoch().count(); }

// Send and arrival times by sequence number; a slot is written by one thread and read after
// the round by another, so relaxed atomics suffice.
struct Round {
  explicit Round(size_t n) : sent(n), seen(n) {}
  std::vector<std::atomic<int64_t>> sent, seen;
  void Arrived(int64_t seq) {
    if (seq >= 0 && static_cast<size_t>(seq) < seen.size() && seen[seq].load(std::memory_order_relaxed) == 0) {
      seen[seq].store(NowNs(), std::memory_order_relaxed);
    }
  }
  size_t Count() const {
    size_t n = 0;
    for (const auto& s : seen) n += s.load(std::memory_order_relaxed) != 0;
    return n;
  }
};

// The number after "count": in a seed-shaped message or a readings record ("seq":).
int64_t SeqOf(std::string_view text, std::string_view field) {
  size_t at = text.find(field);
  if (at == std::string_view::npos) return -1;
  int64_t v = -1;
  const char* p = text.data() + at + field.size();
  std::from_chars(p, text.data() + text.size(), v);
  return v;
}

// A QoS 0 publisher on a plain socket with TCP_NODELAY set before connect: one write(2) per
// PUBLISH as soon as it is due, so nothing between the clock reading and the wire queues it.
// (libmosquitto's threaded publisher put a steady ~10 ms on p99 at 50k msg/s in both paths.)
class RawPublisher {
 public:
  RawPublisher(int port, const std::string& client_id) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect");
    // CONNECT, MQTT 3.1.1: protocol name and level, clean session, keepalive 60 s, client id.
    std::string body = std::string("\0\4MQTT\4\2\0\x3c", 10) + Str(client_id);
    Send(Packet(0x10, body));
    char connack[4];
    if (::recv(fd_, connack, 4, MSG_WAITALL) != 4 || connack[0] != 0x20 || connack[3] != 0) Die("CONNACK");
  }
  ~RawPublisher() {
    Send(std::string("\xe0\0", 2));  // DISCONNECT
    ::close(fd_);
  }
  void Publish(const std::string& topic, std::string_view payload) {
    buf_ = Packet(0x30, Str(topic) + std::string(payload));
    Send(buf_);
  }

 private:
  static std::string Str(const std::string& s) {
    return std::string{static_cast<char>(s.size() >> 8), static_cast<char>(s.size() & 0xff)} + s;
  }
  static std::string Packet(uint8_t type, const std::string& body) {
    std::string out(1, static_cast<char>(type));
    for (size_t n = body.size();;) {  // remaining length, 7 bits a byte
      const uint8_t b = n & 0x7f;
      n >>= 7;
      out += static_cast<char>(n > 0 ? b | 0x80 : b);
      if (n == 0) break;
    }
    return out + body;
  }
  void Send(const std::string& bytes) {
    for (size_t off = 0; off < bytes.size();) {
      const ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) Die("write");
      off += static_cast<size_t>(n);
    }
  }
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "publisher: %s failed\n", what);
    std::exit(1);
  }
  int fd_ = -1;
  std::string buf_;
};

// Publishes n messages to topic at `rate` a second, pacing every 200 µs.
void Publish(int port, const std::string& topic, Round* round, double rate) {
  RawPublisher pub(port, "lat-pub");
  const size_t n = round->sent.size();
  char payload[160];
  const auto start = SteadyClock::now();
  size_t i = 0;
  while (i < n) {
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
    const size_t due = std::min(n, static_cast<size_t>(elapsed * rate) + 1);
    for (; i < due; ++i) {
      const int s = static_cast<int>(i / 100 % 86400);
      const int len = std::snprintf(payload, sizeof payload,
                                    "{\"client_id\":\"lat\",\"timestamp\":\"2022-07-14 %02d:%02d:%02d\","
                                    "\"humidity\":%.2f,\"temperature\":%.2f,\"count\":%zu}",
                                    s / 3600, s / 60 % 60, s % 60, 40 + (i % 300) / 10.0, 20 + (i % 170) / 10.0, i);
      round->sent[i].store(NowNs(), std::memory_order_relaxed);
      pub.Publish(topic, std::string_view(payload, static_cast<size_t>(len)));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Waits until every message arrived or nothing arrived for 2 s (QoS 0 may drop).
void Drain(const Round& round) {
  size_t last = 0;
  auto since = SteadyClock::now();
  while (true) {
    size_t now = round.Count();
    if (now == round.seen.size()) return;
    if (now != last) {
      last = now;
      since = SteadyClock::now();
    } else if (SteadyClock::now() - since > std::chrono::seconds(2)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

struct Quantiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // milliseconds
  size_t arrived = 0, sent = 0;
};

// Latencies of the second half of the round: the first seconds include connection warm-up.
Quantiles Measure(const Round& round) {
  std::vector<int64_t> lat;
  Quantiles q;
  q.sent = round.sent.size();
  for (size_t i = 0; i < round.sent.size(); ++i) {
    const int64_t seen = round.seen[i].load(std::memory_order_relaxed);
    if (seen == 0) continue;
    ++q.arrived;
    if (i >= round.sent.size() / 2) lat.push_back(seen - round.sent[i].load(std::memory_order_relaxed));
  }
  if (lat.empty()) return q;
  std::sort(lat.begin(), lat.end());
  auto at = [&](double f) { return lat[std::min(lat.size() - 1, static_cast<size_t>(f * lat.size()))] / 1e6; };
  q.p50 = at(0.50);
  q.p99 = at(0.99);
  q.p999 = at(0.999);
  q.max = lat.back() / 1e6;
  return q;
}

Quantiles Baseline(int port, double rate, size_t n) {
  Round round(n);
  mosquitto* sub = mosquitto_new("lat-base-sub", true, &round);
  mosquitto_int_option(sub, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_message_callback_set(sub, [](mosquitto*, void* r, const mosquitto_message* m) {
    static_cast<Round*>(r)->Arrived(SeqOf({static_cast<const char*>(m->payload), size_t(m->payloadlen)}, "\"count\":"));
  });
  mosquitto_connect(sub, "127.0.0.1", port, 30);
  mosquitto_subscribe(sub, nullptr, "bench/lat-base", 0);
  mosquitto_loop_start(sub);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // subscription in place
  Publish(port, "bench/lat-base", &round, rate);
  Drain(round);
  mosquitto_disconnect(sub);
  mosquitto_loop_stop(sub, false);
  mosquitto_destroy(sub);
  return Measure(round);
}

Quantiles Sensorpipe(int port, const std::string& dir, double rate, size_t n) {
  std::filesystem::remove_all(dir);
  sp::Metrics metrics;
  sp::FileLogOptions log_options;
  log_options.dir = dir + "/log";  // fsync = "batch", the default
  auto log = sp::OpenFileLog(sp::Env::Default(), sp::Clock::Default(), &metrics, log_options).value();
  sp::Stream* readings = log->OpenStream("readings").value();
  sp::Stream* errors = log->OpenStream("errors").value();
  auto rules = sp::RuleSet::Compile({}, sp::RuleOptions{}).value();

  sp::MqttClientOptions mqtt;
  mqtt.port = port;
  mqtt.client_id = "lat-sensorpipe";
  mqtt.clean_session = true;
  mqtt.topics = {"bench/lat-sp"};
  sp::MqttSubscriber subscriber(mqtt, sp::Clock::Default(), &metrics);
  sp::Ingest ingest(&subscriber, rules, {readings}, errors, sp::Clock::Default(), &metrics, {});
  ingest.Start();
  while (!subscriber.connected()) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  Round round(n);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    auto consumer = readings->OpenConsumer("latency", sp::StartFrom::kLatest).value();
    while (!stop) {
      auto records = consumer->Poll(100000, std::chrono::milliseconds(100));
      if (!records.ok()) break;
      for (const sp::StoredRecord& r : *records) round.Arrived(SeqOf(r.value, "\"seq\":"));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Publish(port, "bench/lat-sp", &round, rate);
  Drain(round);
  stop = true;
  reader.join();
  ingest.Stop();
  std::fprintf(stderr, "  sensorpipe: %llu group commits lingered\n",
               static_cast<unsigned long long>(metrics.CounterValue("sensorpipe_ingest_lingers_total")));
  log.reset();
  std::filesystem::remove_all(dir);
  return Measure(round);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// "One group commit" of the target: a 4 KiB append + fdatasync on this disk, 500 times; its
// median and p99 in milliseconds.
std::pair<double, double> GroupCommitMs(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/sync.dat";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string block(4096, 'x');
  std::vector<double> ms;
  for (int i = 0; i < 500; ++i) {
    const int64_t t0 = NowNs();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) break;
    ms.push_back((NowNs() - t0) / 1e6);
  }
  ::close(fd);
  std::filesystem::remove(path);
  if (ms.empty()) return {0, 0};
  const double median = Median(ms);
  std::sort(ms.begin(), ms.end());
  return {median, ms[ms.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BROKER_PORT DIR [RATE=50000] [SECONDS=10] [ROUNDS=5]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string dir = argv[2];
  const double rate = argc > 3 ? std::atof(argv[3]) : 50000;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 10;
  const int rounds = argc > 5 ? std::atoi(argv[5]) : 5;
  const size_t n = static_cast<size_t>(rate * seconds);
  spdlog::set_level(spdlog::level::warn);  // stdout carries the result
  mosquitto_lib_init();
  std::vector<double> a50, a99, a999, b50, b99, b999;
  for (int r = 1; r <= rounds; ++r) {
    Quantiles a = Baseline(port, rate, n);
    Quantiles b = Sensorpipe(port, dir + "/sp", rate, n);
    std::fprintf(stderr,
                 "round %d: baseline p50 %.3f p99 %.3f p99.9 %.3f max %.1f ms (%zu/%zu arrived); "
                 "sensorpipe p50 %.3f p99 %.3f p99.9 %.3f max %.1f ms (%zu/%zu durable)\n",
                 r, a.p50, a.p99, a.p999, a.max, a.arrived, a.sent, b.p50, b.p99, b.p999, b.max, b.arrived, b.sent);
    a50.push_back(a.p50), a99.push_back(a.p99), a999.push_back(a.p999);
    b50.push_back(b.p50), b99.push_back(b.p99), b999.push_back(b.p999);
  }
  mosquitto_lib_cleanup();
  const auto [sync_median, sync_p99] = GroupCommitMs(dir);
  // One line of JSON for the script: medians over the rounds.
  std::printf(
      "{\"rate\": %.0f, \"seconds_per_round\": %.1f, \"rounds\": %d, \"group_commit_ms\": %.4f, "
      "\"group_commit_p99_ms\": %.4f, "
      "\"baseline_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"p999\": %.4f}, "
      "\"sensorpipe_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"p999\": %.4f}}\n",
      rate, seconds, rounds, sync_median, sync_p99, Median(a50), Median(a99), Median(a999), Median(b50), Median(b99),
      Median(b999));
  return 0;
}
