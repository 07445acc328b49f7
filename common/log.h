// Structured logging: one JSON object per line on stderr, so operators can
// grep and machines can parse the same stream.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>

namespace cifs {

class Logger {
 public:
  enum class Level { kDebug, kInfo, kWarn, kError };

  explicit Logger(std::string component, Level min_level = Level::kInfo)
      : component_(std::move(component)), min_level_(min_level), journal_(StderrIsJournal()) {}

  void Log(Level level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());
  void Debug(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kDebug, event, f); }
  void Info(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kInfo, event, f); }
  void Warn(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kWarn, event, f); }
  void Error(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kError, event, f); }

 private:
  // Under systemd with stderr going to the journal (JOURNAL_STREAM names
  // it): each line starts with its syslog priority, "<6>" for info, so
  // `journalctl -p warning` finds the warnings (sd-daemon(3)).
  static bool StderrIsJournal();

  std::string component_;
  Level min_level_;
  bool journal_;
  std::mutex mu_;
};

}  // namespace cifs
