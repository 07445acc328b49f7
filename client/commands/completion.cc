// cifs completion bash: a bash completion script made from the command tree
// itself, so it never falls behind the commands. Workspace names and PR
// numbers come from the farm when they are asked for (a `cifs ws list` or
// `cifs pr list` with a short timeout), everything else from this binary.
#include <iostream>
#include <sstream>

#include "client/commands/commands.h"

namespace cifs {

namespace {

// Where a value is a workspace name or a PR number, by the option's name.
const char* ValueKind(const CLI::Option& o) {
  const std::string& n = o.get_name();
  if (n == "WORKSPACE") return "workspace";
  if (n == "N") return "pr";
  for (const auto& l : o.get_lnames()) {
    if (l == "workspace") return "workspace";  // -w, --workspace
  }
  return "";
}

void Walk(const CLI::App& app, const std::string& path, std::ostringstream& out) {
  std::string subs, flags, valued, positional;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty() || sub->get_group().empty()) continue;  // hidden
    subs += (subs.empty() ? "" : " ") + sub->get_name();
  }
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    if (o->get_positional() && !o->nonpositional()) {
      if (positional.empty()) positional = ValueKind(*o);
      continue;
    }
    for (const auto& l : o->get_lnames()) flags += " --" + l;
    for (const auto& s : o->get_snames()) flags += " -" + s;
    if (o->get_expected_max() > 0) {  // takes a value (a flag takes none)
      const char* kind = ValueKind(*o);
      for (const auto& l : o->get_lnames()) valued += " --" + l + (*kind ? std::string("=") + kind : "");
      for (const auto& s : o->get_snames()) valued += " -" + s + (*kind ? std::string("=") + kind : "");
    }
  }
  out << "_cifs_subs[\"" << path << "\"]=\"" << subs << "\"\n"
      << "_cifs_flags[\"" << path << "\"]=\"" << flags << "\"\n"
      << "_cifs_valued[\"" << path << "\"]=\"" << valued << " \"\n"
      << "_cifs_positional[\"" << path << "\"]=\"" << positional << "\"\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty() || sub->get_group().empty()) continue;
    Walk(*sub, path + " " + sub->get_name(), out);
  }
}

constexpr const char* kFunction = R"BASH(
_cifs_dynamic() {  # _cifs_dynamic KIND: names from the farm, quietly
  case $1 in
    workspace) timeout 3 cifs ws list 2>/dev/null | awk 'NR > 1 {print $1}' ;;
    pr) timeout 3 cifs pr list 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $1}' ;;
  esac
}
_cifs() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path=cifs i w kind args=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -- ]] && return 0  # Bazel's flags from here on
    case " ${_cifs_subs[$path]} " in
      *" $w "*) path="$path $w"; args=0; continue ;;
    esac
    # A word that is neither a flag nor a flag's value is an argument.
    [[ $w == -* || " ${_cifs_valued[$path]} " == *" ${COMP_WORDS[i-1]}"[=\ ]* ]] || args=$((args + 1))
  done
  case " ${_cifs_valued[$path]} " in
    *" $prev="*)
      kind=${_cifs_valued[$path]#* $prev=}
      kind=${kind%% *}
      mapfile -t COMPREPLY < <(compgen -W "$(_cifs_dynamic "$kind")" -- "$cur")
      return 0 ;;
    *" $prev "*) return 0 ;;  # a value we cannot guess
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_cifs_flags[$path]}" -- "$cur")
  elif [[ -n ${_cifs_subs[$path]} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_cifs_subs[$path]}" -- "$cur")
  elif [[ -n ${_cifs_positional[$path]} && $args -eq 0 ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_cifs_dynamic "${_cifs_positional[$path]}")" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -o default -F _cifs cifs
)BASH";

}  // namespace

void RegisterCompletionCommand(CLI::App& app, ExitCode* exit_code) {
  auto shell = std::make_shared<std::string>();
  auto* c = app.add_subcommand("completion", "print a shell completion script: source <(cifs completion bash)");
  c->add_option("SHELL", *shell, "bash")->required()->check(CLI::IsMember({"bash"}));
  c->callback([&app, shell, exit_code] {
    std::ostringstream out;
    out << "# cifs bash completion (cifs completion bash)\n"
        << "declare -gA _cifs_subs _cifs_flags _cifs_valued _cifs_positional\n";
    Walk(app, "cifs", out);  // bash's associative arrays take no empty key
    std::cout << out.str() << kFunction;
    *exit_code = 0;
  });
}

}  // namespace cifs
