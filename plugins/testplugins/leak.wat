;; item_view tries to read what the previous request left behind: it
;; returns {"prev":"<8 bytes at 4096>","n":<calls seen by a private
;; global>,"g":<first byte of the highest page>} and then stores the first
;; 8 bytes of its input at 4096, bumps the global, grows memory by a page
;; and marks the new page. On a clean instance every call answers
;; {"prev":"clean---","n":1,"g":0}.
(module
  (memory (export "memory") 2)
  (global $calls (mut i32) (i32.const 0))
  (func (export "trovato_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func (export "tap_item_view") (param $p i32) (param $n i32) (result i64)
    (local $top i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ;; template at 256: {"prev":"........","n":X,"g":Y}
    (memory.copy (i32.const 256) (i32.const 128) (i32.const 31))
    (memory.copy (i32.const 265) (i32.const 4096) (i32.const 8))
    (i32.store8 (i32.const 279) (i32.add (i32.const 48) (global.get $calls)))
    (local.set $top (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)))
    (i32.store8 (i32.const 285) (i32.add (i32.const 48) (i32.load8_u (local.get $top))))
    (if (i32.ge_u (local.get $n) (i32.const 8))
      (then (memory.copy (i32.const 4096) (local.get $p) (i32.const 8))))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1))
      (then (i32.store8 (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)) (i32.const 7))))
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 31)))
  (data (i32.const 128) "{\"prev\":\"........\",\"n\":X,\"g\":Y}")
  (data (i32.const 4096) "clean---")
)
