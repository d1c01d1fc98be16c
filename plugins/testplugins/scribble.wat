;; item_view writes the first byte of its input into every 4 KiB page of
;; memory (at a different offset in each: the stride is 4093 bytes), grows
;; memory by three pages and writes those too, then returns {}. The test
;; checks from the host that after the call the instance's memory is
;; byte for byte its snapshot and the grown pages are zero.
(module
  (memory (export "memory") 2)
  (func (export "trovato_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func $fill (param $v i32)
    (local $a i32)
    (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (i32.store8 (local.get $a) (local.get $v))
        (local.set $a (i32.add (local.get $a) (i32.const 4093)))
        (br $next)))
    (i32.store8 (i32.sub (local.get $end) (i32.const 1)) (local.get $v)))
  (func (export "tap_item_view") (param $p i32) (param $n i32) (result i64)
    (local $v i32)
    (local.set $v (i32.load8_u (local.get $p)))
    (call $fill (local.get $v))
    (drop (memory.grow (i32.const 3)))
    (call $fill (local.get $v))
    (i32.store16 (i32.const 0) (i32.const 0x7d7b)) ;; "{}"
    (i64.const 2))
)
