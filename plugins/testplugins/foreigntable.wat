;; item_view asks data_exec to select from a kernel table and returns the
;; status: {"status":"-2"} means the host refused (forbidden).
(module
  (import "trovato" "data_exec" (func $data (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "trovato_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func (export "tap_item_view") (param $p i32) (param $n i32) (result i64)
    (local $s i32)
    (local.set $s (call $data (i32.const 512) (i32.const 31) (i32.const 0) (i32.const 0)))
    ;; {"status":"-N"} with N the single digit of -status
    (i32.store8 (i32.const 28) (i32.sub (i32.const 48) (local.get $s)))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 15)))
  (data (i32.const 16) "{\"status\":\"-X\"}")
  (data (i32.const 512) "{\"op\":\"select\",\"table\":\"users\"}")
)
