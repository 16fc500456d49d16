"""Spectral preprocessing as fdrmfl applies it before standardisation
(Go package preprocess): SNV, MSC against a fitted reference,
Savitzky–Golay smoothing and derivatives with scipy's "interp" ends, and
polynomial detrending. Each spectrum (a run of `width` values of a sample)
is transformed alone."""

import numpy as np


def sg_weights(w, k, d):
    """w×w matrix whose row t weights the window's values for the d-th
    derivative, at window position t, of the least-squares polynomial of
    order k (row (w−1)/2: the interior convolution)."""
    h = (w - 1) // 2
    t = np.arange(w) - h
    a = np.vander(t, k + 1, increasing=True).astype(np.float64)
    pinv = np.linalg.solve(a.T @ a, a.T)
    der = np.zeros((w, k + 1))
    for q in range(d, k + 1):
        c = np.prod([q - j for j in range(d)]) if d else 1.0
        der[:, q] = c * t.astype(np.float64) ** (q - d)
    return der @ pinv


def poly_basis(n, d):
    """Orthonormal basis (n×(d+1)) of polynomials of degree ≤ d on 0..n−1."""
    u = 2 * np.arange(n) / max(n - 1, 1) - 1
    q, _ = np.linalg.qr(np.vander(u, d + 1, increasing=True))
    return q


def _snv(x):
    m = x.mean(axis=1, keepdims=True)
    sd = x.std(axis=1, ddof=1, keepdims=True)
    sd[sd == 0] = 1
    return (x - m) / sd


def _msc(x, ref):
    mr = ref.mean()
    mx = x.mean(axis=1, keepdims=True)
    srr = ((ref - mr) ** 2).sum()
    srx = ((x - mx) * (ref - mr)).sum(axis=1, keepdims=True)
    b = np.where((srr > 0) & (srx != 0), srx / srr if srr > 0 else 1.0, 1.0)
    a = mx - b * mr
    return (x - a) / b


def _savgol(x, e):
    w = e.shape[0]
    h = (w - 1) // 2
    n = x.shape[1]
    out = np.empty_like(x)
    # interior: windows as a strided view
    idx = np.arange(n - 2 * h)[:, None] + np.arange(w)[None, :]
    out[:, h : n - h] = x[:, idx] @ e[h]
    out[:, :h] = x[:, :w] @ e[:h].T
    out[:, n - h :] = x[:, n - w :] @ e[w - h :].T
    return out


def _detrend(x, basis):
    return x - (x @ basis) @ basis.T


def apply(steps, x, width):
    """The chain steps (as read by Model) applied to rows of x (n×size)."""
    x = np.array(x, dtype=np.float64)
    n, size = x.shape
    for op, arg in steps:
        for off in range(0, size, width):
            seg = x[:, off : off + width]
            if op == "snv":
                seg = _snv(seg)
            elif op == "msc":
                seg = _msc(seg, arg[off : off + width])
            elif op == "sg":
                seg = _savgol(seg, arg)
            elif op == "detrend":
                seg = _detrend(seg, arg)
            x[:, off : off + width] = seg
    return x
