;; Field access two ways, for benchmark (c) with a non-Go guest. Both taps
;; return the JSON array of 21 string values: author_id, created_at,
;; fields f00-f17 and title (the order encoding/json writes them in).
;;   item_view:       input {"item": {...}}; finds each "key":" by a byte
;;                    search that resumes where the previous key was found,
;;                    so the input is scanned once, and copies the value.
;;   item_view_alter: input {"id":"<36-char uuid>"}; one item_field host
;;                    call per value.
(module
  (import "trovato" "item_field" (func $item_field (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (func (export "trovato_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))

  ;; find returns the offset just after the first occurrence of
  ;; [key, key+klen) in [p, p+n), or -1.
  (func $find (param $p i32) (param $n i32) (param $key i32) (param $klen i32) (result i32)
    (local $j i32) (local $end i32) (local $k i32)
    (local.set $end (i32.sub (i32.add (local.get $p) (local.get $n)) (local.get $klen)))
    (local.set $j (local.get $p))
    (block $notfound
      (loop $scan
        (br_if $notfound (i32.gt_s (local.get $j) (local.get $end)))
        (local.set $k (i32.const 0))
        (block $mismatch
          (loop $cmp
            (br_if $mismatch (i32.ne (i32.load8_u (i32.add (local.get $j) (local.get $k)))
                                     (i32.load8_u (i32.add (local.get $key) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (if (i32.eq (local.get $k) (local.get $klen))
              (then (return (i32.add (local.get $j) (local.get $klen)))))
            (br $cmp)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $scan)))
    (i32.const -1))

  (func (export "tap_item_view") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $o i32) (local $v i32) (local $c i32) (local $from i32)
    (local.set $from (local.get $p))
    (local.set $o (i32.const 8192))
    (i32.store8 (local.get $o) (i32.const 91)) ;; [
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (loop $keys
      (local.set $v (call $find (local.get $from) (i32.sub (i32.add (local.get $p) (local.get $n)) (local.get $from))
        (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 4)))
        (i32.load8_u (i32.add (i32.const 1536) (local.get $i)))))
      (if (i32.ge_s (local.get $v) (i32.const 0))
        (then
          (if (i32.gt_u (local.get $o) (i32.const 8193))
            (then (i32.store8 (local.get $o) (i32.const 44)) (local.set $o (i32.add (local.get $o) (i32.const 1)))))
          (i32.store8 (local.get $o) (i32.const 34))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (block $done
            (loop $copy
              (local.set $c (i32.load8_u (local.get $v)))
              (br_if $done (i32.eq (local.get $c) (i32.const 34)))
              (i32.store8 (local.get $o) (local.get $c))
              (local.set $o (i32.add (local.get $o) (i32.const 1)))
              (local.set $v (i32.add (local.get $v) (i32.const 1)))
              (br $copy)))
          (i32.store8 (local.get $o) (i32.const 34))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (local.set $from (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $keys (i32.lt_u (local.get $i) (i32.const 21))))
    (i32.store8 (local.get $o) (i32.const 93)) ;; ]
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.extend_i32_u (i32.sub (local.get $o) (i32.const 8192)))))

  (func (export "tap_item_view_alter") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $o i32) (local $r i32) (local $key i32)
    (local.set $o (i32.const 8192))
    (i32.store8 (local.get $o) (i32.const 91))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (loop $keys
      (if (i32.gt_u (local.get $o) (i32.const 8193))
        (then (i32.store8 (local.get $o) (i32.const 44)) (local.set $o (i32.add (local.get $o) (i32.const 1)))))
      (local.set $key (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 4))))
      ;; the name is the key without the quotes and the ":" suffix
      (local.set $r (call $item_field
        (i32.add (local.get $p) (i32.const 7)) (i32.const 36)
        (i32.add (local.get $key) (i32.const 1))
        (i32.sub (i32.load8_u (i32.add (i32.const 1536) (local.get $i))) (i32.const 4))
        (local.get $o) (i32.const 32768)))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then unreachable))
      (local.set $o (i32.add (local.get $o) (local.get $r)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $keys (i32.lt_u (local.get $i) (i32.const 21))))
    (i32.store8 (local.get $o) (i32.const 93))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.extend_i32_u (i32.sub (local.get $o) (i32.const 8192)))))

  (data (i32.const 1024) "\"author_id\":\"")
  (data (i32.const 1040) "\"created_at\":\"")
  (data (i32.const 1056) "\"f00\":\"")
  (data (i32.const 1072) "\"f01\":\"")
  (data (i32.const 1088) "\"f02\":\"")
  (data (i32.const 1104) "\"f03\":\"")
  (data (i32.const 1120) "\"f04\":\"")
  (data (i32.const 1136) "\"f05\":\"")
  (data (i32.const 1152) "\"f06\":\"")
  (data (i32.const 1168) "\"f07\":\"")
  (data (i32.const 1184) "\"f08\":\"")
  (data (i32.const 1200) "\"f09\":\"")
  (data (i32.const 1216) "\"f10\":\"")
  (data (i32.const 1232) "\"f11\":\"")
  (data (i32.const 1248) "\"f12\":\"")
  (data (i32.const 1264) "\"f13\":\"")
  (data (i32.const 1280) "\"f14\":\"")
  (data (i32.const 1296) "\"f15\":\"")
  (data (i32.const 1312) "\"f16\":\"")
  (data (i32.const 1328) "\"f17\":\"")
  (data (i32.const 1344) "\"title\":\"")
  (data (i32.const 1536) "\0d\0e\07\07\07\07\07\07\07\07\07\07\07\07\07\07\07\07\07\07\09")
)
