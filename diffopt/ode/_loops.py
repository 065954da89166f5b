"""The compiled integrator's loops, written once as plain Python that Numba compiles per problem.

:mod:`diffopt.ode.compiled` writes a module for each problem: this file's source, then the
problem's kernels and constants (which replace the placeholders below), and compiles every function
with ``numba.njit``. The kernels take the flat state ``y`` (1-D), the user's parameters ``p`` (a
tuple of leaves) and ``cst`` (the kernels' array constants):

- ``rhs_into(t, y, p, cst, out)``: ``out[:] = dy/dt``;
- ``rhs_vjp_into(t, y, ct, p, cst, out) -> (t_bar, p_bar)``, the right-hand side's VJP, with
  ``out[:] = y_bar``;
- ``conds_into(t, y, t0, y0, p, cst, out)``: ``out[:] = g``, one value per event (``(t0, y0)``:
  the step's start).

The hot loop writes into buffers it allocates once: a heap allocation per call costs as much as a
small right-hand side.

The arithmetic mirrors :func:`diffopt.ode.solve` step for step (the same tableau sums, step control
and event rules), so both paths give the same numbers.
"""

import numpy as np

from diffopt.ode._scalar import (
    ACCEPTED,
    BAD_CONDITION,
    BAD_CONDITION_IN_STEP,
    BAD_SLOPE0,
    BAD_STATE,
    BAD_Y0,
    DONE,
    EVENT_NON_FINITE,
    MIN_PREV_ERROR,
    NON_FINITE,
    NOT_FINITE,
    TERMINAL_EVENT,
    crosses,
    hermite,
    judge,
    plan,
    root_start,
    root_step,
    stop_before_step,
)

# --- placeholders: every generated module defines these after this source -------------------
rhs_into = rhs_vjp_into = conds_into = slopes = final_vjp = pbar_zero = pbar_add = None
p_row = pbar_store = None
A = B = C = E = P = DIRECTION = TERMINAL = NEEDS_START = None
S = M = 0
ADAPTIVE = HERMITE = False
ALPHA = BETA = 0.0
# inlined by Numba: 25% off a small step
INLINE = ("set_row", "dot", "add_row", "tableau_sum", "stages", "select", "branch", "plan",
          "lands_on_end", "stop_before_step", "judge", "pi_factor", "larger")


def rhs(t, y, p, cst):
    """``dy/dt`` as a new array."""
    out = np.empty(y.shape[0])
    rhs_into(t, y, p, cst, out)
    return out


def conds(t, y, t0, y0, p, cst):
    """The event conditions as a new array (one zero when there are no events)."""
    out = np.zeros(max(M, 1))
    conds_into(t, y, t0, y0, p, cst, out)
    return out


def error_norm(err, y0, y1, rtol, atol):
    """:func:`diffopt.ode.control.error_norm` of one trajectory."""
    acc = 0.0
    for k in range(err.shape[0]):
        e = abs(err[k]) / (atol + rtol * max(abs(y0[k]), abs(y1[k])))
        acc += e * e
    return np.sqrt(acc / err.shape[0])


def interp(theta, h, y0, y1, K):
    """The step's dense output at ``t0 + theta * h`` (``K``: the stages, then ``f`` at the end)."""
    if HERMITE:
        return hermite(theta, h, y0, y1, K[0], K[S])
    acc = np.zeros_like(y0)
    for i in range(S + 1):
        q = 0.0
        tp = 1.0
        for j in range(P.shape[1]):
            tp *= theta
            q += P[i, j] * tp
        if q != 0.0:
            acc += q * K[i]
    return y0 + h * acc


def set_row(a, i, v):
    """``a[i] = v``, without the row view that costs as much as a small step."""
    for k in range(v.shape[0]):
        a[i, k] = v[k]


def tableau_sum(y, h, coefs, K, n, out):
    """``out = y + h * Σ_j coefs[j] K[j]`` over the first ``n`` stages, in place, summed in the
    order :func:`diffopt.ode.tableaus.combine` sums (so both paths round alike)."""
    for k in range(y.shape[0]):
        acc = 0.0
        for j in range(n):
            if coefs[j] != 0.0:
                acc += coefs[j] * K[j, k]
        out[k] = y[k] + h * acc
    return out


