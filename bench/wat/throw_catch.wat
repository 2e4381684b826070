;; Exceptions: n iterations, every other one throws from a callee and is caught.
(module
  (tag $e (param i32))
  (func $thrower (param i32) (result i32)
    (if (i32.and (local.get 0) (i32.const 1)) (then (throw $e (local.get 0))))
    (local.get 0))
  (func (export "run") (param $n i32) (result i32) (local $sum i32) (local $i i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h)
          (local.set $sum (i32.add (local.get $sum) (call $thrower (local.get $i)))))
        (i32.const 0))
      (local.set $sum (i32.add (local.get $sum) (i32.mul (i32.const 3))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum)))
