// The daemon behind `sensorpipe run`: opens the log, starts delivery, ingest and the web server
// in the order data flows backwards (consumers before producers, so nothing waits on a stage that
// is not there), and stops them in the reverse order on SIGINT or SIGTERM, so that a clean stop
// leaves every acknowledged record in the lake.
#pragma once

#include <memory>
#include <string>

#include "app/settings.h"
#include "common/file_lock.h"
#include "common/status.h"
#include "rules/rule.h"

namespace sp {

//! Runs until SIGINT or SIGTERM. Returns a Status explaining why it could not start, or OK after
//! a clean stop. The caller must have blocked SIGINT and SIGTERM in every thread (BlockStopSignals).
Status RunDaemon(const DaemonConfig& config);

//! Compiles the config's [[rules]] (none: the default rule). A bad rule is an InvalidArgument
//! "file:line: [[rules]] sql: rule 'x': line L, column C: ..." with a caret under the mistake.
Result<std::shared_ptr<const RuleSet>> CompileRules(const DaemonConfig& config);

//! Keeps one process writing a data folder (the daemon, or a replay): a FileLock on
//! data_dir/LOCK.
Result<std::unique_ptr<FileLock>> LockDataDir(const std::string& data_dir);

//! Blocks SIGINT and SIGTERM so that only RunDaemon's sigwait receives them; call before any
//! thread starts.
void BlockStopSignals();

}  // namespace sp
