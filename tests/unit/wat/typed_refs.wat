;; Typed function references (WebAssembly 3.0): call_ref, return_call_ref, ref.as_non_null,
;; br_on_null, br_on_non_null, non-nullable locals, tables of typed references, and
;; function types declared as subtypes of others. Assembled by wasm-tools.
(module
  (type $unop (func (param i32) (result i32)))
  (type $binop (sub (func (param i32 i32) (result i32))))
  (type $binop_sub (sub final $binop (func (param i32 i32) (result i32))))
  (type $count (func (param i64 i64) (result i64)))

  (func $inc (type $unop) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $unop) (i32.mul (local.get 0) (i32.const 2)))
  (func $add (type $binop_sub) (i32.add (local.get 0) (local.get 1)))
  (elem declare func $inc $dbl $add $count_down)

  ;; A table of non-null references, filled by its initializer.
  (table $ops 2 (ref $unop) (ref.func $inc))
  (global $null_unop (ref null $unop) (ref.null $unop))

  ;; call_ref through a reference picked at run time.
  (func (export "apply") (param $which i32) (param $x i32) (result i32)
    (call_ref $unop (local.get $x)
      (select (result (ref $unop)) (ref.func $inc) (ref.func $dbl) (local.get $which))))

  ;; From the table of non-null references (set at index 1 first).
  (func (export "apply_table") (param $i i32) (param $x i32) (result i32)
    (table.set $ops (i32.const 1) (ref.func $dbl))
    (call_ref $unop (local.get $x) (table.get $ops (local.get $i))))

  ;; A $binop_sub called as a $binop: a subtype where its supertype is expected.
  (func (export "apply_sub") (param i32 i32) (result i32)
    (local $f (ref $binop))
    (local.set $f (ref.func $add))
    (call_ref $binop (local.get 0) (local.get 1) (local.get $f)))

  ;; A null reference: call_ref and ref.as_non_null trap.
  (func (export "call_null") (result i32)
    (call_ref $unop (i32.const 1) (global.get $null_unop)))
  (func (export "as_non_null_null")
    (drop (ref.as_non_null (global.get $null_unop))))

  ;; br_on_null: -1 for null, else the function applied to 10.
  (func $or_minus1 (param $f (ref null $unop)) (result i32)
    (block $null
      (return (call_ref $unop (i32.const 10) (br_on_null $null (local.get $f)))))
    (i32.const -1))
  (func (export "br_on_null") (param $null i32) (result i32)
    (if (result i32) (local.get $null)
      (then (call $or_minus1 (ref.null $unop)))
      (else (call $or_minus1 (ref.func $dbl)))))

  ;; br_on_non_null: the function applied to 7, or 0 for null.
  (func $or_zero (param $f (ref null $unop)) (result i32)
    (local $g (ref $unop))  ;; non-nullable: set before it is read
    (local.set $g
      (block $some (result (ref $unop))
        (br_on_non_null $some (local.get $f))
        (return (i32.const 0))))
    (call_ref $unop (i32.const 7) (local.get $g)))
  (func (export "br_on_non_null") (param $null i32) (result i32)
    (if (result i32) (local.get $null)
      (then (call $or_zero (ref.null $unop)))
      (else (call $or_zero (ref.func $inc)))))

  ;; A tail-recursive countdown through return_call_ref: constant stack however deep.
  (func $count_down (type $count) (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call_ref $count
              (i64.sub (local.get $n) (i64.const 1))
              (i64.add (local.get $acc) (local.get $n))
              (ref.func $count_down)))))
  (func (export "count_down") (param i64) (result i64)
    (call $count_down (local.get 0) (i64.const 0)))

  ;; The identity on a function reference, for embedders.
  (func (export "pass") (param (ref $unop)) (result (ref $unop)) (local.get 0))
  (func (export "inc_ref") (result (ref $unop)) (ref.func $inc))
)
