"""The CUDA executor's per-thread loops: plain Python that :mod:`diffopt.ode.cuda_solve` compiles
per problem, after the sources of :mod:`diffopt.ode._loops` and :mod:`diffopt.ode._scalar` and the
problem's kernels, every function as a CUDA device function (``integrate_kernel``: the kernel).

One thread integrates one trajectory ``b``. Device code cannot allocate, so every buffer is a
slice of a preallocated array indexed by the trajectory: ``K[b]`` (the ``S + 1`` stages), ``Y[b]``
(the stage states), ``W[b]`` (the current and new state and slope, the error estimate and a zero
row) and, with ``keep`` (reverse mode), the step history ``ts[b]``, ``hs[b]``, ``ys[b]`` of
``max_steps + 1`` rows. The step itself (stages, error norm, step control, landing on ``t_end``,
the checks before a step) is :mod:`._loops`'s and :mod:`._scalar`'s, so the numbers are the
compiled loop's.
"""

from diffopt.ode._scalar import (
    ACCEPTED,
    BAD_SLOPE0,
    BAD_STATE,
    BAD_Y0,
    DONE,
    MIN_PREV_ERROR,
    NON_FINITE,
    NOT_FINITE,
    judge,
    plan,
    stop_before_step,
)

# --- placeholders: defined by the generated module (see diffopt.ode._loops) ------------------
rhs_into = stages = tableau_sum = error_norm = all_finite = set_row = p_row = cuda = None
adjoint_into = pbar_zero = pbar_store = None
ADAPTIVE = False
S = 0
E = None
ALPHA = BETA = 0.0


def integrate_thread(b, y0s, t0s, t_ends, h0s, p, cst, rtol, atol, max_steps, keep, K, Y, W,
                     ts, hs, ys, status, n_steps, n_rej, t_f, y_f, nfev, clipped, cause, t_bad,
                     h_bad):
    """:func:`diffopt.ode._loops.integrate` of trajectory ``b`` (no events), into the outputs'
    row ``b``."""
    pb = p_row(p, b)
    Kb, Yb, Wb = K[b], Y[b], W[b]
    y, y_new, f, f_new, err, zero = Wb[0], Wb[1], Wb[2], Wb[3], Wb[4], Wb[5]
    d = y.shape[0]
    for k in range(d):
        y[k] = y0s[b, k]
        zero[k] = 0.0
    t, t_end = t0s[b], t_ends[b]
    rhs_into(t, y, pb, cst, f)
    fev = 1
    n = 0
    rej = 0
    st = DONE
    why = 0
    tb = t
    hb = 0.0
    last = False
    was_clipped = False
    h = h0s[b]
    prev_err = MIN_PREV_ERROR
    last_nonfinite = False
    if keep:
        ts[b, 0] = t
        set_row(ys[b], 0, y)
    if not all_finite(y):
        st, why = NON_FINITE, BAD_Y0
    elif not all_finite(f):
        st, why = NON_FINITE, BAD_SLOPE0
    while st == DONE and t < t_end:
        tb = t
        last, hc = plan(t_end - t, h, t)
        hb = hc
        st, why = stop_before_step(n + rej, max_steps, hc, t, last_nonfinite)
        if st != DONE:
            break
        stages(t, hc, y, f, pb, cst, Kb, Yb, y_new)
        t_new = t_end if last else t + hc
        rhs_into(t_new, y_new, pb, cst, f_new)
        fev += S
        set_row(Kb, S, f_new)
        finite = all_finite(y_new)
        if ADAPTIVE:
            tableau_sum(zero, hc, E, Kb, S + 1, err)
            en = error_norm(err, y, y_new, rtol, atol)
            outcome, h, prev_err = judge(en, finite, hc, prev_err, ALPHA, BETA)
            last_nonfinite = outcome == NOT_FINITE
            if outcome != ACCEPTED:
                rej += 1
                continue
        elif not finite:
            st, why, tb = NON_FINITE, BAD_STATE, t_new
            break
        n += 1
        was_clipped = last
        if keep:
            hs[b, n - 1] = hc
            ts[b, n] = t_new
            set_row(ys[b], n, y_new)
        t = t_new  # (the buffers swap: the new state becomes the next step's start)
        y, y_new = y_new, y
        f, f_new = f_new, f
    status[b], n_steps[b], n_rej[b], nfev[b], clipped[b] = st, n, rej, fev, was_clipped
    cause[b], t_bad[b], h_bad[b], t_f[b] = why, tb, hb, t
    for k in range(d):
        y_f[b, k] = y[k]
    return 0


def integrate_kernel(y0s, t0s, t_ends, h0s, p, cst, rtol, atol, max_steps, keep, K, Y, W, ts, hs,
                     ys, status, n_steps, n_rej, t_f, y_f, nfev, clipped, cause, t_bad, h_bad):
    """One thread per trajectory (a grid-stride loop: any grid covers the batch)."""
    for b in range(cuda.grid(1), y0s.shape[0], cuda.gridsize(1)):
        integrate_thread(b, y0s, t0s, t_ends, h0s, p, cst, rtol, atol, max_steps, keep, K, Y, W,
                         ts, hs, ys, status, n_steps, n_rej, t_f, y_f, nfev, clipped, cause,
                         t_bad, h_bad)



def backward_thread(b, ts, hs, ys, n_steps, clipped, p, cst, gt, gy, K, Y, kbar, W, y0_bar,
                    t0_bar, t_end_bar, pbar_rows):
    """:func:`diffopt.ode._loops.backward` of trajectory ``b`` (no events: the cotangents of
    ``(t_final, y_final)`` only), by :func:`diffopt.ode._loops.adjoint_into` over its saved
    steps, into row ``b`` of the outputs."""
    pb = p_row(p, b)
    Wb = W[b]
    ybar, scratch, yb = Wb[0], Wb[1], Wb[2]
    for k in range(ybar.shape[0]):
        ybar[k] = gy[b, k]
    t0b, teb, pbar = adjoint_into(ts[b], hs[b], ys[b], n_steps[b], clipped[b], pb, cst, ybar,
                                  ys[b], False, pbar_zero(pb), K[b], Y[b], kbar[b], scratch, yb)
    for k in range(ybar.shape[0]):
        y0_bar[b, k] = ybar[k]
    t0_bar[b] = t0b
    t_end_bar[b] = teb + gt[b]  # (t_final = t_end)
    pbar_store(pbar_rows, b, pbar)
    return 0


def backward_kernel(ts, hs, ys, n_steps, clipped, p, cst, gt, gy, K, Y, kbar, W, y0_bar, t0_bar,
                    t_end_bar, pbar_rows):
    """One thread per trajectory."""
    for b in range(cuda.grid(1), ys.shape[0], cuda.gridsize(1)):
        backward_thread(b, ts, hs, ys, n_steps, clipped, p, cst, gt, gy, K, Y, kbar, W, y0_bar,
                        t0_bar, t_end_bar, pbar_rows)
