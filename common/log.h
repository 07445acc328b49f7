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
      : component_(std::move(component)), min_level_(min_level) {}

  void Log(Level level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());
  void Debug(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kDebug, event, f); }
  void Info(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kInfo, event, f); }
  void Warn(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kWarn, event, f); }
  void Error(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Log(Level::kError, event, f); }

 private:
  std::string component_;
  Level min_level_;
  std::mutex mu_;
};

}  // namespace cifs
