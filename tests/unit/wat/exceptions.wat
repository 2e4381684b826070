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
  ;; Leaving try_tables by every way there is, then throwing: no handler left behind may
  ;; take the exception (each returns 1 when the caller's handler gets it, as it must).
  (func $after_br (param i32)
    (block $out
      (try_table (catch_all $out) (br $out)))       ;; br out of the try_table
    (throw $e (local.get 0)))
  (func $after_br_table (param i32)
    (block $a
      (block $b
        (try_table (catch_all $b)
          (br_table $a $b (local.get 0)))))         ;; br_table out, both ways
    (throw $e (local.get 0)))
  (func $after_loop (param i32) (local $i i32)
    (loop $l
      (block $next
        (try_table (catch_all $next)
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 3)))))) ;; back to the loop header
    (throw $e (local.get 0)))
  (func $returns_from_try (result i32)
    (block $h
      (try_table (catch_all $h) (return (i32.const 5))))
    (i32.const 6))
  (func $after_callee_returned (param i32)
    (drop (call $returns_from_try))                  ;; the callee returned from its try_table
    (throw $e (local.get 0)))
  (func $other_tag_passes (param i32)
    (block $h (result i64 i32)
      (try_table (catch $f $h) (call $thrower (local.get 0)))  ;; $e: not $f's handler
      (return))
    (drop) (drop))
  (func (export "left_handlers") (param i32) (result i32)
    (local $got i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $after_br (i32.const 1))) (i32.const 0) (return))
    (local.set $got)
    (block $h (result i32)
      (try_table (catch $e $h) (call $after_br_table (i32.const 0))) (i32.const 0) (return))
    (local.set $got (i32.add (local.get $got)))
    (block $h (result i32)
      (try_table (catch $e $h) (call $after_br_table (i32.const 1))) (i32.const 0) (return))
    (local.set $got (i32.add (local.get $got)))
    (block $h (result i32)
      (try_table (catch $e $h) (call $after_loop (i32.const 1))) (i32.const 0) (return))
    (local.set $got (i32.add (local.get $got)))
    (block $h (result i32)
      (try_table (catch $e $h) (call $after_callee_returned (i32.const 1))) (i32.const 0) (return))
    (local.set $got (i32.add (local.get $got)))
    (block $h (result i32)
      (try_table (catch $e $h) (call $other_tag_passes (local.get 0))) (i32.const 0) (return))
    (local.set $got (i32.add (local.get $got)))
    ;; locals written inside the try_table keep their values in the handler
    (local.set $got (i32.mul (local.get $got) (i32.const 100)))
    (block $h (result i32)
      (try_table (catch $e $h)
        (local.set $got (i32.add (local.get $got) (i32.const 7)))
        (call $thrower (i32.const 1))
        (local.set $got (i32.const -1000)))
      (return (i32.const -1)))
    (drop)
    (local.get $got))
;; the legacy forms (try/catch/rethrow/delegate) are assembled by wabt: legacy.wat
)
