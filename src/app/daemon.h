// The daemon behind `sensorpipe run`: opens the log, starts delivery, ingest and the web server
// in the order data flows backwards (consumers before producers, so nothing waits on a stage that
// is not there), and stops them in the reverse order on SIGINT or SIGTERM, so that a clean stop
// leaves every acknowledged record in the lake.
#pragma once

#include "common/config.h"
#include "common/status.h"

namespace sp {

//! Runs until SIGINT or SIGTERM. Returns a Status explaining why it could not start, or OK after
//! a clean stop. The caller must have blocked SIGINT and SIGTERM in every thread (BlockStopSignals).
Status RunDaemon(const Config& config);

//! Blocks SIGINT and SIGTERM so that only RunDaemon's sigwait receives them; call before any
//! thread starts.
void BlockStopSignals();

}  // namespace sp
