;; A WAGI command whose greeting goes through a v128: served by native code too.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Content-Type: text/plain\n\nsimd hello\n")
  (func (export "_start")
    ;; Copy the 16 bytes "simd hello\n..." through a v128 load and store (a no-op copy).
    (v128.store (i32.const 90) (v128.load (i32.const 90)))
    (i32.store (i32.const 0) (i32.const 64))   ;; iov.buf
    (i32.store (i32.const 4) (i32.const 37))   ;; iov.len
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
