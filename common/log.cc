#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <ctime>

namespace cifs {

namespace {
const char* LevelName(Logger::Level l) {
  switch (l) {
    case Logger::Level::kDebug: return "debug";
    case Logger::Level::kInfo: return "info";
    case Logger::Level::kWarn: return "warn";
    case Logger::Level::kError: return "error";
  }
  return "info";
}

std::string NowIso() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

const char* JournalPriority(Logger::Level l) {
  switch (l) {
    case Logger::Level::kDebug: return "<7>";
    case Logger::Level::kInfo: return "<6>";
    case Logger::Level::kWarn: return "<4>";
    case Logger::Level::kError: return "<3>";
  }
  return "<6>";
}
}  // namespace

bool Logger::StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void Logger::Log(Level level, std::string_view event, const nlohmann::json& fields) {
  if (level < min_level_) return;
  nlohmann::json line = {{"ts", NowIso()}, {"level", LevelName(level)}, {"component", component_},
                         {"event", event}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mu_);
  std::fprintf(stderr, "%s%s\n", journal_ ? JournalPriority(level) : "", text.c_str());
  std::fflush(stderr);
}

}  // namespace cifs
