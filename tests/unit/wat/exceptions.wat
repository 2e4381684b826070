;; Exception handling (WebAssembly 3.0), for tests/unit/api_test.cpp: throws caught across
;; functions, by tag and by catch_all, rethrown through an exnref, left uncaught, and in
;; loops (a plain catch lets the store reuse the exception; a catch_ref keeps each one).
;; Assembled with wasm-tools (wabt does not read try_table).
(module
  (tag $e (param i32))
  (tag $f (param i64 i32))
  (tag $empty)
  (export "e" (tag $e))
  (func $thrower (param i32)
    (if (i32.eqz (local.get 0)) (then (return)))
    (throw $e (local.get 0)))
  (func $deep (param i32 i32)
    ;; recurses a levels deep, then throws b
    (if (i32.eqz (local.get 0)) (then (call $thrower (local.get 1)) (return)))
    (call $deep (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))
  ;; the value thrown a levels down, plus 1000; or -1 when nothing was thrown
  (func (export "catch_deep") (param i32 i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught)
        (call $deep (local.get 0) (local.get 1)))
      (i32.const -1)
      (return))
    (i32.add (i32.const 1000)))
  ;; $f carries two values; catch_all catches $empty
  (func (export "two_values") (result i64 i32)
    (block $h (result i64 i32)
      (try_table (catch $f $h)
        (throw $f (i64.const 7) (i32.const 9)))
      (unreachable)))
  (func (export "catch_all") (result i32)
    (block $h
      (try_table (catch_all $h) (throw $empty))
      (return (i32.const 0)))
    (i32.const 1))
  ;; caught with its exnref, rethrown, caught again outside
  (func (export "rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $inner (result i32 exnref)
          (try_table (catch_ref $e $inner) (throw $e (local.get 0)))
          (unreachable))
        (throw_ref))
      (unreachable))
    ;; the payload, seen twice
    (i32.add (i32.const 1)))
  (func (export "uncaught") (throw $e (i32.const 42)))
  (func (export "null_ref") (throw_ref (ref.null exn)))
  ;; n throws, each caught by a plain catch: the store reuses one exception
  (func (export "loop_catch") (param i32) (result i32) (local $sum i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (throw $e (local.get 0)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))
  ;; n throws, each caught with its exnref and kept in a table: every exception stays
  ;; reachable, so the store's bound ends the call
  (table $keep 0 exnref)
  (func (export "loop_catch_ref") (param i32)
    (local $x exnref)
    (loop $l
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get 0)))
        (unreachable))
      (local.set $x)
      (drop)
      (drop (table.grow $keep (local.get $x) (i32.const 1)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
  ;; the same with the exnrefs dropped: unreachable ones are collected, the loop ends
  (func (export "loop_catch_ref_dropped") (param i32)
    (loop $l
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get 0)))
        (unreachable))
      (drop)
      (drop)
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
  ;; one exception kept only in a local (native code: a register or its stack slot) while
  ;; n others are caught with their exnrefs and dropped, so collections run meanwhile;
  ;; rethrown after, it must still carry its own payload (7777)
  (func (export "held_across_collections") (param i32) (result i32)
    (local $held exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h) (throw $e (i32.const 7777)))
      (unreachable))
    (local.set $held)
    (drop)
    (loop $l
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get 0)))
        (unreachable))
      (drop)
      (drop)
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (block $again (result i32)
      (try_table (catch $e $again) (throw_ref (local.get $held)))
      (unreachable)))
;; the legacy forms (try/catch/rethrow/delegate) are assembled by wabt: legacy.wat
)
