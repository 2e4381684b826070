;; Garbage collection (WebAssembly 3.0): a linked list of a million structs that survives
;; collections, garbage churned past the heap's limit, arrays, subtypes and casts, i31.
;; Assembled by wasm-tools.
(module
  (type $node (struct (field $val i32) (field $next (mut (ref null $node)))))
  (type $bytes (array (mut i8)))
  (type $shape (sub (struct (field $id i32))))
  (type $circle (sub final $shape (struct (field $id i32) (field $r f64))))
  (type $refs (array (mut anyref)))

  (global $head (mut (ref null $node)) (ref.null $node))
  (global $held (mut (ref null $bytes)) (ref.null $bytes))
  (memory 1)

  ;; Holds an array of n bytes (or none for 0), then grows the memory by `pages`: the
  ;; old size in pages, or -1 when the memory and the heap would pass the store's budget.
  (func (export "hold_then_grow") (param $n i32) (param $pages i32) (result i32)
    (global.set $held
      (if (result (ref null $bytes)) (local.get $n)
        (then (array.new_default $bytes (local.get $n)))
        (else (ref.null $bytes))))
    (memory.grow (local.get $pages)))

  ;; n nodes, values 1..n, kept in $head; every node also makes 48 bytes of garbage.
  (func (export "build") (param $n i32)
    (local $list (ref null $node))
    (loop $l
      (drop (array.new_default $bytes (i32.const 48)))
      (local.set $list (struct.new $node (local.get $n) (local.get $list)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.set $head (local.get $list)))

  ;; The sum of the list's values (as i64) and its length in the high half.
  (func (export "walk") (result i64)
    (local $p (ref null $node)) (local $sum i64) (local $len i64)
    (local.set $p (global.get $head))
    (block $done
      (loop $l
        (br_on_null $done (local.get $p))
        (local.set $sum (i64.add (local.get $sum)
          (i64.extend_i32_u (struct.get $node $val (ref.as_non_null (local.get $p))))))
        (local.set $len (i64.add (local.get $len) (i64.const 1)))
        (local.set $p (struct.get $node $next (ref.as_non_null (local.get $p))))
        (br $l)))
    (i64.or (local.get $sum) (i64.shl (local.get $len) (i64.const 40))))

  ;; Garbage only: n arrays of `size` bytes, none kept.
  (func (export "churn") (param $n i32) (param $size i32)
    (loop $l
      (drop (array.new_default $bytes (local.get $size)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; Drops the list: its nodes become garbage.
  (func (export "drop_list") (global.set $head (ref.null $node)))

  ;; Casts: a $circle seen as a $shape, tested and cast back; a $shape is no $circle.
  (func (export "casts") (result i32)
    (local $s (ref $shape))
    (local.set $s (struct.new $circle (i32.const 7) (f64.const 2.5)))
    (i32.add
      (i32.add
        (ref.test (ref $circle) (local.get $s))
        (i32.shl (ref.test (ref $circle) (struct.new $shape (i32.const 1))) (i32.const 1)))
      (i32.add
        (i32.shl (struct.get $shape $id (local.get $s)) (i32.const 4))
        (i32.trunc_f64_s (f64.mul (f64.const 100)
          (struct.get $circle $r (ref.cast (ref $circle) (local.get $s))))))))
  (func (export "bad_cast")
    (drop (ref.cast (ref $circle) (struct.new $shape (i32.const 1)))))

  ;; Arrays of references holding i31s and structs; array.copy, array.fill, array.len.
  (func (export "arrays") (result i32)
    (local $a (ref $refs))
    (local.set $a (array.new $refs (ref.i31 (i32.const -5)) (i32.const 8)))
    (array.set $refs (local.get $a) (i32.const 3) (struct.new $shape (i32.const 42)))
    (array.copy $refs $refs (local.get $a) (i32.const 4) (local.get $a) (i32.const 2) (i32.const 2))
    (i32.add (i32.add
      (i31.get_s (ref.cast (ref i31) (array.get $refs (local.get $a) (i32.const 4))))
      (struct.get $shape $id (ref.cast (ref $shape) (array.get $refs (local.get $a) (i32.const 5)))))
      (array.len (local.get $a))))
  (func (export "out_of_bounds") (result anyref)
    (array.get $refs (array.new_default $refs (i32.const 2)) (i32.const 2)))
)
