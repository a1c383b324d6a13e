#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>

#include "app/app.h"
#include "app/commands.h"
#include "core/error.h"
#include "core/settings.h"
#include "core/version.h"
#include "ml/model.h"

namespace playground::app {
namespace {

// Adds one flag per setting to `cmd`; after parsing, `raw` holds the value of every setting
// given by flag or environment variable (a flag wins).
struct SettingFlags {
  std::map<std::string, std::string> values;  // flag values by env name
  std::map<std::string, CLI::Option*> options;

  void AddTo(CLI::App* cmd) {
    for (const auto& spec : core::SettingSpecs()) {
      std::string help = spec.help + " [" + spec.type + "]";
      if (!spec.default_value.empty() && !spec.secret) help += " (default: " + spec.default_value + ")";
      options[spec.env] =
          cmd->add_option("--" + spec.flag, values[spec.env], help)->envname(spec.env)->group("Settings");
    }
  }

  std::map<std::string, std::string> Raw() const {
    std::map<std::string, std::string> raw;
    for (const auto& spec : core::SettingSpecs()) {
      auto opt = options.at(spec.env);
      if (opt->count() > 0) {
        raw[spec.env] = values.at(spec.env);
        continue;
      }
      // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start-up, before any thread starts
      if (const char* env = std::getenv(spec.env.c_str()); env != nullptr) raw[spec.env] = env;
    }
    return raw;
  }
};

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"AI Playground: a self-hosted machine-learning platform.", "playground"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");

  SettingFlags serve_flags, migrate_flags, users_flags, datasets_flags, worker_flags;
  auto* serve = app.add_subcommand("serve", "Run the HTTP API (and, in embedded mode, the web UI).");
  serve_flags.AddTo(serve);
  auto* worker = app.add_subcommand("worker",
                                    "Run jobs from Redis (REDIS_URL) with WORKER_CONCURRENCY threads until "
                                    "SIGTERM, then finish or hand back what runs.");
  worker_flags.AddTo(worker);
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit.");
  bool migrate_status = false;
  migrate->add_flag("--status", migrate_status, "List migrations and whether each is applied; change nothing.");
  migrate_flags.AddTo(migrate);
  auto* users = app.add_subcommand("users", "Manage accounts: create, list, set-role, disable, enable.");
  users->require_subcommand(1);
  UsersCommand users_cmd;
  auto* users_create = users->add_subcommand("create",
                                             "Create an account (password from --password, "
                                             "PLAYGROUND_PASSWORD or the first line of stdin).");
  users_create->add_option("--email", users_cmd.email, "Email address")->required();
  users_create->add_option("--password", users_cmd.password, "Password (prefer stdin: the command line is visible)");
  users_create->add_option("--role", users_cmd.role, "admin, member (default) or viewer");
  users->add_subcommand("list", "List accounts.");
  auto* users_role = users->add_subcommand("set-role", "Change an account's role.");
  users_role->add_option("email", users_cmd.email, "Email address")->required();
  users_role->add_option("role", users_cmd.role, "admin, member or viewer")->required();
  auto* users_disable = users->add_subcommand("disable", "Disable an account; its sessions end at once.");
  users_disable->add_option("email", users_cmd.email, "Email address")->required();
  auto* users_enable = users->add_subcommand("enable", "Enable a disabled account.");
  users_enable->add_option("email", users_cmd.email, "Email address")->required();
  users_flags.AddTo(users);
  auto* datasets = app.add_subcommand("datasets", "Dataset maintenance.");
  datasets->require_subcommand(1);
  datasets->add_subcommand("cleanup",
                           "Remove original uploads past ORIGINALS_RETENTION_DAYS and the leftovers of uploads that "
                           "never completed (the server also does this hourly).");
  datasets_flags.AddTo(datasets);
  auto* version = app.add_subcommand("version", "Print the version and exit.");
  auto* settings = app.add_subcommand("settings", "Print the table of settings (Markdown) and exit.");
  auto* algorithms = app.add_subcommand(
      "algorithms", "Print the machine-learning algorithms and their parameters (Markdown) and exit.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadConfig;
  }

  if (*version) {
    std::cout << "playground " << core::kVersion << "\n";
    return kExitOk;
  }
  if (*settings) {
    std::cout << core::SettingsMarkdown();
    return kExitOk;
  }
  if (*algorithms) {
    std::cout << ml::AlgorithmsMarkdown();
    return kExitOk;
  }
  SettingFlags& flags = *serve      ? serve_flags
                        : *users    ? users_flags
                        : *datasets ? datasets_flags
                        : *worker   ? worker_flags
                                    : migrate_flags;
  core::Settings resolved;
  try {
    resolved = core::ResolveSettings(flags.Raw());
  } catch (const core::Error& e) {
    std::cerr << "playground: " << e.what() << "\n";
    return kExitBadConfig;
  }
  if (*serve) return Serve(resolved);
  if (*worker) return Worker(resolved);
  if (*users) {
    for (auto* sub : users->get_subcommands()) users_cmd.action = sub->get_name();
    return Users(resolved, users_cmd);
  }
  if (*datasets) return Datasets(resolved, datasets->get_subcommands().front()->get_name());
  return Migrate(resolved, migrate_status);
}

}  // namespace playground::app
