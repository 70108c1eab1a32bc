// Named crash points for crash tests: SP_CRASH_POINT("compact.after_commit") kills the process
// with SIGKILL, exactly as `kill -9` would, when the environment variable SP_CRASH_POINT names
// that point ("name" crashes at its first hit, "name:N" at its Nth). Tests arm one point per run
// and check that a restart loses and doubles nothing. Compiled in unless SP_CRASH_POINTS is off
// (the default for Release builds), so a production binary carries no trace of them.
#pragma once

namespace sp {

//! Kills the process if SP_CRASH_POINT arms `name` and this is the armed hit.
void CrashPoint(const char* name);

}  // namespace sp

#ifdef SP_CRASH_POINTS
#define SP_CRASH_POINT(name) ::sp::CrashPoint(name)
#else
#define SP_CRASH_POINT(name) ((void)0)
#endif
