;; Garbage collection: binary trees (the Benchmarks Game's), with WebAssembly GC structs.
;; A long-lived tree of depth n lives through the whole run while trees of depth 4, 6, ...,
;; n are built and checked in large numbers (short-lived garbage). Returns the sum of the
;; nodes checked, a checksum both runtimes must agree on.
(module
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))))

  (func $make (param $d i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $d))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree)))
      (else
        (local.set $d (i32.sub (local.get $d) (i32.const 1)))
        (struct.new $tree (call $make (local.get $d)) (call $make (local.get $d))))))

  (func $check (param $t (ref $tree)) (result i32)
    (local $l (ref null $tree))
    (local.set $l (struct.get $tree $left (local.get $t)))
    (if (result i32) (ref.is_null (local.get $l))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add (call $check (ref.as_non_null (local.get $l)))
                   (call $check (ref.as_non_null (struct.get $tree $right (local.get $t)))))))))

  (func (export "run") (param $n i32) (result i32)
    (local $long (ref $tree)) (local $d i32) (local $iters i32) (local $i i32) (local $sum i32)
    (local.set $sum (call $check (call $make (i32.add (local.get $n) (i32.const 1)))))
    (local.set $long (call $make (local.get $n)))
    (local.set $d (i32.const 4))
    (loop $depths
      (local.set $iters (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $n) (local.get $d)) (i32.const 4))))
      (local.set $i (i32.const 0))
      (loop $trees
        (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
        (br_if $trees (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $iters))))
      (br_if $depths (i32.le_u (local.tee $d (i32.add (local.get $d) (i32.const 2))) (local.get $n))))
    (i32.add (local.get $sum) (call $check (local.get $long)))))