def stages(t, h, y, f0, p, cst, K, Y, y_new):
    """One Runge-Kutta step from ``(t, y)``: fills the stages ``K[:S]``, the stage states ``Y``
    and the new state ``y_new``."""
    set_row(K, 0, f0)
    set_row(Y, 0, y)
    for i in range(1, S):
        tableau_sum(y, h, A[i], K, i, Y[i])
        rhs_into(t + C[i] * h, Y[i], p, cst, K[i])
    tableau_sum(y, h, B, K, S, y_new)


def event_value(i, t, h, y0, y1, K, theta, p, cst):
    return conds(t + theta * h, interp(theta, h, y0, y1, K), t, y0, p, cst)[i]


def locate(i, t, h, y0, y1, K, g1, p, cst):
    """``theta`` in [0, 1] of event ``i``'s sign change in the step, as
    :func:`diffopt.ode._scalar.find_root` finds it; nan if the condition was not finite on the
    way."""
    if g1 == 0.0:
        return 1.0
    state, x = root_start(g1, event_value(i, t, h, y0, y1, K, 0.0, p, cst),
                          event_value(i, t, h, y0, y1, K, 1.0, p, cst))
    while state[-1] == -1.0:
        state, x_next = root_step(state, x, event_value(i, t, h, y0, y1, K, x, p, cst),
                                  NEEDS_START[i])
        x = x_next
    return state[-1]


def all_finite(y):
    for v in y:
        if not np.isfinite(v):
            return False
    return True


def grow(a, n):
    """``a`` with room for at least ``n`` rows (doubling)."""
    if n <= a.shape[0]:
        return a
    out = np.empty((max(n, 2 * a.shape[0]),) + a.shape[1:], a.dtype)
    out[:a.shape[0]] = a
    return out


