;; Single-precision matrix kernels in WebAssembly SIMD (128-bit), GotoBLAS-style.
;; The JS driver (wasm.ts) copies the operands into this memory, packs one K block of op(B) into
;; 8-wide panels and one M block of op(A) into 4-tall panels (zero-padded), then runs `kernel`,
;; whose 4x8 micro-tile keeps 8 f32x4 accumulators in registers and splats A with load32_splat.
;; Every transpose case goes through the same micro-kernel: only the packing strides differ.
;; All pointers and strides are in bytes. Rebuild gemm.wasm with `npm run build:wasm`.
(module
  (memory (export "memory") 1)

  ;; Packs an xn x kc block into ceil(xn/w) panels of kc rows by w floats (w = 4 or 8):
  ;; dst[panel][p][q] = src[(panel*w + q)*sx + p*sp], zero where panel*w + q >= xn.
  (func (export "pack")
    (param $dst i32) (param $src i32) (param $sx i32) (param $sp i32)
    (param $xn i32) (param $kc i32) (param $w i32)
    (local $x0 i32) (local $xw i32) (local $p i32) (local $q i32)
    (local $s i32) (local $d i32) (local $wb i32) (local $panel i32)
    (local.set $wb (i32.shl (local.get $w) (i32.const 2)))
    (local.set $panel (i32.mul (local.get $kc) (local.get $wb)))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_s (local.get $x0) (local.get $xn)))
        (local.set $xw (i32.sub (local.get $xn) (local.get $x0)))
        (if (i32.gt_s (local.get $xw) (local.get $w)) (then (local.set $xw (local.get $w))))
        (if (i32.and (i32.eq (local.get $sx) (i32.const 4)) (i32.eq (local.get $xw) (local.get $w)))
          (then
            ;; A full panel of contiguous rows: copy w floats per p with v128 moves.
            (local.set $s (i32.add (local.get $src) (i32.shl (local.get $x0) (i32.const 2))))
            (local.set $d (local.get $dst))
            (local.set $p (local.get $kc))
            (loop $rows
              (local.set $q (i32.const 0))
              (loop $vecs
                (v128.store (i32.add (local.get $d) (local.get $q))
                  (v128.load (i32.add (local.get $s) (local.get $q))))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br_if $vecs (i32.lt_s (local.get $q) (local.get $wb))))
              (local.set $s (i32.add (local.get $s) (local.get $sp)))
              (local.set $d (i32.add (local.get $d) (local.get $wb)))
              (local.set $p (i32.sub (local.get $p) (i32.const 1)))
              (br_if $rows (local.get $p))))
          (else
            (if (i32.lt_s (local.get $xw) (local.get $w))
              (then (memory.fill (local.get $dst) (i32.const 0) (local.get $panel))))
            ;; Strided gather, one panel column at a time (reads follow sp, usually contiguous).
            (local.set $q (i32.const 0))
            (loop $cols
              (local.set $s (i32.add (local.get $src)
                (i32.mul (i32.add (local.get $x0) (local.get $q)) (local.get $sx))))
              (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 2))))
              (local.set $p (local.get $kc))
              (loop $elems
                (f32.store (local.get $d) (f32.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (local.get $sp)))
                (local.set $d (i32.add (local.get $d) (local.get $wb)))
                (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                (br_if $elems (local.get $p)))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br_if $cols (i32.lt_s (local.get $q) (local.get $xw))))))
        (local.set $dst (i32.add (local.get $dst) (local.get $panel)))
        (local.set $x0 (i32.add (local.get $x0) (local.get $w)))
        (br $panels))))

  ;; C[mc x nc] += packedA[mc x kc] * packedB[kc x nc], C row stride ldc bytes.
  ;; pa: 4-row panels (kc*16 bytes each), pb: 8-column panels (kc*32 bytes each).
  ;; Edge tiles go through the 128-byte scratch area so the micro-kernel is always 4x8.
  (func (export "kernel")
    (param $mc i32) (param $nc i32) (param $kc i32) (param $pa i32) (param $pb i32)
    (param $c i32) (param $ldc i32) (param $scratch i32)
    (local $jr i32) (local $ir i32) (local $mr i32) (local $nr i32)
    (local $bpanel i32) (local $apanel i32) (local $a i32) (local $b i32) (local $p i32)
    (local $cp i32) (local $r i32) (local $q i32) (local $t v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $bpanel (local.get $pb))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_s (local.get $jr) (local.get $nc)))
        (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
        (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
        (local.set $ir (i32.const 0))
        (local.set $apanel (local.get $pa))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_s (local.get $ir) (local.get $mc)))
            (local.set $mr (i32.sub (local.get $mc) (local.get $ir)))
            (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $a (local.get $apanel))
            (local.set $b (local.get $bpanel))
            (local.set $p (local.get $kc))
            (loop $kloop
              (local.set $b0 (v128.load (local.get $b)))
              (local.set $b1 (v128.load offset=16 (local.get $b)))
              (local.set $t (v128.load32_splat (local.get $a)))
              (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $t) (local.get $b0))))
              (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $t) (local.get $b1))))
              (local.set $t (v128.load32_splat offset=4 (local.get $a)))
              (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $t) (local.get $b0))))
              (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $t) (local.get $b1))))
              (local.set $t (v128.load32_splat offset=8 (local.get $a)))
              (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $t) (local.get $b0))))
              (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $t) (local.get $b1))))
              (local.set $t (v128.load32_splat offset=12 (local.get $a)))
              (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $t) (local.get $b0))))
              (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $t) (local.get $b1))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 32)))
              (local.set $p (i32.sub (local.get $p) (i32.const 1)))
              (br_if $kloop (local.get $p)))
            (local.set $cp (i32.add (local.get $c)
              (i32.add (i32.mul (local.get $ir) (local.get $ldc)) (i32.shl (local.get $jr) (i32.const 2)))))
            (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
              (then
                (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c00)))
                (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c01)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c10)))
                (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c11)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c20)))
                (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c21)))
                (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
                (v128.store (local.get $cp) (f32x4.add (v128.load (local.get $cp)) (local.get $c30)))
                (v128.store offset=16 (local.get $cp) (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c31))))
              (else
                (v128.store offset=0 (local.get $scratch) (local.get $c00))
                (v128.store offset=16 (local.get $scratch) (local.get $c01))
                (v128.store offset=32 (local.get $scratch) (local.get $c10))
                (v128.store offset=48 (local.get $scratch) (local.get $c11))
                (v128.store offset=64 (local.get $scratch) (local.get $c20))
                (v128.store offset=80 (local.get $scratch) (local.get $c21))
                (v128.store offset=96 (local.get $scratch) (local.get $c30))
                (v128.store offset=112 (local.get $scratch) (local.get $c31))
                (local.set $r (i32.const 0))
                (loop $rows
                  (local.set $q (i32.const 0))
                  (loop $cols
                    (f32.store
                      (i32.add (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc)))
                        (i32.shl (local.get $q) (i32.const 2)))
                      (f32.add
                        (f32.load (i32.add (i32.add (local.get $cp) (i32.mul (local.get $r) (local.get $ldc)))
                          (i32.shl (local.get $q) (i32.const 2))))
                        (f32.load (i32.add (local.get $scratch)
                          (i32.add (i32.shl (local.get $r) (i32.const 5)) (i32.shl (local.get $q) (i32.const 2)))))))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br_if $cols (i32.lt_s (local.get $q) (local.get $nr))))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br_if $rows (i32.lt_s (local.get $r) (local.get $mr))))))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (local.set $apanel (i32.add (local.get $apanel) (i32.shl (local.get $kc) (i32.const 4))))
            (br $iloop)))
        (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
        (local.set $bpanel (i32.add (local.get $bpanel) (i32.shl (local.get $kc) (i32.const 5))))
        (br $jloop))))

  ;; One row times a k x n matrix: c[j] += sum_p a[p] * b[p*n + j]. Columns go in blocks of 32 held
  ;; in eight v128 accumulators for the whole of k (c is loaded and stored once per block), then
  ;; blocks of 4, then single columns; B is read down each block with constant offsets.
  (func (export "gemv_n")
    (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $k i32)
    (local $j i32) (local $p i32) (local $ldb i32) (local $ap i32) (local $bp i32) (local $cp i32)
    (local $s v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128) (local $f f32)
    (local.set $ldb (i32.shl (local.get $n) (i32.const 2)))
    (block $d32
      (loop $l32
        (br_if $d32 (i32.gt_s (i32.add (local.get $j) (i32.const 32)) (local.get $n)))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $c0 (v128.load offset=0 (local.get $cp)))
        (local.set $c1 (v128.load offset=16 (local.get $cp)))
        (local.set $c2 (v128.load offset=32 (local.get $cp)))
        (local.set $c3 (v128.load offset=48 (local.get $cp)))
        (local.set $c4 (v128.load offset=64 (local.get $cp)))
        (local.set $c5 (v128.load offset=80 (local.get $cp)))
        (local.set $c6 (v128.load offset=96 (local.get $cp)))
        (local.set $c7 (v128.load offset=112 (local.get $cp)))
        (local.set $ap (local.get $a))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $dp32
          (loop $lp32
            (br_if $dp32 (i32.eqz (local.get $p)))
            (local.set $s (v128.load32_splat (local.get $ap)))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $bp)))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $bp)))))
            (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $bp)))))
            (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $bp)))))
            (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (local.get $s) (v128.load offset=64 (local.get $bp)))))
            (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (local.get $s) (v128.load offset=80 (local.get $bp)))))
            (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (local.get $s) (v128.load offset=96 (local.get $bp)))))
            (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (local.get $s) (v128.load offset=112 (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $lp32)))
        (v128.store offset=0 (local.get $cp) (local.get $c0))
        (v128.store offset=16 (local.get $cp) (local.get $c1))
        (v128.store offset=32 (local.get $cp) (local.get $c2))
        (v128.store offset=48 (local.get $cp) (local.get $c3))
        (v128.store offset=64 (local.get $cp) (local.get $c4))
        (v128.store offset=80 (local.get $cp) (local.get $c5))
        (v128.store offset=96 (local.get $cp) (local.get $c6))
        (v128.store offset=112 (local.get $cp) (local.get $c7))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br $l32)))
    (block $d4
      (loop $l4
        (br_if $d4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $c0 (v128.load offset=0 (local.get $cp)))
        (local.set $ap (local.get $a))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $dp4
          (loop $lp4
            (br_if $dp4 (i32.eqz (local.get $p)))
            (local.set $s (v128.load32_splat (local.get $ap)))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $lp4)))
        (v128.store offset=0 (local.get $cp) (local.get $c0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $l4)))
    ;; The last n mod 4 columns, one at a time.
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $f (f32.load (local.get $cp)))
        (local.set $ap (local.get $a))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $dp1
          (loop $lp1
            (br_if $dp1 (i32.eqz (local.get $p)))
            (local.set $f (f32.add (local.get $f) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $lp1)))
        (f32.store (local.get $cp) (local.get $f))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l1))))

  ;; One row times the transpose of an n x k matrix: c[j] += sum_p a[p] * b[j*k + p] (dot products).
  (func (export "gemv_t")
    (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $k i32)
    (local $j i32) (local $p i32) (local $ap i32) (local $bp i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s f32) (local $cp i32)
    (local.set $bp (local.get $b))
    (block $jd
      (loop $jl
        (br_if $jd (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0)) (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $ap (local.get $a))
        (local.set $p (i32.const 0))
        (block $d16
          (loop $l16
            (br_if $d16 (i32.gt_s (i32.add (local.get $p) (i32.const 16)) (local.get $k)))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load offset=0 (local.get $ap)) (v128.load offset=0 (local.get $bp)))))
            (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load offset=16 (local.get $ap)) (v128.load offset=16 (local.get $bp)))))
            (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (v128.load offset=32 (local.get $ap)) (v128.load offset=32 (local.get $bp)))))
            (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (v128.load offset=48 (local.get $ap)) (v128.load offset=48 (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 64)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 64)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $l16)))
        (block $d4
          (loop $l4
            (br_if $d4 (i32.gt_s (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load (local.get $ap)) (v128.load (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $l4)))
        (local.set $s0 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3))))
        (local.set $s (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
          (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
        (block $d1
          (loop $l1
            (br_if $d1 (i32.ge_s (local.get $p) (local.get $k)))
            (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $bp)))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $l1)))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (f32.store (local.get $cp) (f32.add (f32.load (local.get $cp)) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl))))
)
