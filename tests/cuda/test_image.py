"""diffopt.image's CUDA kernels under Numba's CUDA simulator: every stage that has them equals its
diffopt.numpy reference in value and VJP (tiny images: the simulator runs thread by thread), a
pipeline of them equals backend="numpy", and every kernel compiles to PTX for cc 9.0."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("numba.cuda")

import diffopt  # noqa: E402
import diffopt.numpy as dnp  # noqa: E402
from diffopt import cuda as dcuda  # noqa: E402
from diffopt.image import (  # noqa: E402
    Pipeline,
    color_matrix,
    conv2d,
    demosaic_bilinear,
    demosaic_mhc,
    exposure,
    gamma,
    gaussian_blur,
    mosaic,
    normalize,
    saturation,
    tone_curve,
    unsharp_mask,
    white_balance,
)

pytestmark = pytest.mark.skipif(dcuda.MODE != "simulator", reason="needs NUMBA_ENABLE_CUDASIM=1")

RNG = np.random.default_rng(15)
RGB = RNG.uniform(-0.05, 1.1, (6, 8, 3))  # a few values outside [0, 1]: clamps, end segments
RGB[0, 0] = [0.001, 0.002, 0.0]  # gamma's linear piece and its clamp at 0
RAW = RNG.uniform(0.05, 0.95, (6, 8))

# (stage, input, parameters): every stage with CUDA kernels
CASES = [
    (normalize, RAW, {"black": 0.06, "white": 0.93}),
    (normalize, RGB, {"black": -0.1, "white": 1.2}),
    (exposure, RGB, {"ev": 0.7}),
    (white_balance, RGB, {"gains": np.array([1.9, 1.0, 1.4])}),
    (color_matrix, RGB, {"matrix": np.array([[1.5, -0.3, -0.2], [-0.1, 1.3, -0.2],
                                             [0.05, -0.4, 1.35]])}),
    (tone_curve, RGB, {"slopes": np.array([2.0, 1.5, -1.0, 0.75, 0.5, 0.5, 0.5, 0.25])}),
    (tone_curve, RAW, {"slopes": RNG.uniform(0.2, 2.0, 5)}),
    (saturation, RGB, {"s": 1.3}),
    (gamma, RGB, {"g": 2.2}),
    (gamma, RAW, {"g": 1.8}),
    (mosaic, RGB, {}),
    (demosaic_bilinear, RAW, {}),
    (demosaic_mhc, RAW, {"alpha": 0.4, "beta": 0.7, "gamma": 0.6}),
    (gaussian_blur, RGB, {"sigma": 1.3}),
    (gaussian_blur, RAW, {"sigma": 0.7}),
    (unsharp_mask, RGB, {"amount": 0.6, "radius": 1.1}),
    (conv2d, RGB, {"kernel": RNG.normal(size=(3, 3))}),
    (conv2d, RAW, {"kernel": RNG.normal(size=(5, 5))}),
]
IDS = [f"{s.name}-{x.ndim}d" for s, x, _ in CASES]


def _vjp(stage, x, params, backend, g):
    names = list(params)

    def f(x, *p):
        return stage(x, backend=backend, **dict(zip(names, p)))

    out, pull = diffopt.vjp(f, x, *params.values())
    return out, pull(g)


def test_every_stage_with_cuda_kernels_is_tested():
    from diffopt import image

    with_cuda = {s.name for s in vars(image).values()
                 if isinstance(s, image.Stage) and s.cuda_kernels is not None}
    assert with_cuda == {s.name for s, _, _ in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_vjp_equal_the_reference(case):
    stage, x, params = case
    out = stage(x, backend="cuda", **params)
    ref = stage(x, backend="numpy", **params)
    assert type(out) is np.ndarray and out.dtype == x.dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    g = RNG.normal(size=ref.shape)
    _, bars = _vjp(stage, x, params, "cuda", g)
    _, ref_bars = _vjp(stage, x, params, "numpy", g)
    for b, r in zip(bars, ref_bars):
        assert np.shape(b) == np.shape(r)
        np.testing.assert_allclose(b, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CASES[i] for i in (2, 5, 8, 12, 13, 15, 16)],
                         ids=[IDS[i] for i in (2, 5, 8, 12, 13, 15, 16)])
def test_float32_images_stay_float32_and_match_the_numba_kernels(case):
    stage, x, params = case
    x32 = x.astype(np.float32)
    out = stage(x32, backend="cuda", **params)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, stage(x32, backend="numba", **params), rtol=2e-6, atol=1e-6)


def test_a_pipeline_on_cuda_equals_numpy_in_value_and_gradient():
    pipe = Pipeline([normalize, demosaic_mhc, white_balance, color_matrix, gaussian_blur,
                     exposure, tone_curve, saturation, gamma, unsharp_mask])
    params = {"normalize": {"black": 0.04, "white": 0.97},
              "white_balance": {"gains": np.array([1.8, 1.0, 1.3])},
              "color_matrix": {"matrix": np.eye(3) + 0.05},
              "exposure": {"ev": 0.3}, "tone_curve": {"slopes": np.linspace(1.4, 0.6, 8)},
              "saturation": {"s": 1.2}, "gamma": {"g": 2.2},
              "gaussian_blur": {"sigma": 0.8}, "unsharp_mask": {"amount": 0.3}}
    np.testing.assert_allclose(pipe(RAW, params, backend="cuda"),
                               pipe(RAW, params, backend="numpy"), rtol=1e-12, atol=1e-13)

    def loss(backend):
        return lambda p: dnp.sum(pipe(RAW, p, backend=backend) ** 2)

    got = diffopt.grad(loss("cuda"))(pipe.params(params))
    want = diffopt.grad(loss("numpy"))(pipe.params(params))
    for name in want:
        for k in want[name]:
            np.testing.assert_allclose(got[name][k], want[name][k], rtol=1e-11,
                                       err_msg=f"{name}.{k}")


def test_fit_on_cuda_follows_fit_on_numpy():
    from diffopt.image import fit

    pipe = Pipeline([white_balance, exposure])
    target = pipe(RGB, {"white_balance": {"gains": np.array([1.6, 1.0, 1.2])}}, backend="numpy")
    runs = {b: fit(pipe, RGB, target, method="l-bfgs-b", steps=6, trainable=["white_balance"],
                   backend=b) for b in ("cuda", "numpy")}
    np.testing.assert_allclose(runs["cuda"].params["white_balance"]["gains"],
                               runs["numpy"].params["white_balance"]["gains"], rtol=1e-9)


def test_jacrev_and_vmap_of_a_cuda_stage():
    x = RGB[:2, :2]
    jac = {b: diffopt.jacrev(lambda k, b=b: exposure(x, ev=k, backend=b))(0.4)
           for b in ("cuda", "numpy")}
    np.testing.assert_allclose(jac["cuda"], jac["numpy"], rtol=1e-12)
    batch = np.stack([x, 2 * x])  # vmap runs the reference
    np.testing.assert_allclose(diffopt.vmap(lambda v: gamma(v, backend="cuda"))(batch),
                               gamma(batch.reshape(4, 2, 3), backend="numpy").reshape(batch.shape))


def test_auto_keeps_numba_for_numpy_arrays():
    from diffopt.image.stage import _resolve

    assert _resolve("auto", RGB, True) == "numba"
    assert _resolve("cuda", RGB, True) == "cuda"


def test_backend_cuda_refuses_what_it_cannot_take():
    from diffopt.image import Stage

    with pytest.raises(NotImplementedError, match="at most 64 segments"):
        tone_curve(RGB, slopes=np.ones(65), backend="cuda")
    with pytest.raises(NotImplementedError, match="up to 7 x 7"):
        conv2d(RNG.uniform(size=(10, 10)), kernel=np.ones((9, 9)) / 81, backend="cuda")
    double = Stage("double", {"k": 2.0}, lambda x, k: x * k)  # no kernels: its reference runs
    np.testing.assert_allclose(double(RGB, backend="cuda"), 2 * RGB)
    assert diffopt.grad(lambda k: dnp.sum(double(RGB, k=k, backend="cuda")))(3.0) == \
        pytest.approx(RGB.sum())


# --- compile-only check for the real target ------------------------------------------------------
PTX_SCRIPT = textwrap.dedent("""
    import numba, numpy as np
    from numba.cuda import dispatcher

    class Device:  # no GPU here: device functions compile for the device of this name
        compute_capability = (9, 0)

    dispatcher.get_current_device = lambda: Device()
    from numba import cuda
    from diffopt import image
    from diffopt.image import device

    device.record = []
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        rgb, raw = rng.uniform(size=(6, 8, 3)).astype(dtype), rng.uniform(size=(6, 8)).astype(dtype)
        for stage in vars(image).values():
            if not isinstance(stage, image.Stage) or stage.cuda_kernels is None:
                continue
            forward, vjp = stage.cuda_kernels
            x = raw if stage.name.startswith(("demosaic", "normalize")) else rgb
            params = [np.asarray(v, dtype=np.float64) for v in stage.defaults.values()]
            params = [float(p) if p.ndim == 0 else p for p in params]
            out = forward(x, *params)
            vjp(np.ones_like(out), x, out, *params)
    seen = set()
    for kernel, args in device.record:
        sig = tuple(numba.typeof(a) for a in args)
        if (id(kernel), sig) in seen:
            continue
        seen.add((id(kernel), sig))
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
        f64 = ".f64" in ptx
        print(kernel.py_func.__qualname__, sig[0], "f64" if f64 else "f32-only")
""")


def test_every_kernel_compiles_to_ptx_for_cc_90():
    pytest.importorskip("numba.cuda.cudadrv.nvvm")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-c", PTX_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    compiled = {line.split()[0] for line in lines}
    assert len(compiled) == 25, lines  # every kernel of every stage
    # float32 kernels whose arithmetic is all in the image's dtype have no f64 instruction (the
    # others, like the Numba kernels, take float64 parameters or sum cotangents in float64)
    for name in ("_gamma_cuda.<locals>.forward", "_blur_cuda.<locals>.hpass",
                 "_padding.<locals>.pad", "_mosaic_cuda.<locals>.forward"):
        assert f"{name} array(float32" in run.stdout
        assert all(line.endswith("f32-only") for line in lines
                   if line.startswith(f"{name} array(float32")), lines