def integrate(y0, t0, t_end, h0, p, cst, rtol, atol, max_steps):
    """Integrate from ``t0`` to ``t_end`` or the first terminal event, ``max_steps`` step
    attempts (accepted or rejected) at most.

    Returns ``(status, n, ts, hs, ys, nfev, n_rejected, ev, theta, clipped, t_r, g_c, slope,
    log_i, log_t, log_y, cause, t_bad, h_bad, i_bad)``: ``ts``/``ys`` the ``n + 1`` saved times
    and states (the last one where the solve stopped), ``hs`` the ``n`` step sizes, ``ev`` the
    terminal event that fired (-1: none) at ``theta`` in the last step, time ``t_r``, where its
    condition is ``g_c`` with slope ``slope`` along the interpolant; ``clipped`` whether the
    last step was cut to end at ``t_end``; the log of every event that fired; and for a failure
    (see :mod:`diffopt.ode._types`) its cause, time, step size and event.
    """
    d = y0.shape[0]
    cap = 64
    ts = np.empty(cap)
    hs = np.empty(cap)
    ys = np.empty((cap, d))
    log_i = np.empty(4, np.int64)
    log_t = np.empty(4)
    log_y = np.empty((4, d))
    n_log = 0
    K = np.empty((S + 1, d))
    Y = np.empty((S, d))
    t_r = g_c = slope = 0.0
    t, y = t0, y0.copy()
    y_new = np.empty(d)
    f = rhs(t, y, p, cst)
    f_new = np.empty(d)
    zero = np.zeros(d)
    err = np.empty(d)
    nfev = 1
    g_prev = conds(t, y, t, y, p, cst)
    g_new = np.empty_like(g_prev)
    ts[0] = t
    ys[0] = y
    n = 0
    n_rej = 0
    status = DONE
    ev = -1
    theta = 1.0
    clipped = False
    h = h0
    prev_err = MIN_PREV_ERROR
    last_nonfinite = False
    cause = 0
    t_bad = t
    h_bad = 0.0
    i_bad = -1
    if not all_finite(y):
        status, cause = NON_FINITE, BAD_Y0
    elif not all_finite(f):
        status, cause = NON_FINITE, BAD_SLOPE0
    for i in range(M):
        if status == DONE and not np.isfinite(g_prev[i]):
            status, cause, i_bad = EVENT_NON_FINITE, BAD_CONDITION, i
    while status == DONE and t < t_end:
        t_bad = t
        last, hc = plan(t_end - t, h, t)
        h_bad = hc
        status, cause = stop_before_step(n + n_rej, max_steps, hc, t, last_nonfinite)
        if status != DONE:
            break
        stages(t, hc, y, f, p, cst, K, Y, y_new)
        t_new = t_end if last else t + hc
        rhs_into(t_new, y_new, p, cst, f_new)
        nfev += S
        set_row(K, S, f_new)
        finite = all_finite(y_new)
        if ADAPTIVE:
            tableau_sum(zero, hc, E, K, S + 1, err)
            en = error_norm(err, y, y_new, rtol, atol)
            outcome, h, prev_err = judge(en, finite, hc, prev_err, ALPHA, BETA)
            last_nonfinite = outcome == NOT_FINITE
            if outcome != ACCEPTED:
                n_rej += 1
                continue
        elif not finite:
            status, cause, t_bad = NON_FINITE, BAD_STATE, t_new
            break
        conds_into(t_new, y_new, t, y, p, cst, g_new)
        # events of this step, in time order; the first terminal one stops the solve
        best = 2.0
        any_fired = False
        for i in range(M):
            if status == DONE and not np.isfinite(g_new[i]):
                status, cause, t_bad, i_bad = EVENT_NON_FINITE, BAD_CONDITION, t_new, i
            elif crosses(g_prev[i], g_new[i], DIRECTION[i]):
                any_fired = True
        if status != DONE:
            break
        if any_fired:
            ths = np.full(M, 2.0)
            for i in range(M):
                if status == DONE and crosses(g_prev[i], g_new[i], DIRECTION[i]):
                    ths[i] = locate(i, t, hc, y, y_new, K, g_new[i], p, cst)
                    if np.isnan(ths[i]):
                        status, cause, i_bad = EVENT_NON_FINITE, BAD_CONDITION_IN_STEP, i
                    elif TERMINAL[i] and ths[i] < best:
                        best, ev = ths[i], i
            if status != DONE:
                ev = -1
                break
            for i in np.argsort(ths):  # log the events up to the terminal one
                if ths[i] <= min(best, 1.0):
                    log_i = grow(log_i, n_log + 1)
                    log_t = grow(log_t, n_log + 1)
                    log_y = grow(log_y, n_log + 1)
                    log_i[n_log] = i
                    log_t[n_log] = t + ths[i] * hc
                    log_y[n_log] = interp(ths[i], hc, y, y_new, K)
                    n_log += 1
        n += 1
        clipped = last
        if n >= ts.shape[0]:  # (checked here: a call per step costs as much as the step)
            ts, hs, ys = grow(ts, n + 1), grow(hs, n + 1), grow(ys, n + 1)
        hs[n - 1] = hc
        if ev >= 0:
            theta = best
            t_r = t + theta * hc
            ts[n] = t_r
            ys[n] = interp(theta, hc, y, y_new, K)
            g_c = conds(t_r, ys[n], t, y, p, cst)[ev]
            if theta > 0.0:
                slope = slopes(t_r, t, hc, y, y_new, K, p, cst)[ev]
            status = TERMINAL_EVENT
            break
        ts[n] = t_new
        set_row(ys, n, y_new)
        t = t_new  # (the buffers swap: the new state becomes the next step's start)
        y, y_new = y_new, y
        f, f_new = f_new, f
        g_prev, g_new = g_new, g_prev
    return (status, n, ts[:n + 1], hs[:n], ys[:n + 1], nfev, n_rej, ev, theta, clipped, t_r, g_c,
            slope, log_i[:n_log], log_t[:n_log], log_y[:n_log], cause, t_bad, h_bad, i_bad)


def dot(a, b):
    """``a . b`` of two rows, summed in order (no BLAS: the CUDA executor runs it too)."""
    acc = 0.0
    for k in range(a.shape[0]):
        acc += a[k] * b[k]
    return acc


def add_row(a, b):
    """``a += b`` for rows, in place."""
    for k in range(a.shape[0]):
        a[k] += b[k]


def step_vjp(t, h, y, p, cst, ybar, K, Y, kbar, y_new, yb, pbar, need_h):
    """Pull ``ybar`` (the cotangent of the step's new state) back through one step from
    ``(t, y)`` of size ``h``, in place: ``ybar`` becomes the step start's cotangent. Returns
    ``(t_bar, h_bar, p_bar)``, ``h_bar`` only when ``need_h``; ``K``, ``Y``, ``kbar``,
    ``y_new``, ``yb``: scratch."""
    if S > 1 or need_h:
        rhs_into(t, y, p, cst, K[S])
        stages(t, h, y, K[S], p, cst, K, Y, y_new)
    else:  # (one stage, at y: its slope would serve h_bar only)
        set_row(Y, 0, y)
    h_bar = 0.0
    for i in range(S):
        for k in range(y.shape[0]):
            kbar[i, k] = h * B[i] * ybar[k] if B[i] != 0.0 else 0.0
        if B[i] != 0.0 and need_h:
            h_bar += B[i] * dot(K[i], ybar)
    t_bar = 0.0
    for i in range(S - 1, -1, -1):
        tb, pb = rhs_vjp_into(t + C[i] * h, Y[i], kbar[i], p, cst, yb)
        pbar = pbar_add(pbar, pb)
        t_bar += tb
        h_bar += C[i] * tb
        add_row(ybar, yb)
        for j in range(i):
            if A[i, j] != 0.0:
                for k in range(y.shape[0]):
                    kbar[j, k] += h * A[i, j] * yb[k]
                if need_h:
                    h_bar += A[i, j] * dot(K[j], yb)
    return t_bar, h_bar, pbar


def adjoint_into(ts, hs, ys, n_steps, clipped, p, cst, ybar, ys_bar, with_ys_bar, pbar, K, Y,
                 kbar, scratch, yb):
    """The discrete adjoint of the first ``n_steps`` steps, in the scratch rows given: ``ybar``
    (the cotangent of ``ys[n_steps]``) becomes ``y0``'s, ``ys_bar`` (read ``with_ys_bar``) are
    the saved states' cotangents; the last step's size depends on ``t_end`` when ``clipped``.
    Returns ``(t0_bar, t_end_bar, p_bar)`` (``p_bar`` added to the one given)."""
    t0_bar = 0.0
    t_end_bar = 0.0
    for k in range(n_steps - 1, -1, -1):
        last = clipped and k == n_steps - 1  # h = t_end - t_k
        tb, hb, pbar = step_vjp(ts[k], hs[k], ys[k], p, cst, ybar, K, Y, kbar, scratch, yb,
                                 pbar, last)
        t0_bar += tb
        if last:
            t_end_bar += hb
            t0_bar -= hb
        if with_ys_bar:
            add_row(ybar, ys_bar[k])
    return t0_bar, t_end_bar, pbar


def adjoint(ts, hs, ys, n_steps, clipped, p, cst, ybar, ys_bar, pbar):
    """:func:`adjoint_into` with its own scratch. Returns ``(y0_bar, t0_bar, t_end_bar,
    p_bar)``."""
    d = ys.shape[1]
    ybar = ybar.copy()
    t0_bar, t_end_bar, pbar = adjoint_into(
        ts, hs, ys, n_steps, clipped, p, cst, ybar, ys_bar, True, pbar, np.empty((S + 1, d)),
        np.empty((S, d)), np.empty((S, d)), np.empty(d), np.empty(d))
    return ybar, t0_bar, t_end_bar, pbar


def backward(ts, hs, ys, n, ev, jump, clipped, t_r, g_c, slope, p, cst, gt, gy, g_ts, g_ys):
    """Cotangents ``(y0_bar, t0_bar, t_end_bar, p_bar)`` from those of the solve's outputs
    ``(t_final, y_final, ts, ys)``: the event step (if a terminal event fired; ``jump``: at its
    step's very start, whose state is the last saved one), then the steps before it. The saved
    times are ``t0`` plus constants, except the last (the end or event time)."""
    last = ts.shape[0] - 1
    ybar = gy + g_ys[last]
    t_bar = gt + g_ts[last]
    t0_bar = np.sum(g_ts[:last])
    t_end_bar = 0.0
    pbar = pbar_zero(p)
    n_reg = n
    clip = clipped
    if ev < 0:
        t_end_bar = t_bar
    elif jump:  # t* = t_prev, y* = y_prev
        n_reg = last
        t0_bar += t_bar
        clip = False
    else:
        n_reg = n - 1
        clip = False
        tp_bar, h_bar, yp_bar, pb = final_vjp(ev, t_r, g_c, slope, ts[n_reg], hs[n_reg],
                                              ys[n_reg], t_bar, ybar, p, cst)
        pbar = pbar_add(pbar, pb)
        t0_bar += tp_bar
        if clipped:  # the event step's h = t_end - t_prev
            t_end_bar += h_bar
            t0_bar -= h_bar
        ybar = yp_bar + g_ys[n_reg]
    y0_bar, tb, teb, pbar = adjoint(ts, hs, ys, n_reg, clip, p, cst, ybar, g_ys, pbar)
    return y0_bar, t0_bar + tb, t_end_bar + teb, pbar


