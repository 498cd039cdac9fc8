#!/usr/bin/env python3
"""Experiment: how real Keras 3 and tf_keras compute an LSTM under a mask (issue 8, Spec/canonical-model.md M17-M22).

Each case builds a small model in Keras 3 and in tf_keras with random weights, runs it on padded inputs, and
compares Keras's predictions with a plain numpy LSTM that implements one candidate rule. A rule is accepted
when Keras agrees to 1e-6. The candidate rules:

  state   at a masked step h and C are carried over unchanged (the step's input is ignored)
  carry   a masked step's output (return_sequences) is the carried h
  zero    a masked step's output is 0 (Keras's zero_output_for_mask, which Bidirectional forces to its
          return_sequences)
  last    many-to-one returns the output of the last computed step under the same rule
  reverse go_backwards reverses the mask with the inputs; Bidirectional's backward outputs are re-aligned
  next    an LSTM with return_sequences passes the mask to the next LSTM (which also carries over)
  head    Dense / TimeDistributed(Dense) act on every step's output, masked steps included

Run: ~/.cache/lstm-format/venv/bin/python scripts/keras_masking_semantics.py   (prints one line per case; exit 1
if any case disagrees with every rule offered)
"""
import os
import sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import numpy as np
import keras
import tf_keras

rng = np.random.default_rng(8)


def sig(x):
    return 1 / (1 + np.exp(-x))


def lstm_np(x, mask, kernel, rec, bias, go_backwards, out_rule):
    """x [B, T, I], mask [B, T] bool; Keras weight layout (gates i, f, c, o). Returns outputs in computation order
    [B, T, H] and the last output."""
    B, T, _ = x.shape
    H = rec.shape[0]
    h = np.zeros((B, H)); c = np.zeros((B, H)); prev_out = np.zeros((B, H))
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    outs = []
    for t in order:
        z = x[:, t] @ kernel + h @ rec + bias
        i, f, cc, o = sig(z[:, :H]), sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sig(z[:, 3 * H:])
        c_new = f * c + i * cc
        h_new = o * np.tanh(c_new)
        m = mask[:, t:t + 1]
        h = np.where(m, h_new, h); c = np.where(m, c_new, c)          # rule "state"
        out = np.where(m, h_new, 0.0 if out_rule == "zero" else prev_out)
        prev_out = out
        outs.append(out)
    return np.stack(outs, 1), outs[-1]


def weights(I, H):
    return rng.normal(0, .7, (I, 4 * H)), rng.normal(0, .7, (H, 4 * H)), rng.normal(0, .4, (4 * H,))


def padded_ids(vocab):
    x = rng.integers(1, vocab, (4, 6)).astype("int32")
    x[0, :2] = 0          # leading
    x[1, 4:] = 0          # trailing
    x[2, 2:4] = 0         # middle
    x[3, :] = 0           # whole row
    return x


def padded_floats(I, value=0.0):
    x = rng.normal(0, 1, (4, 6, I)).astype("float32")
    x[0, :2] = value; x[1, 4:] = value; x[2, 2:4] = value; x[3, :] = value
    x[2, 0, 0] = value    # one feature equal to the mask value does not mask the step
    return x


results = []


def check(name, keras_y, candidates):
    """candidates: {rule name: numpy prediction}. Records which rules Keras matches."""
    ok = [r for r, y in candidates.items() if np.max(np.abs(np.asarray(keras_y) - y)) < 1e-6]
    results.append((name, ok, sorted(candidates)))
    print(f"{name:58s} matches: {', '.join(ok) if ok else 'NONE of ' + ', '.join(sorted(candidates))}")


