;; item_view never returns: the deadline must stop it.
(module
  (memory (export "memory") 2)
  (func (export "trovato_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func (export "tap_item_view") (param $p i32) (param $n i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0))
)
