;; The fast path of the ziggurat normals (docs/random-numbers.md; the reference is ziggurat.ts):
;; Philox4x32-10 blocks for counters (c0, c1, stream, 0), each of the four 32-bit words made into
;; one normal by the 256-layer ziggurat. Memory: [0, 2048) ratio table k[i] = x[i+1]/x[i] (f64),
;; [2048, 4096) layer widths x[i] (f64), both written by ziggurat.ts; output float32 from `out`.
;; A word whose point falls outside its layer's inner rectangle (about 1 in 70) is handed to the
;; imported `slow`, the same JavaScript function the reference calls, so results are bit-identical.
;; The four lanes of a block are written out in line (a call per lane cost ~30 % more).
(module
  (import "zig" "slow" (func $slow (param i32 i32 i32 i32 i32 i32 i32) (result f64)))
  (memory (export "memory") 4)
  ;; n whole blocks from counter (c0, c1) on, normals 4·n float32 at byte offset o
  (func (export "fill") (param $o i32) (param $n i32) (param $c0 i32) (param $c1 i32) (param $s i32) (param $k0 i32) (param $k1 i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $a i32) (local $b i32) (local $r i32) (local $p i64) (local $q i64) (local $i i32) (local $u f64) (local $z f64)
    (block $done
      (loop $block
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x0 (local.get $c0))
        (local.set $x1 (local.get $c1))
        (local.set $x2 (local.get $s))
        (local.set $x3 (i32.const 0))
        (local.set $a (local.get $k0))
        (local.set $b (local.get $k1))
        (local.set $r (i32.const 10))
        (loop $round
          ;; hi and lo words of M0·x0 and M1·x2 from one 64-bit product each
          (local.set $p (i64.mul (i64.const 0xd2511f53) (i64.extend_i32_u (local.get $x0))))
          (local.set $q (i64.mul (i64.const 0xcd9e8d57) (i64.extend_i32_u (local.get $x2))))
          (local.set $x0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $q) (i64.const 32))) (local.get $x1)) (local.get $a)))
          (local.set $x1 (i32.wrap_i64 (local.get $q)))
          (local.set $x2 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))) (local.get $x3)) (local.get $b)))
          (local.set $x3 (i32.wrap_i64 (local.get $p)))
          (local.set $a (i32.add (local.get $a) (i32.const 0x9e3779b9)))
          (local.set $b (i32.add (local.get $b) (i32.const 0xbb67ae85)))
          (br_if $round (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))

        ;; lane L: layer i = w & 255 (byte offset 8i), u from the top 23 bits, sign from bit 8 (xor
        ;; into the sign bit: a branch on a coin flip would mispredict half the time)
    (local.set $i (i32.shl (i32.and (local.get $x0) (i32.const 255)) (i32.const 3)))
    (local.set $u (f64.mul (f64.add (f64.convert_i32_u (i32.shr_u (local.get $x0) (i32.const 9))) (f64.const 0.5)) (f64.const 0x1p-23)))
    (if (f64.lt (local.get $u) (f64.load (local.get $i)))
      (then
        (local.set $z (f64.reinterpret_i64 (i64.xor
          (i64.reinterpret_f64 (f64.mul (local.get $u) (f64.load offset=2048 (local.get $i))))
          (i64.shl (i64.extend_i32_u (i32.and (local.get $x0) (i32.const 256))) (i64.const 55))))))
      (else
        (local.set $z (call $slow (local.get $c0) (local.get $c1) (local.get $s) (local.get $k0) (local.get $k1) (i32.const 0) (local.get $x0)))))
    (f32.store offset=0 (local.get $o) (f32.demote_f64 (local.get $z)))

    (local.set $i (i32.shl (i32.and (local.get $x1) (i32.const 255)) (i32.const 3)))
    (local.set $u (f64.mul (f64.add (f64.convert_i32_u (i32.shr_u (local.get $x1) (i32.const 9))) (f64.const 0.5)) (f64.const 0x1p-23)))
    (if (f64.lt (local.get $u) (f64.load (local.get $i)))
      (then
        (local.set $z (f64.reinterpret_i64 (i64.xor
          (i64.reinterpret_f64 (f64.mul (local.get $u) (f64.load offset=2048 (local.get $i))))
          (i64.shl (i64.extend_i32_u (i32.and (local.get $x1) (i32.const 256))) (i64.const 55))))))
      (else
        (local.set $z (call $slow (local.get $c0) (local.get $c1) (local.get $s) (local.get $k0) (local.get $k1) (i32.const 1) (local.get $x1)))))
    (f32.store offset=4 (local.get $o) (f32.demote_f64 (local.get $z)))

    (local.set $i (i32.shl (i32.and (local.get $x2) (i32.const 255)) (i32.const 3)))
    (local.set $u (f64.mul (f64.add (f64.convert_i32_u (i32.shr_u (local.get $x2) (i32.const 9))) (f64.const 0.5)) (f64.const 0x1p-23)))
    (if (f64.lt (local.get $u) (f64.load (local.get $i)))
      (then
        (local.set $z (f64.reinterpret_i64 (i64.xor
          (i64.reinterpret_f64 (f64.mul (local.get $u) (f64.load offset=2048 (local.get $i))))
          (i64.shl (i64.extend_i32_u (i32.and (local.get $x2) (i32.const 256))) (i64.const 55))))))
      (else
        (local.set $z (call $slow (local.get $c0) (local.get $c1) (local.get $s) (local.get $k0) (local.get $k1) (i32.const 2) (local.get $x2)))))
    (f32.store offset=8 (local.get $o) (f32.demote_f64 (local.get $z)))

    (local.set $i (i32.shl (i32.and (local.get $x3) (i32.const 255)) (i32.const 3)))
    (local.set $u (f64.mul (f64.add (f64.convert_i32_u (i32.shr_u (local.get $x3) (i32.const 9))) (f64.const 0.5)) (f64.const 0x1p-23)))
    (if (f64.lt (local.get $u) (f64.load (local.get $i)))
      (then
        (local.set $z (f64.reinterpret_i64 (i64.xor
          (i64.reinterpret_f64 (f64.mul (local.get $u) (f64.load offset=2048 (local.get $i))))
          (i64.shl (i64.extend_i32_u (i32.and (local.get $x3) (i32.const 256))) (i64.const 55))))))
      (else
        (local.set $z (call $slow (local.get $c0) (local.get $c1) (local.get $s) (local.get $k0) (local.get $k1) (i32.const 3) (local.get $x3)))))
    (f32.store offset=12 (local.get $o) (f32.demote_f64 (local.get $z)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $c0 (i32.add (local.get $c0) (i32.const 1)))
        (if (i32.eqz (local.get $c0)) (then (local.set $c1 (i32.add (local.get $c1) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $block))))
)
