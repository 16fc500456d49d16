#include "textflag.h"

// Every kernel takes n, a multiple of 8, and works 8 floats at a time.

// func reluAVX2(y, x *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
relu_loop:
	VMOVUPS (SI), Y1
	VMAXPS Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  relu_loop
	VZEROUPPER
	RET

// func reluBackAVX2(gx, gr, y *float32, n int)
// gx += gr where y > 0
TEXT ·reluBackAVX2(SB), NOSPLIT, $0-32
	MOVQ gx+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
reluback_loop:
	VMOVUPS (DX), Y1
	VCMPPS $0x0e, Y0, Y1, Y2   // y > 0 (GT_OS)
	VANDPS (SI), Y2, Y3
	VADDPS (DI), Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  reluback_loop
	VZEROUPPER
	RET

// func addAVX2(dst, x *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
add_loop:
	VMOVUPS (DI), Y1
	VADDPS (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  add_loop
	VZEROUPPER
	RET

// func firstNonFiniteAVX2(x *float32, n int, mask uint32) int
// The start of the first block of 8 with every exponent bit set in some
// value (NaN or ±Inf), or n.
TEXT ·firstNonFiniteAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL mask+16(FP), DX
	MOVQ DX, X0
	VPBROADCASTD X0, Y0
	XORQ AX, AX
nonfinite_loop:
	CMPQ AX, CX
	JGE  nonfinite_done
	VPAND (SI)(AX*4), Y0, Y1
	VPCMPEQD Y0, Y1, Y1
	VMOVMSKPS Y1, DX
	TESTL DX, DX
	JNZ  nonfinite_done
	ADDQ $8, AX
	JMP  nonfinite_loop
nonfinite_done:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func addScaled64AVX2(dst *float64, x *float32, n int, w float64)
// dst += w·x, as a product then a sum (the Go loop's rounding).
TEXT ·addScaled64AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD w+24(FP), Y0
addscaled_loop:
	VCVTPS2PD (SI), Y1
	VMULPD Y0, Y1, Y1
	VADDPD (DI), Y1, Y1
	VMOVUPD Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ  addscaled_loop
	VZEROUPPER
	RET

// func softThresholdAVX2(x *float32, n int, t float32)
// x -= max(-t, min(t, x))
TEXT ·softThresholdAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Y0  // t
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1          // -t
soft_loop:
	VMOVUPS (DI), Y2
	VMINPS Y0, Y2, Y3          // min(x, t)
	VMAXPS Y1, Y3, Y3          // max(-t, ·)
	VSUBPS Y3, Y2, Y2          // x - clamp
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  soft_loop
	VZEROUPPER
	RET

// func affineAVX2(y, x *float32, n int, a, b float32)
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y0
	VBROADCASTSS b+28(FP), Y1
affine_loop:
	VMOVUPS (SI), Y2
	VMOVAPS Y1, Y3
	VFMADD231PS Y0, Y2, Y3     // b + a·x
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  affine_loop
	VZEROUPPER
	RET

// func sumDotAVX2(gr, h *float32, n int) (sum, dot float32)
TEXT ·sumDotAVX2(SB), NOSPLIT, $0-32
	MOVQ gr+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0          // Σ g
	VXORPS Y1, Y1, Y1          // Σ g·h
sumdot_loop:
	VMOVUPS (SI), Y2
	VADDPS Y2, Y0, Y0
	VFMADD231PS (DX), Y2, Y1
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  sumdot_loop
	VEXTRACTF128 $1, Y0, X2
	VADDPS X2, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VEXTRACTF128 $1, Y1, X3
	VADDPS X3, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	VMOVSS X0, sum+24(FP)
	VMOVSS X1, dot+28(FP)
	VZEROUPPER
	RET

// func normBackAVX2(gx, gr, h *float32, n int, k, mg, mgh float32)
// gx += k·(gr − mg − h·mgh)
TEXT ·normBackAVX2(SB), NOSPLIT, $0-44
	MOVQ gx+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ h+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS k+32(FP), Y0
	VBROADCASTSS mg+36(FP), Y1
	VBROADCASTSS mgh+40(FP), Y2
normback_loop:
	VMOVUPS (SI), Y3
	VSUBPS Y1, Y3, Y3          // g − mg
	VMOVUPS (DX), Y4
	VFNMADD231PS Y2, Y4, Y3    // − h·mgh
	VMOVUPS (DI), Y5
	VFMADD231PS Y0, Y3, Y5     // gx + k·(…)
	VMOVUPS Y5, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  normback_loop
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	CMPQ CX, $16
	JL   sum_tail
sum_loop2:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE  sum_loop2
sum_tail:
	CMPQ CX, $0
	JE   sum_done
	VADDPS (SI), Y0, Y0
sum_done:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X2
	VADDPS X2, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET
