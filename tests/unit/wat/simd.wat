;; v128 across the embedding API: a host function taking and returning v128 (with
;; scalars around it, so that slot positions matter), v128 exports and globals.
(module
  (import "host" "mix" (func $mix (param i32 v128 f64 v128) (result v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  ;; Calls the host with lanes it can check, then adds 1 to every i32 lane of its answer.
  (func (export "call_mix") (param $a v128) (param $b v128) (result v128)
    (i32x4.add
      (call $mix (i32.const 7) (local.get $a) (f64.const 2.5) (local.get $b))
      (v128.const i32x4 1 1 1 1)))
  (func (export "swap_halves") (param v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0)))
  (func (export "bump_global") (result v128)
    (global.set $g (i32x4.mul (global.get $g) (v128.const i32x4 10 10 10 10)))
    (global.get $g)))
