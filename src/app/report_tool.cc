#include "app/report_tool.h"

#include <cstdio>
#include <cstdlib>

#include "common/env.h"
#include "common/timestamp.h"
#include "report/lake_source.h"
#include "report/render.h"
#include "report/report.h"

namespace sp {

namespace {

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if ((c < '0' || c > '9') && c != '.' && c != '-' && c != '+') return false;
  }
  return true;
}

// The report is written next to its final name and renamed, so an interrupted run never leaves a
// half report where a previous good one was.
Status WriteFileAtomically(const std::string& path, const std::string& text) {
  Env* env = Env::Default();
  const std::string tmp = path + ".tmp";
  SP_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(tmp));
  SP_RETURN_IF_ERROR(file->Append(text));
  SP_RETURN_IF_ERROR(file->Sync());
  SP_RETURN_IF_ERROR(file->Close());
  return env->RenameFile(tmp, path);
}

// A --device without readings in the period is most often a typo: say whether the lake knows it
// at all, and which devices the period holds, instead of an empty report. Always an error.
Status NoReadingsOf(QueryEngine* engine, const ReportArgs& args, int64_t from_us, int64_t to_us) {
  SP_ASSIGN_OR_RETURN(const bool known, DeviceKnown(engine, args.device));
  SP_ASSIGN_OR_RETURN(const std::vector<std::string> devices, DevicesWithReadings(engine, from_us, to_us));
  std::string text = known ? "device '" + args.device + "' has no readings from " + args.from + " to " + args.to
                           : "unknown device '" + args.device + "': the lake holds no readings of it";
  if (devices.empty()) return Status::NotFound(text + "; no device has readings in that period");
  text += "; devices with readings from " + args.from + " to " + args.to + ":";
  for (const std::string& d : devices) text += " " + d;
  return Status::NotFound(text);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "sensorpipe: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

Result<int64_t> ParseReportTime(const std::string& text, const std::string& zone) {
  SP_ASSIGN_OR_RETURN(TimestampParser parser, TimestampParser::Create(zone));
  int64_t us = 0;
  if (LooksNumeric(text)) {
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && parser.ParseEpoch(seconds, &us)) return us;
  } else if (parser.ParseText(text, &us)) {
    return us;
  }
  return Status::InvalidArgument("'" + text +
                                 "' is not a time: use ISO 8601 like 2022-07-14T00:00:00+09:00, a wall time like "
                                 "\"2022-07-14 00:00:00\" (read in --tz), or epoch seconds");
}

int RunReport(QueryEngine* engine, const ReportArgs& args) {
  auto zone = LocalZone::Create(args.tz);
  if (!zone.ok()) return Fail(zone.status());
  auto format = ParseReportFormat(args.format);
  if (!format.ok()) return Fail(format.status());
  auto from = ParseReportTime(args.from, args.tz);
  if (!from.ok()) return Fail(from.status());
  auto to = ParseReportTime(args.to, args.tz);
  if (!to.ok()) return Fail(to.status());
  auto rows = FetchReadings(engine, *from, *to, args.device);
  if (!rows.ok()) return Fail(rows.status());
  if (!args.device.empty() && rows->empty()) return Fail(NoReadingsOf(engine, args, *from, *to));
  const Report report = AnalyzeReadings(std::move(*rows), *from, *to, *zone);
  const std::string text = RenderReport(report, *zone, *format);
  if (args.out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  const Status s = WriteFileAtomically(args.out, text);
  return s.ok() ? 0 : Fail(s);
}

}  // namespace sp
