// The set-up most end-to-end tests share: a real broker and a real daemon subscribed to it under
// one scratch folder, and the seed's day published through them.
#pragma once

#include <memory>
#include <string>

#include "support/daemon.h"
#include "support/mosquitto.h"

namespace sp::testing {

//! The messages of the seed's day (seed_day.ndjson, one a line).
inline constexpr int kSeedRows = 5400;

struct Pipeline {
  //! Starts a broker in dir/broker and a daemon in dir/sp with extra_toml (Daemon::Start), and
  //! waits until the daemon is subscribed; the error says which part did not come up, with its log.
  static Result<Pipeline> Start(const std::string& dir, const std::string& extra_toml);
  //! Publishes the seed's day and waits until `SELECT count(*) FROM readings` answers kSeedRows:
  //! every message is in the lake. The error has the count reached and the daemon's log.
  Status PublishSeedDay() const;

  std::unique_ptr<Mosquitto> broker;  // declared first: the daemon stops before its broker
  std::unique_ptr<Daemon> daemon;
};

}  // namespace sp::testing
