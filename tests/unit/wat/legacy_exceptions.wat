;; Legacy exception handling (try, catch, catch_all, rethrow, delegate: what LLVM emits for
;; C++ with -fwasm-exceptions), for tests/unit/api_test.cpp. Assembled by wabt.
(module
  (tag $e (param i32))
  (func $thrower (param i32) (throw $e (local.get 0)))
  ;; caught two frames up: the payload plus 1000
  (func (export "catch") (param i32) (result i32)
    (try (result i32)
      (do (call $thrower (local.get 0)) (i32.const -1))
      (catch $e (i32.add (i32.const 1000)))))
  ;; rethrown from the catch block, caught by the outer try
  (func (export "rethrow") (param i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (throw $e (local.get 0)))
          (catch $e (drop) (rethrow 0))))
      (catch $e (i32.add (i32.const 1)))))
  ;; delegated past an inner catch_all to the outer try
  (func (export "delegate") (param i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do
            (try (result i32) (do (throw $e (local.get 0))) (delegate 1)))
          (catch_all (i32.const -2))))
      (catch $e)))
  ;; n throws, each caught by a legacy catch (its exception kept for rethrow until the
  ;; store collects it): more than the store keeps at once
  (func (export "loop") (param i32) (result i32) (local $sum i32)
    (loop $l
      (try
        (do (throw $e (local.get 0)))
        (catch $e (local.set $sum (i32.add (local.get $sum)))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))
)
