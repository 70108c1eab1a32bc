// HTTP loader for P13: WRITERS threads POST the lines of FILE in batches of BATCH lines over
// keep-alive connections, as fast as the server answers, and count the rows of the batches
// answered 2xx. The same program loads sensorpipe (NDJSON to /v1/ingest, a bearer token) and the
// peer it is compared with (line protocol to VictoriaMetrics' /write), so both see the same client.
// Prints one line: rows_per_s seconds rows_ok failed_batches.
// Usage: http_load PORT PATH FILE [BATCH=10000] [WRITERS=2] [TOKEN]
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT PATH FILE [BATCH=10000] [WRITERS=2] [TOKEN]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string path = argv[2];
  const size_t batch = argc > 4 ? std::stoul(argv[4]) : 10000;
  const int writers = argc > 5 ? std::atoi(argv[5]) : 2;
  const std::string token = argc > 6 ? argv[6] : "";

  // Batches are cut before the clock starts: the loader's own work is not the server's time.
  std::vector<std::pair<std::string, size_t>> batches;
  std::ifstream in(argv[3]);
  std::string line, body;
  size_t lines = 0;
  while (std::getline(in, line)) {
    body += line;
    body += '\n';
    if (++lines == batch) {
      batches.emplace_back(std::move(body), lines);
      body.clear();
      lines = 0;
    }
  }
  if (lines > 0) batches.emplace_back(std::move(body), lines);

  std::atomic<size_t> next{0}, rows_ok{0}, failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_read_timeout(300, 0);
      client.set_write_timeout(300, 0);
      httplib::Headers headers;
      if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
      for (size_t i; (i = next++) < batches.size();) {
        auto res = client.Post(path, headers, batches[i].first, "application/x-ndjson");
        if (res && res->status / 100 == 2) {
          rows_ok += batches[i].second;
        } else {
          if (failed++ == 0) {
            std::fprintf(stderr, "batch failed: %s\n",
                         res ? (std::to_string(res->status) + " " + res->body.substr(0, 300)).c_str()
                             : httplib::to_string(res.error()).c_str());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f %.3f %zu %zu\n", rows_ok / seconds, seconds, rows_ok.load(), failed.load());
  return failed > 0 ? 1 : 0;
}
