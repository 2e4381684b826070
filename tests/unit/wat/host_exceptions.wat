;; Exceptions crossing host functions, for tests/unit/api_test.cpp: a host function throws
;; a host tag (HostCall::throw_exception) into a guest handler; one passes on the exception
;; a guest it called left uncaught; one tail-called from inside a try_table throws past that
;; try_table (its frame is gone) to the caller's handler; and one left uncaught. Assembled
;; with wasm-tools.
(module
  (import "env" "e" (tag $e (param i32)))
  (import "env" "throw" (func $throw (param i32)))                  ;; throws $e (2 * arg)
  (import "env" "throw_r" (func $throw_r (param i32) (result i32))) ;; the same, with a result
  (import "env" "call_inner" (func $call_inner (param i32) (result i32)))
  ;; calls "inner" and returns its error
  (import "env" "bad_payload" (func $bad_payload))                  ;; an i64 payload for $e
  (import "native" "relay" (func $relay (param i32)))              ;; another module's $throw

  (func (export "inner") (param i32) (result i32)
    (throw $e (local.get 0)))

  ;; the payload the host threw, plus 1000
  (func (export "catch_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $throw (local.get 0)))
      (i32.const -1)
      (return))
    (i32.add (i32.const 1000)))

  ;; through a host function that called back into "inner": the payload plus 2000
  (func (export "across_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $call_inner (local.get 0)))
      (return))
    (i32.add (i32.const 2000)))

  ;; return_call of a throwing host function inside a try_table that would catch anything:
  ;; that frame is gone, so the caller's handler takes it (payload plus 3000), not 777
  (func $tail (param i32) (result i32)
    (block $wrong
      (try_table (catch_all $wrong)
        (return_call $throw_r (local.get 0))))
    (i32.const 777))
  (func (export "tail_from_try") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $tail (local.get 0)))
      (return))
    (i32.add (i32.const 3000)))

  ;; through the native frames of another module (which has no handlers): plus 4000
  (func (export "through_native") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $relay (local.get 0)))
      (i32.const -1)
      (return))
    (i32.add (i32.const 4000)))

  (func (export "uncaught") (param i32)
    (call $throw (local.get 0)))
  (func (export "bad") (call $bad_payload)))