def run(K, tag):
    L = K.layers
    V, D, H = 7, 3, 4
    x = padded_ids(V)
    mask = x != 0
    E = rng.normal(0, 1, (V, D))
    emb = E[x]

    # 1. Embedding(mask_zero) -> LSTM(return_sequences) -> Dense, with the LSTM's default zero_output_for_mask.
    for go_back in (False, True):
        for seq in (True, False):
            k, r, b = weights(D, H)
            Wd, bd = rng.normal(0, 1, (H, 2)), rng.normal(0, 1, (2,))
            m = K.Sequential([L.Input((6,), dtype="int32"), L.Embedding(V, D, mask_zero=True),
                              L.LSTM(H, return_sequences=seq, go_backwards=go_back), L.Dense(2)])
            m.layers[0].set_weights([E]); m.layers[1].set_weights([k, r, b]); m.layers[2].set_weights([Wd, bd])
            y = m.predict(x, verbose=0)
            cands = {}
            for rule in ("carry", "zero"):
                seqs, last = lstm_np(emb, mask, k, r, b, go_back, rule)
                cands[rule] = (seqs if seq else last) @ Wd + bd
            cands["no mask"] = (lstm_np(emb, np.ones_like(mask), k, r, b, go_back, "carry")[0 if seq else 1]) @ Wd + bd
            check(f"{tag} Embedding(mask_zero)->LSTM(seq={seq}, go_backwards={go_back})->Dense", y, cands)

    # 2. Explicit zero_output_for_mask=True on a plain LSTM (Keras 3 serializes the flag; tf_keras takes it as kwarg).
    k, r, b = weights(D, H)
    m = K.Sequential([L.Input((6,), dtype="int32"), L.Embedding(V, D, mask_zero=True),
                      L.LSTM(H, return_sequences=True, zero_output_for_mask=True)])
    m.layers[0].set_weights([E]); m.layers[1].set_weights([k, r, b])
    y = m.predict(x, verbose=0)
    check(f"{tag} LSTM(seq, zero_output_for_mask=True)", y,
          {rule: lstm_np(emb, mask, k, r, b, False, rule)[0] for rule in ("carry", "zero")})
    cfg = m.layers[1].get_config()
    print(f"{tag} LSTM config zero_output_for_mask: {cfg.get('zero_output_for_mask', '(absent)')}")

    # 3. Bidirectional: backward outputs re-aligned to input time; which output rule for each return_sequences?
    for seq in (True, False):
        kf, rf, bf = weights(D, H); kb, rb, bb = weights(D, H)
        m = K.Sequential([L.Input((6,), dtype="int32"), L.Embedding(V, D, mask_zero=True),
                          L.Bidirectional(L.LSTM(H, return_sequences=seq))])
        m.layers[0].set_weights([E]); m.layers[1].set_weights([kf, rf, bf, kb, rb, bb])
        y = m.predict(x, verbose=0)
        cands = {}
        for rule in ("carry", "zero"):
            fs, fl = lstm_np(emb, mask, kf, rf, bf, False, rule)
            bs, bl = lstm_np(emb, mask, kb, rb, bb, True, rule)
            cands[rule] = np.concatenate([fs, bs[:, ::-1]], -1) if seq else np.concatenate([fl, bl], -1)
        check(f"{tag} Bidirectional(LSTM(seq={seq})) concat", y, cands)
        print(f"{tag}   forward_layer.zero_output_for_mask = {m.layers[1].forward_layer.zero_output_for_mask}")

    # 4. Masking on floats -> stacked LSTMs -> TimeDistributed(Dense): the mask reaches the second LSTM.
    F = 3
    xf = padded_floats(F)
    fmask = np.any(xf != 0.0, axis=-1)
    k1, r1, b1 = weights(F, H); k2, r2, b2 = weights(H, H)
    Wd, bd = rng.normal(0, 1, (H, 2)), rng.normal(0, 1, (2,))
    m = K.Sequential([L.Input((6, F)), L.Masking(0.0), L.LSTM(H, return_sequences=True),
                      L.LSTM(H, return_sequences=True), L.TimeDistributed(L.Dense(2))])
    m.layers[1].set_weights([k1, r1, b1]); m.layers[2].set_weights([k2, r2, b2]); m.layers[3].set_weights([Wd, bd])
    y = m.predict(xf, verbose=0)
    s1, _ = lstm_np(xf.astype(float), fmask, k1, r1, b1, False, "carry")
    cands = {"mask passed on": lstm_np(s1, fmask, k2, r2, b2, False, "carry")[0] @ Wd + bd,
             "mask not passed": lstm_np(s1, np.ones_like(fmask), k2, r2, b2, False, "carry")[0] @ Wd + bd}
    check(f"{tag} Masking(0)->LSTM(seq)->LSTM(seq)->TimeDistributed(Dense)", y, cands)
    print(f"{tag}   mask of row 2 (feature 0 of step 0 equals the value): {fmask[2].astype(int).tolist()}")

    # 4b. go_backwards(seq) -> LSTM: Keras passes the mask on unchanged (not reversed with the outputs)?
    m = K.Sequential([L.Input((6, F)), L.Masking(0.0), L.LSTM(H, return_sequences=True, go_backwards=True),
                      L.LSTM(H, return_sequences=True)])
    m.layers[1].set_weights([k1, r1, b1]); m.layers[2].set_weights([k2, r2, b2])
    y = m.predict(xf, verbose=0)
    s1, _ = lstm_np(xf.astype(float), fmask, k1, r1, b1, True, "carry")  # computation order
    check(f"{tag} Masking->LSTM(go_backwards, seq)->LSTM(seq)", y,
          {"same mask, by step": lstm_np(s1, fmask, k2, r2, b2, False, "carry")[0],
           "reversed mask": lstm_np(s1, fmask[:, ::-1], k2, r2, b2, False, "carry")[0]})

    # 4c. Explicit zero_output_for_mask with many-to-one and a masked last step.
    m = K.Sequential([L.Input((6, F)), L.Masking(0.0), L.LSTM(H, zero_output_for_mask=True)])
    m.layers[1].set_weights([k1, r1, b1])
    y = m.predict(xf, verbose=0)
    check(f"{tag} LSTM(many-to-one, zero_output_for_mask=True)", y,
          {rule: lstm_np(xf.astype(float), fmask, k1, r1, b1, False, rule)[1] for rule in ("carry", "zero")})

    # 5. Masking with a non-zero mask_value, many-to-one, last steps masked.
    xv = padded_floats(F, value=-1.5)
    vmask = np.any(xv != -1.5, axis=-1)
    m = K.Sequential([L.Input((6, F)), L.Masking(-1.5), L.LSTM(H)])
    m.layers[1].set_weights([k1, r1, b1])
    y = m.predict(xv, verbose=0)
    # Keras's Masking also multiplies masked steps by 0; the LSTM ignores them either way.
    check(f"{tag} Masking(-1.5)->LSTM many-to-one", y,
          {"carry": lstm_np(xv.astype(float), vmask, k1, r1, b1, False, "carry")[1],
           "no mask": lstm_np(xv.astype(float), np.ones_like(vmask), k1, r1, b1, False, "carry")[1]})


run(keras, f"keras {keras.__version__}")
run(tf_keras, f"tf_keras {tf_keras.__version__}")
failed = [n for n, ok, _ in results if not ok]
sys.exit(1 if failed else 0)
