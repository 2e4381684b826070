// The `edgecar` command: run WebAssembly modules and inspect them.
//
// Exit codes: the guest's own exit code for WASI commands; 1 when a module cannot be
// read, decoded, validated or linked; 2 for usage errors; 124 when --timeout expired;
// 134 when the guest trapped.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.hpp"

#include <edgecar/edgecar.hpp>

int main(int argc, char** argv) {
  // Networked guests hold a descriptor per connection: take the hard limit, as Go's
  // runtime does (guests are still bounded by --max-sockets).
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  CLI::App app{"edgecar: a WebAssembly runtime for functions beside a Dapr sidecar"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgecar " EDGECAR_VERSION " (SIMD on " +
                                        std::string(edgecar::simd_level()) + ")");

  edgecar::cli::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run",
                                         "Run a WebAssembly module: its _start (a WASI command) "
                                         "or, with --invoke, one exported function");
  run_cmd->add_option(
      "--invoke", run.invoke,
      "Call this exported function with ARGS parsed by its signature and print its results");
  run_cmd
      ->add_option("--dir", run.dirs,
                   "Give the guest a host directory, as HOST or HOST:GUEST (repeatable)")
      ->allow_extra_args(false);
  run_cmd
      ->add_option("--env", run.env,
                   "Set an environment variable for the guest, KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  run_cmd->add_option("--max-memory", run.max_memory_mib, "Cap the guest's linear memory, in MiB")
      ->check(CLI::Range(1u, 4096u));
  run_cmd
      ->add_option("--timeout", run.timeout_seconds,
                   "Interrupt the guest after this many seconds (exit code 124)")
      ->check(CLI::PositiveNumber);
  run_cmd
      ->add_option("--nn-preload", run.nn_preload,
                   "Preload a WASI-NN model for load_by_name, as NAME:ENCODING:TARGET:PATH, e.g. "
                   "mobilenet:tensorflowlite:cpu:m.tflite (repeatable)")
      ->allow_extra_args(false);
  run_cmd->add_option("--nn-threads", run.nn_threads, "Threads per WASI-NN inference")
      ->check(CLI::Range(1, 64));
  run_cmd->add_flag("--nn-allow-guest-models", run.nn_allow_guest_models,
                    "Let the guest load WASI-NN models from its own memory (load); off by "
                    "default, since a model is untrusted code to TensorFlow Lite");
  run_cmd
      ->add_option("--allow-listen", run.allow_listen,
                   "Let the guest listen on (bind) these addresses and ports: ADDR[/BITS][:PORTS], "
                   "[V6ADDR][/BITS][:PORTS], *:PORTS or PORTS, e.g. 9005 or 127.0.0.1:8000-8999 "
                   "(repeatable; nothing by default)")
      ->allow_extra_args(false);
  run_cmd
      ->add_option("--allow-connect", run.allow_connect,
                   "Let the guest connect (and send datagrams) to these addresses and ports, "
                   "written as for --allow-listen, e.g. 127.0.0.1:3306 or 10.0.0.0/8 (repeatable)")
      ->allow_extra_args(false);
  run_cmd
      ->add_option("--allow-lookup", run.allow_lookup,
                   "Let the guest resolve this host name (sock_getaddrinfo), or * for any "
                   "(repeatable; numeric addresses need no grant)")
      ->allow_extra_args(false);
  run_cmd
      ->add_option("--redirect-connect", run.redirect_connect,
                   "FROM=TO: the guest's connections to ADDR:PORT FROM go to ADDR:PORT TO "
                   "instead (granted by this alone), e.g. 127.0.0.1:3503=127.0.0.1:3500 for "
                   "a module with Dapr's port compiled in (repeatable)")
      ->allow_extra_args(false);
  run_cmd->add_flag("--inherit-network", run.inherit_network,
                    "Give the guest the host's whole network: listen and connect anywhere, "
                    "resolve any name");
  run_cmd->add_option("--max-sockets", run.max_sockets, "Sockets the guest may hold open at once")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  run_cmd
      ->add_option("--dapr-http-port", run.dapr_http_port,
                   "Serve embedded Dapr's HTTP API on 127.0.0.1:PORT as the guest's sidecar "
                   "(state, secrets, invocation of apps of other edgecar processes), instead "
                   "of daprd")
      ->check(CLI::Range(1, 65535));
  run_cmd->add_option("--app-id", run.app_id, "The app's Dapr id (default: the module's name)");
  run_cmd
      ->add_option("--app-port", run.app_port,
                   "The port the guest listens on, where embedded Dapr sends invocations of "
                   "--app-id from other apps")
      ->check(CLI::Range(1, 65535));
  run_cmd->add_option("--resources-path", run.resources_path,
                      "Dapr component files for embedded Dapr (secretstores.local.file is "
                      "served; state stores are edgecar's own)");
  run_cmd
      ->add_option("--engine", run.engine,
                   "How the guest runs: auto (native code when MODULE.aot or the cache has it, "
                   "else the interpreter, compiling the functions that get hot in the "
                   "background), interp (never compiles), or native (native code, compiled and "
                   "cached first when neither has it; aot, its former name, is accepted)")
      ->check(CLI::IsMember({"auto", "interp", "native", "aot"}))
      ->capture_default_str();
  run_cmd->add_option("module", run.module, "The .wasm file")->required();
  run_cmd->add_option("args", run.args, "Arguments for the program or the invoked function");
  run_cmd->prefix_command(false);
  run_cmd->positionals_at_end();

  edgecar::cli::ServeOptions serve;
  CLI::App* serve_cmd =
      app.add_subcommand("serve", "Serve the functions of a manifest (edgecar.yaml) over HTTP");
  serve_cmd
      ->add_option("manifests", serve.manifests,
                   "Manifest files (edgecar.yaml), one app each; several apps share the process")
      ->capture_default_str();
  serve_cmd->add_flag("--check", serve.check,
                      "Validate the manifest and load its modules, then exit");
  serve_cmd
      ->add_option(
          "--port", serve.port,
          "Listen on this port instead of the manifest's (0: any free port; one manifest only)")
      ->check(CLI::Range(0, 65535));

  serve_cmd->add_option(
      "--address", serve.address,
      "Listen on this address instead of the manifests' (e.g. 0.0.0.0 in a container)");

  std::string compile_path, compile_out;
  CLI::App* compile_cmd = app.add_subcommand(
      "compile",
      "Compile a module to native code for this CPU (an artifact edgecar run and "
      "edgecar serve use when it matches the module)");
  compile_cmd->add_option("module", compile_path, "The .wasm file")->required();
  compile_cmd->add_option("-o,--output", compile_out, "The artifact (default: MODULE.aot)");

  std::string inspect_path;
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect", "Print a module's imports, exports, memories and sizes");
  inspect_cmd->add_option("module", inspect_path, "The .wasm file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : edgecar::cli::kExitUsage;
  }
  if (*run_cmd) {
    // The guest is done: exit without waiting for the tiering compiler's thread, which may
    // be in the middle of compiling a function nobody will call (and must not see static
    // destructors run under it).
    int code = edgecar::cli::run(run);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }
  if (*inspect_cmd) return edgecar::cli::inspect(inspect_path);
  if (*compile_cmd) return edgecar::cli::compile(compile_path, compile_out);
  if (*serve_cmd) return edgecar::cli::serve(serve);
  return edgecar::cli::kExitUsage;
}
