;; A script whose expectations are wrong on purpose: spec_runner must report every one
;; (ctest spec_runner_catches_wrong_kinds). A runner that accepted any non-null
;; reference where a kind is named would pass it.
(module
  (type $s (struct (field i32)))
  (type $a (array i8))
  (func (export "struct") (result anyref) (struct.new $s (i32.const 1)))
  (func (export "array") (result anyref) (array.new_default $a (i32.const 2)))
  (func (export "i31") (result anyref) (ref.i31 (i32.const 3)))
  (func (export "func") (result funcref) (ref.func 0))
)
(assert_return (invoke "struct") (ref.i31))
(assert_return (invoke "array") (ref.struct))
(assert_return (invoke "i31") (ref.array))
(assert_return (invoke "func") (ref.extern))
