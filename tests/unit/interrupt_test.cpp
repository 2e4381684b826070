// Interruption reaches every way a guest can run forever: each export of
// tests/unit/wat/spin.wat is a backward branch in one of its lowered forms (plain,
// conditional, fused with a comparison or eqz, from a table, carrying values), a
// recursion without loops or an endless chain of tail calls, and each must end in the Interrupted
// trap, leaving the store usable; in the interpreter and in native code.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "test_util.hpp"

namespace edgecar::test {
namespace {

struct Spin {
  const char* name;
  int32_t a, b;  // arguments that keep it running
};

const Spin kSpins[] = {
    {"br", 1, 1},
    {"br_if", 1, 1},
    {"br_if_eqz", 0, 0},
    {"br_if_eq", 1, 1},
    {"br_if_eq_imm", 1, 1},
    {"br_if_ne", 1, 2},
    {"br_if_ne_imm", 1, 2},
    {"br_if_lt_s", 1, 2},
    {"br_if_lt_s_imm", 1, 2},
    {"br_if_lt_u", 1, 2},
    {"br_if_lt_u_imm", 1, 2},
    {"br_if_gt_s", 2, 1},
    {"br_if_gt_s_imm", 2, 1},
    {"br_if_gt_u", 2, 1},
    {"br_if_gt_u_imm", 2, 1},
    {"br_if_le_s", 1, 1},
    {"br_if_le_s_imm", 1, 1},
    {"br_if_le_u", 1, 1},
    {"br_if_le_u_imm", 1, 1},
    {"br_if_ge_s", 1, 1},
    {"br_if_ge_s_imm", 1, 1},
    {"br_if_ge_u", 1, 1},
    {"br_if_ge_u_imm", 1, 1},
    {"br_table", 0, 0},
    {"br_table_default", 5, 0},
    {"br_out_of_if", 1, 1},
    {"br_out_of_else", 1, 1},
    {"br_if_nested", 1, 1},
    {"br_if_eqz_nested", 1, 0},
    {"br_if_carrying", 1, 1},
    {"br_if_lt_carrying", 1, 2},
    {"br_table_carrying", 1, 0},
    {"recursion", 60, 0},
    {"recursion_indirect", 60, 0},
    {"tail_call", 1, 0},
    {"tail_call_indirect", 1, 0},
    {"around_counted", 100, 1},
    {"around_constant", 1, 1},
    {"counted_long", 1, 1},
    {"constant_long", 1, 1},
};

// Where the guest runs: interpreted, native, or tiered (interpreted first, each function
// compiled at its first call and each loop entered natively at its first iteration).
enum class Mode { Interp, Aot, Tier };
const char* mode_name(Mode m) {
  return m == Mode::Interp ? "interp" : m == Mode::Aot ? "aot" : "tier";
}

class Interrupt : public ::testing::TestWithParam<std::tuple<Spin, Mode>> {};

// Runs the guest in a child process, so that a guest the interrupt does not reach fails
// the test after a few seconds instead of hanging it. The child's exit code: 0 when the
// call ended in the Interrupted trap, 1 when it ended otherwise, 2 on a setup failure.
int run_and_interrupt(const Spin& spin, Mode mode) {
  LoadOptions load;
  load.engine = mode == Mode::Aot ? Engine::Native : Engine::Interp;
  load.tier_up = mode == Mode::Tier;
  load.tier_threshold = 1;
  load.tier_synchronous = true;
  auto m = Module::from_file(wat_path("spin"), load);
  if (!m) return 2;
  Store store;
  auto inst = store.instantiate(*m, Imports{});
  if (!inst) return 2;
  std::thread stopper([&store] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    store.interrupt();
  });
  Value args[] = {Value::i32(spin.a), Value::i32(spin.b)};
  auto r = store.call(*inst, spin.name, args);
  stopper.join();
  if (r.ok() || r.error().trap != TrapKind::Interrupted) return 1;
  store.clear_interrupt();
  return 0;
}

TEST_P(Interrupt, EndsAGuestThatWouldRunForever) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  const Spin& spin = std::get<0>(GetParam());
  if (child == 0) _exit(run_and_interrupt(spin, std::get<1>(GetParam())));
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      FAIL() << spin.name << ": still running 5 s after the interrupt";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(WIFEXITED(status)) << spin.name << ": the guest's process died";
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << spin.name
      << (WEXITSTATUS(status) == 1 ? ": did not end in the Interrupted trap" : ": setup failed");
}

INSTANTIATE_TEST_SUITE_P(EveryForm, Interrupt,
                         ::testing::Combine(::testing::ValuesIn(kSpins),
                                            ::testing::Values(Mode::Interp, Mode::Aot, Mode::Tier)),
                         [](const ::testing::TestParamInfo<std::tuple<Spin, Mode>>& i) {
                           return std::string(std::get<0>(i.param).name) + "_" +
                                  mode_name(std::get<1>(i.param));
                         });

// A form added to spin.wat must be listed above.
TEST(InterruptForms, EveryExportIsTested) {
  auto m = load_test_module("spin");
  ASSERT_TRUE(m);
  std::set<std::string> listed;
  for (const Spin& s : kSpins) listed.insert(s.name);
  for (const auto& e : m->exports()) EXPECT_TRUE(listed.count(e.name)) << e.name;
}

}  // namespace
}  // namespace edgecar::test
