;; A WAGI command that never ends: its loop is closed by a br_if fused with eqz, the form
;; that once skipped the interrupt check (issue 16). Under edgecar serve it must end in a
;; 504 at its timeout_ms and give its worker back.
(module
  (memory (export "memory") 1)
  (func (export "_start") (local $x i32)
    (loop $l (br_if $l (i32.eqz (local.get $x))))))
