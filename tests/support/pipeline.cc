#include "support/pipeline.h"

#include "common/testing.h"

namespace sp::testing {

Result<Pipeline> Pipeline::Start(const std::string& dir, const std::string& extra_toml) {
  Pipeline p;
  SP_ASSIGN_OR_RETURN(p.broker, Mosquitto::Start(dir + "/broker"));
  SP_ASSIGN_OR_RETURN(p.daemon, Daemon::Start(dir + "/sp", p.broker->url(), extra_toml));
  SP_RETURN_IF_ERROR(p.daemon->WaitConnected());
  return p;
}

Status Pipeline::PublishSeedDay() const {
  const std::string seed = ReadFile(FixturesDir() + "/seed_day.ndjson");
  if (const size_t n = Lines(seed).size(); n != kSeedRows) {
    return Status::InvalidArgument("seed_day.ndjson has " + std::to_string(n) + " lines");
  }
  SP_RETURN_IF_ERROR(broker->Publish({"-l"}, seed));
  const std::string want = "n\n" + std::to_string(kSeedRows) + "\n";
  std::string rows;
  const bool all = WaitUntil(
      [&] {
        auto out = daemon->Query("SELECT count(*) AS n FROM readings");
        rows = out.ok() ? *out : out.status().ToString();
        return rows == want;
      },
      kDeadline);
  if (all) return Status::OK();
  return Status::Unavailable("the lake's rows, wanted " + std::to_string(kSeedRows) + ": " + rows + "\n" +
                             daemon->process().Log());
}

}  // namespace sp::testing
