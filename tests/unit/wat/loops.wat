;; Loops of every kind BoundedLoopChecks (src/aot/passes.cpp) treats differently: counted
;; by a parameter (versioned: the copy without a check, or the original when the count is
;; large), counted by a constant (no check), strided (the bound needs a division: kept),
;; nested, and a counted loop that runs out of memory part way. Both tiers must compute the
;; same results and leave memory the same (tests/unit/aot_test.cpp).
(module
  (memory 1 1)
  ;; sum over i < n of mem[i & 0xffff] after adding i to it
  (func (export "counted") (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $p i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (local.set $p (i32.and (local.get $i) (i32.const 0xffff)))
        (i32.store8 (local.get $p) (i32.add (i32.load8_u (local.get $p)) (local.get $i)))
        (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $p))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
    (local.get $acc))
  ;; the same with 64-bit counters and a 64-bit count
  (func (export "counted64") (param $n i64) (result i64) (local $i i64) (local $acc i64)
    (block $done
      (br_if $done (i64.eqz (local.get $n)))
      (loop $l
        (local.set $acc (i64.add (local.get $acc)
          (i64.load16_u (i32.wrap_i64 (i64.and (i64.shl (local.get $i) (i64.const 1)) (i64.const 0xfffe))))))
        (br_if $l (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (local.get $n)))))
    (local.get $acc))
  ;; a constant count
  (func (export "constant") (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))
    (local.get $acc))
  ;; i += step up to n
  (func (export "strided") (param $n i32) (param $step i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (loop $l
        (i32.store8 (i32.and (local.get $i) (i32.const 0xffff)) (local.get $i))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (local.get $step))) (local.get $n)))))
    (local.get $acc))
  ;; rows x cols, the inner loop counted by cols
  (func (export "nested") (param $rows i32) (param $cols i32) (result i32)
    (local $r i32) (local $c i32) (local $acc i32)
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (loop $outer
        (local.set $c (i32.const 0))
        (block $row_done
          (br_if $row_done (i32.eqz (local.get $cols)))
          (loop $inner
            (local.set $acc (i32.xor (i32.mul (local.get $acc) (i32.const 16777619))
              (i32.load8_u (i32.and (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 0xffff)))))
            (br_if $inner (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $cols)))))
        (br_if $outer (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))
    (local.get $acc))
  ;; writes bytes from `start` on, n of them: past 65536 it traps part way
  (func (export "fill") (param $start i32) (param $n i32) (local $i i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (i32.store8 (i32.add (local.get $start) (local.get $i)) (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))))
  ;; a checksum of the whole memory
  (func (export "checksum") (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 33)) (i32.load8_u (local.get $i))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 65536))))
    (local.get $acc))
)
