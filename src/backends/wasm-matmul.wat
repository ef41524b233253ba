;; A float32 matrix product for the plain wasm backend (issue 17), with the exact arithmetic of
;; @tensorflow/tfjs-backend-wasm 4.22's `slow_batch_matmul` (the kernel tfjs runs for every transposed
;; BatchMatMul), four to twenty times faster.
;;
;;   out[i][j] = sum over blocks k0 = 0, 48, 96, ... of ( sum_{k0 <= k < min(k0 + 48, K)} a[i][k] * b[k][j] )
;;
;; Each block's sum starts at +0 and adds the products in increasing k, one float32 rounding per multiply and per
;; add; the block sums are added to the output (which starts at +0) in increasing k0. WebAssembly has no fused
;; multiply-add, and SIMD lanes round like scalar float32, so computing 32 neighbouring outputs j at once in eight
;; f32x4 accumulators gives the same bits as tfjs's scalar loop: only the order of independent outputs changes.
;;
;; Layout (the caller copies and pads): a is [m, k] row-major, b is [k, np] row-major, out is [m, np], np a
;; multiple of 32 (extra columns of b are zero and their outputs are discarded). Pointers are byte offsets into
;; the exported memory, 16-byte aligned.
(module
  (memory (export "memory") 1)
  (func (export "matmul")
    (param $a i32) (param $b i32) (param $out i32) (param $m i32) (param $k i32) (param $np i32)
    (local $i i32) (local $j i32) (local $k0 i32) (local $kend i32) (local $kk i32)
    (local $arow i32) (local $bp i32) (local $op i32) (local $bstride i32) (local $av v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local $o0 v128) (local $o1 v128) (local $o2 v128) (local $o3 v128)
    (local $o4 v128) (local $o5 v128) (local $o6 v128) (local $o7 v128)
    (local.set $bstride (i32.shl (local.get $np) (i32.const 2)))
    (if (i32.or (i32.eqz (local.get $m)) (i32.eqz (local.get $np))) (then (return)))
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $o0 (v128.const i32x4 0 0 0 0)) (local.set $o1 (v128.const i32x4 0 0 0 0))
        (local.set $o2 (v128.const i32x4 0 0 0 0)) (local.set $o3 (v128.const i32x4 0 0 0 0))
        (local.set $o4 (v128.const i32x4 0 0 0 0)) (local.set $o5 (v128.const i32x4 0 0 0 0))
        (local.set $o6 (v128.const i32x4 0 0 0 0)) (local.set $o7 (v128.const i32x4 0 0 0 0))
        (local.set $k0 (i32.const 0))
        (block $done
          (loop $blocks
            (br_if $done (i32.ge_u (local.get $k0) (local.get $k)))
            (local.set $kend (select (i32.add (local.get $k0) (i32.const 48)) (local.get $k)
              (i32.lt_u (i32.add (local.get $k0) (i32.const 48)) (local.get $k))))
            (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (v128.const i32x4 0 0 0 0))
            (local.set $s2 (v128.const i32x4 0 0 0 0)) (local.set $s3 (v128.const i32x4 0 0 0 0))
            (local.set $s4 (v128.const i32x4 0 0 0 0)) (local.set $s5 (v128.const i32x4 0 0 0 0))
            (local.set $s6 (v128.const i32x4 0 0 0 0)) (local.set $s7 (v128.const i32x4 0 0 0 0))
            (local.set $kk (local.get $k0))
            (local.set $bp (i32.add (local.get $b)
              (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $np)) (local.get $j)) (i32.const 2))))
            (loop $inner
              (local.set $av (f32x4.splat (f32.load (i32.add (local.get $arow) (i32.shl (local.get $kk) (i32.const 2))))))
              (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $av) (v128.load offset=0 (local.get $bp)))))
              (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $av) (v128.load offset=16 (local.get $bp)))))
              (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $av) (v128.load offset=32 (local.get $bp)))))
              (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $av) (v128.load offset=48 (local.get $bp)))))
              (local.set $s4 (f32x4.add (local.get $s4) (f32x4.mul (local.get $av) (v128.load offset=64 (local.get $bp)))))
              (local.set $s5 (f32x4.add (local.get $s5) (f32x4.mul (local.get $av) (v128.load offset=80 (local.get $bp)))))
              (local.set $s6 (f32x4.add (local.get $s6) (f32x4.mul (local.get $av) (v128.load offset=96 (local.get $bp)))))
              (local.set $s7 (f32x4.add (local.get $s7) (f32x4.mul (local.get $av) (v128.load offset=112 (local.get $bp)))))
              (local.set $bp (i32.add (local.get $bp) (local.get $bstride)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br_if $inner (i32.lt_u (local.get $kk) (local.get $kend))))
            (local.set $o0 (f32x4.add (local.get $o0) (local.get $s0)))
            (local.set $o1 (f32x4.add (local.get $o1) (local.get $s1)))
            (local.set $o2 (f32x4.add (local.get $o2) (local.get $s2)))
            (local.set $o3 (f32x4.add (local.get $o3) (local.get $s3)))
            (local.set $o4 (f32x4.add (local.get $o4) (local.get $s4)))
            (local.set $o5 (f32x4.add (local.get $o5) (local.get $s5)))
            (local.set $o6 (f32x4.add (local.get $o6) (local.get $s6)))
            (local.set $o7 (f32x4.add (local.get $o7) (local.get $s7)))
            (local.set $k0 (local.get $kend))
            (br $blocks)))
        (local.set $op (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $np)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $op) (local.get $o0))
        (v128.store offset=16 (local.get $op) (local.get $o1))
        (v128.store offset=32 (local.get $op) (local.get $o2))
        (v128.store offset=48 (local.get $op) (local.get $o3))
        (v128.store offset=64 (local.get $op) (local.get $o4))
        (v128.store offset=80 (local.get $op) (local.get $o5))
        (v128.store offset=96 (local.get $op) (local.get $o6))
        (v128.store offset=112 (local.get $op) (local.get $o7))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br_if $cols (i32.lt_u (local.get $j) (local.get $np))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $m))))))
