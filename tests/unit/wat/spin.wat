;; Guests that never stop on their own, one per way a backward branch can be lowered
;; (plain, conditional, fused with each i32 comparison in register and immediate form,
;; fused with eqz, from a table, out of an if, carrying values) and recursion without any
;; loop, and loops around loops whose count is bounded (the native tier runs bounded
;; innermost loops without a check of their own: aot/passes.cpp). Every one must end in the
;; Interrupted trap (tests/unit/interrupt_test.cpp).
;; Each takes (a, b); the test passes the arguments listed after the export's name.
(module
  (type $t (func (param i32 i32)))
  (table 2 funcref)
  (memory 1)
  (elem (i32.const 0) $tree_indirect $tail_indirect)
  ;; args 1 1
  (func (export "br") (param $a i32) (param $b i32)
    (loop $l (br $l))
  )
  ;; args 1 1
  (func (export "br_if") (param $a i32) (param $b i32)
    (loop $l (br_if $l (local.get $a)))
  )
  ;; args 0 0
  (func (export "br_if_eqz") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.eqz (local.get $a))))
  )
  ;; args 1 1
  (func (export "br_if_eq") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.eq (local.get $a) (local.get $b))))
  )
  ;; args 1 1
  (func (export "br_if_eq_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.eq (local.get $a) (i32.const 1))))
  )
  ;; args 1 2
  (func (export "br_if_ne") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ne (local.get $a) (local.get $b))))
  )
  ;; args 1 2
  (func (export "br_if_ne_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ne (local.get $a) (i32.const 2))))
  )
  ;; args 1 2
  (func (export "br_if_lt_s") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.lt_s (local.get $a) (local.get $b))))
  )
  ;; args 1 2
  (func (export "br_if_lt_s_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.lt_s (local.get $a) (i32.const 2))))
  )
  ;; args 1 2
  (func (export "br_if_lt_u") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.lt_u (local.get $a) (local.get $b))))
  )
  ;; args 1 2
  (func (export "br_if_lt_u_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.lt_u (local.get $a) (i32.const 2))))
  )
  ;; args 2 1
  (func (export "br_if_gt_s") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.gt_s (local.get $a) (local.get $b))))
  )
  ;; args 2 1
  (func (export "br_if_gt_s_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.gt_s (local.get $a) (i32.const 1))))
  )
  ;; args 2 1
  (func (export "br_if_gt_u") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.gt_u (local.get $a) (local.get $b))))
  )
  ;; args 2 1
  (func (export "br_if_gt_u_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.gt_u (local.get $a) (i32.const 1))))
  )
  ;; args 1 1
  (func (export "br_if_le_s") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.le_s (local.get $a) (local.get $b))))
  )
  ;; args 1 1
  (func (export "br_if_le_s_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.le_s (local.get $a) (i32.const 1))))
  )
  ;; args 1 1
  (func (export "br_if_le_u") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.le_u (local.get $a) (local.get $b))))
  )
  ;; args 1 1
  (func (export "br_if_le_u_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.le_u (local.get $a) (i32.const 1))))
  )
  ;; args 1 1
  (func (export "br_if_ge_s") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ge_s (local.get $a) (local.get $b))))
  )
  ;; args 1 1
  (func (export "br_if_ge_s_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ge_s (local.get $a) (i32.const 1))))
  )
  ;; args 1 1
  (func (export "br_if_ge_u") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ge_u (local.get $a) (local.get $b))))
  )
  ;; args 1 1
  (func (export "br_if_ge_u_imm") (param $a i32) (param $b i32)
    (loop $l (br_if $l (i32.ge_u (local.get $a) (i32.const 1))))
  )
  ;; args 0 0
  (func (export "br_table") (param $a i32) (param $b i32)
    (loop $l (br_table $l $l (local.get $a)))
  )
  ;; args 5 0
  (func (export "br_table_default") (param $a i32) (param $b i32)
    (loop $l (br_table $l (local.get $a)))
  )
  ;; args 1 1
  (func (export "br_out_of_if") (param $a i32) (param $b i32)
    (loop $l (if (local.get $a) (then (br $l))))
  )
  ;; args 1 1
  (func (export "br_out_of_else") (param $a i32) (param $b i32)
    (loop $l (if (i32.eqz (local.get $a)) (then nop) (else (br $l))))
  )
  ;; args 1 1
  (func (export "br_if_nested") (param $a i32) (param $b i32)
    (loop $l (block (block (br_if $l (local.get $a)))))
  )
  ;; args 1 0
  (func (export "br_if_eqz_nested") (param $a i32) (param $b i32)
    (loop $l (block (br_if $l (i32.eqz (local.get $b)))))
  )
  ;; args 1 1
  (func (export "br_if_carrying") (param $a i32) (param $b i32)
    (local.get $a)
    (loop $l (param i32) (br_if $l (local.get $a)) (drop))
  )
  ;; args 1 2
  (func (export "br_if_lt_carrying") (param $a i32) (param $b i32)
    (local.get $a)
    (loop $l (param i32) (br_if $l (i32.lt_u (local.get $a) (local.get $b))) (drop))
  )
  ;; args 1 0
  (func (export "br_table_carrying") (param $a i32) (param $b i32)
    (local.get $a)
    (loop $l (param i32) (br_table $l $l (local.get $b)))
  )
  ;; About 2^a calls and no loop at all: only calls can notice the interrupt.
  (func $tree (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add (call $tree (i32.sub (local.get $n) (i32.const 1)))
                     (call $tree (i32.sub (local.get $n) (i32.const 1)))))))
  (func $tree_indirect (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add (call_indirect (param i32) (result i32) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0))
                     (call_indirect (param i32) (result i32) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0))))))
  ;; args 60 0
  (func (export "recursion") (param $a i32) (param $b i32) (drop (call $tree (local.get $a))))
  ;; args 60 0
  (func (export "recursion_indirect") (param $a i32) (param $b i32) (drop (call $tree_indirect (local.get $a))))
  ;; args 1 0: tail calls run in constant stack, so only the interrupt ends these
  (func $tail (export "tail_call") (param $a i32) (param $b i32)
    (return_call $tail (local.get $a) (local.get $b)))
  ;; args 1 0
  (func $tail_indirect (export "tail_call_indirect") (param $a i32) (param $b i32)
    (return_call_indirect (type $t) (local.get $a) (local.get $b) (i32.const 1)))
  ;; args 100 1: an endless loop around a loop of a run-time count (a); natively the inner
  ;; loop runs in its copy without a check, the outer loop checks
  (func (export "around_counted") (param $a i32) (param $b i32) (local $i i32)
    (loop $outer
      (local.set $i (i32.const 0))
      (loop $inner
        (i32.store8 (local.get $i) (i32.add (i32.load8_u (local.get $i)) (local.get $b)))
        (br_if $inner (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $a))))
      (br $outer)))
  ;; args 1 1: the same around a loop of a constant count (1000), which has no check at all
  (func (export "around_constant") (param $a i32) (param $b i32) (local $i i32)
    (loop $outer
      (local.set $i (i32.const 0))
      (loop $inner
        (i32.store8 (local.get $i) (i32.add (i32.load8_u (local.get $i)) (local.get $b)))
        (br_if $inner (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))
      (br $outer)))
  ;; args 1 1: one loop of a run-time count too large to run unchecked (a << 40): natively
  ;; the copy with the check runs
  (func (export "counted_long") (param $a i32) (param $b i32) (local $i i64) (local $n i64)
    (local.set $n (i64.shl (i64.extend_i32_u (local.get $a)) (i64.const 40)))
    (loop $l
      (i32.store8 (i32.wrap_i64 (i64.and (local.get $i) (i64.const 0xffff))) (local.get $b))
      (br_if $l (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (local.get $n)))))
  ;; args 1 1: one loop of a constant count too large to run unchecked (2^40)
  (func (export "constant_long") (param $a i32) (param $b i32) (local $i i64)
    (loop $l
      (i32.store8 (i32.wrap_i64 (i64.and (local.get $i) (i64.const 0xffff))) (local.get $b))
      (br_if $l (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (i64.const 0x10000000000)))))
)
