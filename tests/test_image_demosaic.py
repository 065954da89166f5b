"""Bayer stages: mosaic, bilinear and Malvar-He-Cutler demosaicking (reference vs Numba, gradients,
the paper's filters, identities, errors)."""

import numpy as np
import pytest
from scipy import ndimage

import diffopt
from diffopt.image.demosaic import demosaic_bilinear, demosaic_mhc, mosaic
from diffopt.numerical import check_grads

DEMOSAIC = [demosaic_bilinear, demosaic_mhc]
STAGES = DEMOSAIC + [mosaic]
GAINS = {"alpha": 0.3, "beta": 0.9, "gamma": -0.4}  # generic, not the defaults


def _cases(shapes, odd=()):
    """(stage, shape) pairs: the even shapes for every stage, the odd ones for ``mosaic`` only."""
    return [(s, sh) for s in STAGES for sh in shapes] + [(mosaic, sh) for sh in odd]


def _id(v):
    return v.name if hasattr(v, "name") else "x".join(map(str, v))


def _input(stage, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if stage is mosaic:
        shape = (*shape, 3)
    return rng.random(shape).astype(dtype)


def _params(stage, generic=True):
    return dict(GAINS) if (stage is demosaic_mhc and generic) else {}


def _bayer(m):
    """The RGGB colour index of each site."""
    i, j = np.indices(m.shape[:2])
    return (i % 2) + (j % 2)


# --- Numba kernels against the reference --------------------------------------------------------
@pytest.mark.parametrize("stage, shape", _cases([(6, 8), (4, 4), (8, 6)], [(5, 7), (1, 3)]),
                         ids=_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_reference(stage, shape, dtype):
    x = _input(stage, shape, dtype)
    for generic in (True, False):
        p = _params(stage, generic)
        ref = stage(x, backend="numpy", **p)
        out = stage(x, backend="numba", **p)
        assert ref.dtype == out.dtype == dtype
        assert out.shape == (shape if stage is mosaic else (*shape, 3))
        tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out, ref, **tol)


@pytest.mark.parametrize("stage, shape", _cases([(6, 8), (4, 4)], [(5, 7)]), ids=_id)
def test_vjp_matches_reference(stage, shape):
    x = _input(stage, shape, np.float64, seed=1)
    p = _params(stage)
    names = list(p)
    g = np.random.default_rng(2).standard_normal(stage(x, **p).shape)
    bars = {}
    for backend in ("numpy", "numba"):
        def f(x, *q, backend=backend):
            return stage(x, backend=backend, **dict(zip(names, q)))
        out, pull = diffopt.vjp(f, x, *p.values())
        bars[backend] = pull(g)
        assert len(bars[backend]) == 1 + len(names)
    for a, b in zip(bars["numpy"], bars["numba"]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    assert bars["numba"][0].shape == x.shape


@pytest.mark.parametrize("stage", DEMOSAIC, ids=_id)
def test_vjp_many_row_blocks(stage):
    """Taller than several of the scatter's row blocks (16 rows), run in two passes."""
    x = _input(stage, (70, 12), np.float64, seed=13)
    p = _params(stage)
    g = np.random.default_rng(14).standard_normal((70, 12, 3))
    bars = [diffopt.vjp(lambda x, *q, b=b: stage(x, backend=b, **dict(zip(p, q))), x,
                        *p.values())[1](g) for b in ("numpy", "numba")]
    for a, b in zip(*bars):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_vjp_float32_keeps_dtype():
    x = _input(demosaic_mhc, (6, 8), np.float32)
    out, pull = diffopt.vjp(lambda m: demosaic_mhc(m, backend="numba"), x)
    (bar,) = pull(np.ones_like(out))
    assert bar.dtype == np.float32
    (ref,) = diffopt.vjp(lambda m: demosaic_mhc(m, backend="numpy"), x)[1](np.ones_like(out))
    np.testing.assert_allclose(bar, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_check_grads_reference(stage):
    x = _input(stage, (4, 6), np.float64, seed=3)
    p = _params(stage)
    names = list(p)

    def f(x, *q):
        return stage(x, backend="numpy", **dict(zip(names, q)))

    check_grads(f, (x, *p.values()), modes=("fwd", "rev"), order=2)


def test_grad_through_numba_gains():
    """A scalar loss of the gains: the compiled VJP agrees with forward mode on the reference."""
    x = _input(demosaic_mhc, (6, 8), np.float64, seed=4)
    target = np.random.default_rng(5).random((6, 8, 3))

    def loss(a, b, c, backend):
        d = demosaic_mhc(x, backend=backend, alpha=a, beta=b, gamma=c) - target
        return diffopt.numpy.sum(d * d)

    rev = diffopt.grad(lambda *q: loss(*q, "numba"), argnums=(0, 1, 2))(0.3, 0.9, -0.4)
    fwd = diffopt.jacfwd(lambda q: loss(q[0], q[1], q[2], "numpy"))(np.array([0.3, 0.9, -0.4]))
    np.testing.assert_allclose(np.array(rev, dtype=float), fwd, rtol=1e-10)


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_jacfwd_jacrev_agree(stage):
    x = _input(stage, (4, 4), np.float64, seed=6)
    jf = diffopt.jacfwd(lambda m: stage(m, backend="numpy"))(x)
    jr = diffopt.jacrev(lambda m: stage(m, backend="numpy"))(x)
    np.testing.assert_allclose(jr, jf, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_vmap_reference(stage):
    """Batched reference (what vmap of a stage differentiates) equals a loop."""
    xs = np.stack([_input(stage, (4, 6), np.float64, seed=s) for s in range(3)])
    p = stage.params(**_params(stage))
    batched = diffopt.vmap(lambda x: stage.reference(x, **p))(xs)
    np.testing.assert_allclose(batched, np.stack([stage.reference(x, **p) for x in xs]),
                               rtol=1e-14)


def test_vmap_reference_over_gains():
    m = _input(demosaic_mhc, (4, 6), np.float64)
    betas = np.array([0.0, 0.625, 1.3])
    batched = diffopt.vmap(lambda b: demosaic_mhc.reference(m, 0.5, b, 0.75))(betas)
    np.testing.assert_allclose(batched, np.stack([demosaic_mhc(m, beta=b) for b in betas]),
                               rtol=1e-12, atol=1e-15)


# --- the filters ---------------------------------------------------------------------------------
# Malvar, He, Cutler (ICASSP 2004), Fig. 2, in units of 1/8
_G_AT_RB = [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0],
            [0, 0, -1, 0, 0]]
_ROW = [[0, 0, .5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0],
        [0, 0, .5, 0, 0]]   # R at G in an R row (B at G in a B row)
_COL = np.transpose(_ROW)   # R at G in a B row (B at G in an R row)
_DIAG = [[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0],
         [0, 0, -1.5, 0, 0]]  # R at B, B at R


def _filtered(m, kernels):
    """Each site of class (a, b) and channel c filtered with ``kernels[(a, b)][c]`` (None: keep)."""
    out = np.empty((*m.shape, 3))
    for (a, b), per_channel in kernels.items():
        for c, k in enumerate(per_channel):
            f = m if k is None else ndimage.correlate(m, np.asarray(k, float), mode="mirror")
            out[a::2, b::2, c] = f[a::2, b::2]
    return out


def _mhc_scipy(m):
    k = {name: np.asarray(v, float) / 8 for name, v in
         (("g", _G_AT_RB), ("row", _ROW), ("col", _COL), ("diag", _DIAG))}
    return _filtered(m, {(0, 0): (None, k["g"], k["diag"]), (0, 1): (k["row"], None, k["col"]),
                         (1, 0): (k["col"], None, k["row"]), (1, 1): (k["diag"], k["g"], None)})


def _bilinear_scipy(m):
    """The textbook form: masked channels convolved with the bilinear kernels."""
    colour = _bayer(m)
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    return np.stack([ndimage.convolve(np.where(colour == c, m, 0), k, mode="mirror")
                     for c, k in ((0, k_rb), (1, k_g), (2, k_rb))], axis=-1)


@pytest.mark.parametrize("shape", [(4, 4), (6, 8), (10, 12)])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_mhc_defaults_are_the_paper_filters(shape, backend):
    m = np.random.default_rng(7).random(shape)
    np.testing.assert_allclose(demosaic_mhc(m, backend=backend), _mhc_scipy(m), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("shape", [(4, 4), (6, 8)])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_bilinear_is_textbook(shape, backend):
    m = np.random.default_rng(8).random(shape)
    np.testing.assert_allclose(demosaic_bilinear(m, backend=backend), _bilinear_scipy(m),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_zero_gains_are_bilinear(backend):
    m = np.random.default_rng(9).random((6, 8))
    np.testing.assert_allclose(demosaic_mhc(m, backend=backend, alpha=0, beta=0, gamma=0),
                               demosaic_bilinear(m, backend=backend), rtol=1e-14)


# --- identities ----------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", DEMOSAIC, ids=lambda s: s.name)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_constant_mosaic_gives_constant_image(stage, backend):
    for params in ({}, _params(stage)):
        out = stage(np.full((6, 8), 0.37), backend=backend, **params)
        np.testing.assert_allclose(out, 0.37, rtol=1e-14)


def _linear_rgb(h, w):
    i, j = np.indices((h, w), dtype=float)
    return np.stack([0.1 + 0.03 * i + 0.02 * j, 0.5 - 0.01 * i + 0.04 * j,
                     0.9 - 0.05 * i - 0.02 * j], axis=-1)


@pytest.mark.parametrize("stage", DEMOSAIC, ids=lambda s: s.name)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_linear_image_reconstructed_inside(stage, backend):
    """Both interpolators are exact on linear images (MHC's corrections vanish on them) away from
    the border, where reflection breaks linearity; known values are kept everywhere."""
    rgb = _linear_rgb(10, 12)
    raw = mosaic(rgb, backend=backend)
    out = stage(raw, backend=backend)
    np.testing.assert_allclose(out[2:-2, 2:-2], rgb[2:-2, 2:-2], rtol=1e-12, atol=1e-14)
    known = np.take_along_axis(out, _bayer(raw)[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(known, raw)
    assert not np.allclose(out, rgb)  # the border is not exact: the check above is not empty


@pytest.mark.parametrize("stage", DEMOSAIC, ids=lambda s: s.name)
def test_mosaic_of_demosaic_is_identity(stage):
    m = np.random.default_rng(10).random((6, 8)).astype(np.float32)
    for backend in ("numpy", "numba"):
        out = mosaic(stage(m, backend=backend, **_params(stage)), backend=backend)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, m)


def test_mosaic_samples_rggb():
    x = np.random.default_rng(11).random((5, 7, 3))
    for backend in ("numpy", "numba"):
        m = mosaic(x, backend=backend)
        np.testing.assert_array_equal(m[0::2, 0::2], x[0::2, 0::2, 0])
        np.testing.assert_array_equal(m[0::2, 1::2], x[0::2, 1::2, 1])
        np.testing.assert_array_equal(m[1::2, 0::2], x[1::2, 0::2, 1])
        np.testing.assert_array_equal(m[1::2, 1::2], x[1::2, 1::2, 2])


def test_learn_gains_recovers_paper_values():
    """Learnable demosaicking: fitting the gains to the paper filter's output recovers them."""
    m = np.random.default_rng(12).random((8, 8))
    target = demosaic_mhc(m)

    def loss(q):
        d = demosaic_mhc(m, alpha=q[0], beta=q[1], gamma=q[2]) - target
        return diffopt.numpy.sum(d * d)

    q = np.zeros(3)
    for _ in range(3):  # the loss is quadratic in the gains: Newton converges at once
        q = q - np.linalg.solve(diffopt.hessian(loss)(q), diffopt.grad(loss)(q))
    np.testing.assert_allclose(q, [0.5, 0.625, 0.75], rtol=1e-10)


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", DEMOSAIC, ids=lambda s: s.name)
@pytest.mark.parametrize("shape", [(5, 8), (6, 7), (2, 4), (4, 2)])
def test_demosaic_refuses_bad_sizes(stage, shape):
    with pytest.raises(ValueError, match=r"even height and width ≥ 4, got \(\d+, \d+\); crop"):
        stage(np.zeros(shape))


@pytest.mark.parametrize("stage", DEMOSAIC, ids=lambda s: s.name)
def test_demosaic_refuses_rgb_and_ints(stage):
    with pytest.raises(ValueError, match=r"expected an image of shape \(H, W\)"):
        stage(np.zeros((4, 4, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        stage(np.zeros((4, 4), dtype=np.int64))


@pytest.mark.parametrize("bad, match", [(np.nan, "finite"), (np.inf, "finite"),
                                        (np.ones(2), "real scalar"), ("x", "real scalar")])
def test_mhc_refuses_bad_gains(bad, match):
    with pytest.raises(ValueError, match=f"beta must be (a )?{match}"):
        demosaic_mhc(np.zeros((4, 4)), beta=bad)
    with pytest.raises(TypeError, match="no parameter"):
        demosaic_mhc(np.zeros((4, 4)), delta=1.0)


def test_mosaic_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        mosaic(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="float32 or float64"):
        mosaic(np.zeros((4, 4, 3), dtype=np.uint8))
