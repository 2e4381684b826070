;; For tests/unit/api_test.cpp's host exception test: a module without exception handling
;; (it runs as native code) between a guest with handlers and a host function that throws.
(module
  (import "env" "throw" (func $throw (param i32)))
  (func (export "relay") (param i32)
    (call $throw (local.get 0))))