def integrate_batch(lo, hi, y0s, t0s, t_ends, h0s, p, cst, rtol, atol, max_steps, keep, status,
                    n_steps, n_rej, t_f, y_f, ev, nfev, theta, clipped, t_r, g_c, slope, cause,
                    t_bad, h_bad, i_bad):
    """:func:`integrate` for rows ``lo:hi`` of ``y0s`` (each its own start and end time, and its
    slice of the per-trajectory parameters), written into the output arrays (``cause`` to
    ``i_bad``: each failure's). Returns the rows' event logs end to end, ``(log_offsets, log_i,
    log_t, log_y)`` (row ``lo + j`` at ``log_offsets[j]:log_offsets[j + 1]``), then, with
    ``keep``, their saved times, step sizes and states, ``(offsets, ts, hs, ys)`` likewise, for
    :func:`backward_batch`."""
    d = y0s.shape[1]
    offsets = np.zeros(hi - lo + 1, np.int64)
    ts_all = np.empty(0)
    hs_all = np.empty(0)
    ys_all = np.empty((0, d))
    log_offsets = np.zeros(hi - lo + 1, np.int64)
    li_all = np.empty(0, np.int64)
    lt_all = np.empty(0)
    ly_all = np.empty((0, d))
    for b in range(lo, hi):
        out = integrate(y0s[b], t0s[b], t_ends[b], h0s[b], p_row(p, b), cst, rtol, atol, max_steps)
        status[b], n_steps[b], ev[b], nfev[b], n_rej[b] = out[0], out[1], out[7], out[5], out[6]
        theta[b], clipped[b], t_r[b], g_c[b], slope[b] = out[8], out[9], out[10], out[11], out[12]
        cause[b], t_bad[b], h_bad[b], i_bad[b] = out[16], out[17], out[18], out[19]
        t_f[b] = out[2][-1]
        y_f[b] = out[4][-1]
        k, m = log_offsets[b - lo], out[13].shape[0]
        li_all, lt_all, ly_all = grow(li_all, k + m), grow(lt_all, k + m), grow(ly_all, k + m)
        li_all[k:k + m] = out[13]
        lt_all[k:k + m] = out[14]
        ly_all[k:k + m] = out[15]
        log_offsets[b - lo + 1] = k + m
        if keep:
            k, m = offsets[b - lo], out[2].shape[0]
            if k + m > ts_all.shape[0]:  # (room for all rows at the mean length so far)
                need = max(k + m, (k + m) * (hi - lo) * 5 // (4 * (b - lo + 1)))
                ts_all, hs_all, ys_all = grow(ts_all, need), grow(hs_all, need), grow(ys_all, need)
            ts_all[k:k + m] = out[2]
            hs_all[k:k + m - 1] = out[3]
            ys_all[k:k + m] = out[4]
            offsets[b - lo + 1] = k + m
    return log_offsets, li_all, lt_all, ly_all, offsets, ts_all, hs_all, ys_all


def backward_batch(lo, hi, kept, n_steps, ev, theta, clipped, t_r, g_c, slope, p, cst, gt, gy,
                   y0_bar, t0_bar, t_end_bar, pbar_rows):
    """Cotangents of rows ``lo:hi``'s ``(y0, t0, t_end)`` and parameters (written to row ``b`` of
    the outputs and of ``pbar_rows``) from those of their ``(t_final, y_final)``, by the adjoint
    of the trajectories ``kept`` by :func:`integrate_batch`."""
    offsets, ts_all, hs_all, ys_all = kept[4], kept[5], kept[6], kept[7]
    d = ys_all.shape[1]
    most = np.max(offsets[1:] - offsets[:-1]) if hi > lo else 0
    g_ts, g_ys = np.zeros(most), np.zeros((most, d))  # (no cotangents for the saved steps)
    for b in range(lo, hi):
        pb = p_row(p, b)
        k = offsets[b - lo]
        n, e = n_steps[b], ev[b]
        jump = e >= 0 and theta[b] == 0.0 and NEEDS_START[e]
        m = n if jump else n + 1  # (an event at a step's start is saved once)
        yb, tb, teb, pbar = backward(ts_all[k:k + m], hs_all[k:k + n], ys_all[k:k + m], n, e,
                                     jump, clipped[b], t_r[b], g_c[b], slope[b], pb, cst, gt[b],
                                     gy[b], g_ts[:m], g_ys[:m])
        y0_bar[b] = yb
        t0_bar[b] = tb
        t_end_bar[b] = teb
        pbar_store(pbar_rows, b, pbar)
    return 0
