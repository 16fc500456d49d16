#include "textflag.h"

// Single-precision exp for 8 lanes (Cephes expf): n = round(x·log2 e),
// r = x − n·ln 2 (in two parts), e^r by a degree-6 polynomial, times 2^n.
// x is first clamped to [−87.33, 88.02], so that 2^n stays a normal float.

DATA expHi<>+0(SB)/4, $88.02
GLOBL expHi<>(SB), RODATA, $4
DATA expLo<>+0(SB)/4, $-87.33
GLOBL expLo<>(SB), RODATA, $4
DATA log2e<>+0(SB)/4, $1.44269504088896341
GLOBL log2e<>(SB), RODATA, $4
DATA ln2hi<>+0(SB)/4, $0.693359375
GLOBL ln2hi<>(SB), RODATA, $4
DATA ln2lo<>+0(SB)/4, $-2.12194440e-4
GLOBL ln2lo<>(SB), RODATA, $4
DATA one<>+0(SB)/4, $1.0
GLOBL one<>(SB), RODATA, $4
DATA bias<>+0(SB)/4, $127
GLOBL bias<>(SB), RODATA, $4
DATA p0<>+0(SB)/4, $1.9875691500E-4
GLOBL p0<>(SB), RODATA, $4
DATA p1<>+0(SB)/4, $1.3981999507E-3
GLOBL p1<>(SB), RODATA, $4
DATA p2<>+0(SB)/4, $8.3334519073E-3
GLOBL p2<>(SB), RODATA, $4
DATA p3<>+0(SB)/4, $4.1665795894E-2
GLOBL p3<>(SB), RODATA, $4
DATA p4<>+0(SB)/4, $1.6666665459E-1
GLOBL p4<>(SB), RODATA, $4
DATA p5<>+0(SB)/4, $5.0000001201E-1
GLOBL p5<>(SB), RODATA, $4

// LOADCONSTS puts the constants of EXP in Y8..Y13.
#define LOADCONSTS \
	VBROADCASTSS expHi<>(SB), Y8 \
	VBROADCASTSS expLo<>(SB), Y9 \
	VBROADCASTSS log2e<>(SB), Y10 \
	VBROADCASTSS ln2hi<>(SB), Y11 \
	VBROADCASTSS ln2lo<>(SB), Y12 \
	VBROADCASTSS one<>(SB), Y13

// EXP sets Y0 = exp(Y0), using Y1..Y3 and Y14, Y15.
#define EXP \
	VMINPS Y8, Y0, Y0 \
	VMAXPS Y9, Y0, Y0 \
	VMULPS Y10, Y0, Y1 \
	VROUNDPS $0, Y1, Y1 \
	VFNMADD231PS Y11, Y1, Y0 \
	VFNMADD231PS Y12, Y1, Y0 \
	VMULPS Y0, Y0, Y3 \
	VBROADCASTSS p0<>(SB), Y2 \
	VBROADCASTSS p1<>(SB), Y14 \
	VFMADD213PS Y14, Y0, Y2 \
	VBROADCASTSS p2<>(SB), Y14 \
	VFMADD213PS Y14, Y0, Y2 \
	VBROADCASTSS p3<>(SB), Y14 \
	VFMADD213PS Y14, Y0, Y2 \
	VBROADCASTSS p4<>(SB), Y14 \
	VFMADD213PS Y14, Y0, Y2 \
	VBROADCASTSS p5<>(SB), Y14 \
	VFMADD213PS Y14, Y0, Y2 \
	VFMADD213PS Y0, Y3, Y2 \
	VADDPS Y13, Y2, Y2 \
	VCVTPS2DQ Y1, Y1 \
	VPBROADCASTD bias<>(SB), Y15 \
	VPADDD Y15, Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VMULPS Y1, Y2, Y0

// func expAVX2(y, x *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
exp_loop:
	VMOVUPS (SI), Y0
	EXP
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  exp_loop
	VZEROUPPER
	RET

// func sigmoidAVX2(y, x *float32, n int)
// y = 1 / (1 + exp(-x))
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	VXORPS Y7, Y7, Y7
sigmoid_loop:
	VMOVUPS (SI), Y4
	VSUBPS Y4, Y7, Y0
	EXP
	VADDPS Y13, Y0, Y0
	VDIVPS Y0, Y13, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  sigmoid_loop
	VZEROUPPER
	RET

// func tanhAVX2(y, x *float32, n int)
// y = (1 - t) / (1 + t) with t = exp(-2x)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	VXORPS Y7, Y7, Y7
tanh_loop:
	VMOVUPS (SI), Y4
	VADDPS Y4, Y4, Y4
	VSUBPS Y4, Y7, Y0
	EXP
	VSUBPS Y0, Y13, Y5
	VADDPS Y13, Y0, Y0
	VDIVPS Y0, Y5, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  tanh_loop
	VZEROUPPER
	RET
