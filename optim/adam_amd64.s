#include "textflag.h"

// func adamAVX2(w, grad, m, v *float32, n int, c *adamConsts)
// Processes n (a multiple of 8) elements, 8 at a time:
//   g = g + wd*w;  w = w*decay
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
//   w = w - step*m / (sqrt(v)*invSqrtBC2 + eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y0  // b1
	VBROADCASTSS 4(AX), Y1  // 1-b1
	VBROADCASTSS 8(AX), Y2  // b2
	VBROADCASTSS 12(AX), Y3 // 1-b2
	VBROADCASTSS 16(AX), Y4 // step
	VBROADCASTSS 20(AX), Y5 // invSqrtBC2
	VBROADCASTSS 24(AX), Y6 // eps
	VBROADCASTSS 28(AX), Y7 // wd
	VBROADCASTSS 32(AX), Y8 // decay

loop:
	CMPQ CX, $8
	JL   done
	VMOVUPS (DI), Y9          // w
	VMOVUPS (SI), Y10         // g
	VFMADD231PS Y7, Y9, Y10   // g += wd*w
	VMULPS Y8, Y9, Y9         // w *= decay
	VMOVUPS (R8), Y11
	VMULPS Y0, Y11, Y11       // b1*m
	VFMADD231PS Y1, Y10, Y11  // + (1-b1)*g
	VMOVUPS Y11, (R8)
	VMOVUPS (R9), Y12
	VMULPS Y10, Y10, Y13      // g^2
	VMULPS Y2, Y12, Y12       // b2*v
	VFMADD231PS Y3, Y13, Y12  // + (1-b2)*g^2
	VMOVUPS Y12, (R9)
	VSQRTPS Y12, Y13
	VFMADD213PS Y6, Y5, Y13   // sqrt v*invSqrtBC2 + eps
	VDIVPS Y13, Y11, Y14      // m / denominator
	VFNMADD231PS Y4, Y14, Y9  // w -= step*m/denominator
	VMOVUPS Y9, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  loop

done:
	VZEROUPPER
	RET
