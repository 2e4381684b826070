;; Per-function tiering (tests/unit/tierup_test.cpp): functions that get hot while a call
;; is under way, a loop entered once (on-stack replacement), and traps and exceptions
;; from code that tiered up.
(module
  (memory 1)
  (tag $boom (param i32))

  (func $sq (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))

  ;; Calls $sq n times: $sq gets hot and is native for the later calls of this very run.
  (func (export "sum_sq") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $sq (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s))

  ;; One call, one long loop (an LCG over i64, f64 and v128 locals): it goes on natively
  ;; from the loop's header, with every local as the interpreter left it.
  (func (export "mix") (param $n i32) (param $seed i64) (result i64)
    (local $x i64) (local $f f64) (local $v v128) (local $i i32)
    (local.set $x (local.get $seed))
    (local.set $f (f64.const 0.5))
    (local.set $v (v128.const i32x4 1 2 3 4))
    (loop $l
      (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (local.set $f (f64.add (f64.mul (local.get $f) (f64.const 0.75))
                             (f64.convert_i64_u (i64.shr_u (local.get $x) (i64.const 40)))))
      (local.set $v (i32x4.add (local.get $v) (i32x4.splat (i32.wrap_i64 (local.get $x)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.xor (i64.xor (local.get $x) (i64.trunc_sat_f64_u (local.get $f)))
             (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $v)))))

  ;; Stores at 4 * i for i < n: a memory trap once 4 * i passes the page, from native code
  ;; entered at the loop (the loop runs natively by then).
  (func $fill (export "fill") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (i32.store (i32.mul (local.get $i) (i32.const 4)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.load (i32.const 400)))

  ;; Throws $boom with the iteration count once it reaches n.
  (func $throw_at (export "throw_at") (param $n i32)
    (local $i i32)
    (loop $l
      (if (i32.eq (local.get $i) (local.get $n)) (then (throw $boom (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))

  ;; Calls throw_at(k) for k < n, catching each: the sum of the payloads. Handlers in the
  ;; interpreted caller catch exceptions thrown by native code and the other way round.
  (func (export "catch_sum") (param $n i32) (result i32)
    (local $k i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s)
        (block $h (result i32)
          (try_table (catch $boom $h) (call $throw_at (local.get $k)))
          (i32.const -1000000))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (local.get $n))))
    (local.get $s))

  ;; Traps once its argument passes 1000; called from a loop, so that the trap comes from
  ;; a callee that went native, called by code that went native at its loop.
  (func $check (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.const 1000)) (then unreachable))
    (local.get 0))
  (func $check_all (export "check_all") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $check (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))

  (func $check_under (export "check_under") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (i32.const 7)  ;; an operand under the loop: the loop has no native entry, so this
                   ;; call stays interpreted while $check goes native
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $check (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $s)))

  ;; Recursion through a helper: deep, so that it exhausts the call stack in either tier.
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
;; Mutual recursion where only $ping gets hot (called alone many times first): a deep
  ;; call alternates native $ping and interpreted $pong frames, one runtime entry each.
  (func $ping (export "ping") (param $n i32) (result i32)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $pong (i32.sub (local.get $n) (i32.const 1)))))))
  (func $pong (param $n i32) (result i32)
    (i32.add (i32.const 1) (call $ping (i32.sub (local.get $n) (i32.const 1)))))
)
