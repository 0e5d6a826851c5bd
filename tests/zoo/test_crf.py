"""The CRF against brute-force enumeration of every tag path on tiny cases."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from zoo.layers.crf import CRF, crf_log_likelihood, crf_log_norm, crf_marginals, crf_sequence_score, viterbi_decode

K, T = 3, 4


@pytest.fixture
def params():
    rng = np.random.default_rng(7)
    return (rng.normal(size=(2, T, K)).astype("float32"),   # emissions for 2 sentences
            rng.normal(size=(K, K)).astype("float32"),      # transitions
            rng.normal(size=K).astype("float32"),           # start
            rng.normal(size=K).astype("float32"))           # end


def path_score(e, path, trans, start, end):
    """score = start[y0] + sum_t e[t, y_t] + sum_t trans[y_{t-1}, y_t] + end[y_last]"""
    s = start[path[0]] + end[path[-1]] + sum(e[t, y] for t, y in enumerate(path))
    return s + sum(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def brute_force(e, length, trans, start, end):
    paths = list(itertools.product(range(K), repeat=length))
    scores = np.array([path_score(e[:length], p, trans, start, end) for p in paths])
    marginals = np.zeros((length, K))
    for p, s in zip(paths, scores):
        for t, y in enumerate(p):
            marginals[t, y] += np.exp(s - logsumexp(scores))
    return logsumexp(scores), paths[int(np.argmax(scores))], scores.max(), marginals


@pytest.mark.parametrize("lengths", [[4, 4], [4, 2], [1, 3]])
def test_log_norm_viterbi_and_marginals_match_enumeration(params, lengths):
    emissions, trans, start, end = params
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    log_z = np.asarray(crf_log_norm(emissions, mask, trans, start, end))
    path, best = viterbi_decode(emissions, mask, trans, start, end)
    marginals = np.asarray(crf_marginals(emissions, mask, trans, start, end))
    for i, length in enumerate(lengths):
        z, best_path, best_score, marg = brute_force(emissions[i], length, trans, start, end)
        assert log_z[i] == pytest.approx(z, abs=1e-4)
        assert tuple(np.asarray(path)[i, :length]) == best_path
        assert float(np.asarray(best)[i]) == pytest.approx(best_score, abs=1e-4)
        np.testing.assert_allclose(marginals[i, :length], marg, atol=1e-5)


def test_sequence_score_and_likelihood(params):
    emissions, trans, start, end = params
    tags = np.array([[0, 2, 1, 1], [2, 0, -1, -1]])
    mask = tags >= 0
    scores = np.asarray(crf_sequence_score(emissions, tags, mask, trans, start, end))
    assert scores[0] == pytest.approx(path_score(emissions[0], [0, 2, 1, 1], trans, start, end), abs=1e-5)
    assert scores[1] == pytest.approx(path_score(emissions[1], [2, 0], trans, start, end), abs=1e-5)
    ll = np.asarray(crf_log_likelihood(emissions, tags, mask, trans, start, end))
    assert ll[1] == pytest.approx(scores[1] - brute_force(emissions[1], 2, trans, start, end)[0], abs=1e-4)


def test_padding_does_not_change_results(params):
    emissions, trans, start, end = params
    tags = np.array([[0, 2, 1, -1]])
    short = [emissions[:1, :3], tags[:, :3]]
    padded = [np.concatenate([emissions[:1], np.full((1, 6, K), 9.0, "float32")], axis=1),
              np.concatenate([tags, np.full((1, 6), -1)], axis=1)]
    results = []
    for e, y in (short, padded):
        mask = y >= 0
        results.append((float(np.asarray(crf_log_likelihood(e, y, mask, trans, start, end))[0]),
                        np.asarray(viterbi_decode(e, mask, trans, start, end)[0])[0, :3].tolist()))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-5)
    assert results[0][1] == results[1][1]


def test_layer_trains_serializes_and_checks_its_input():
    import keras

    crf = CRF(3, name="crf")
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, crf(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=crf.loss)
    x = np.random.default_rng(0).normal(size=(4, 5, 3)).astype("float32")
    y = np.tile(np.array([[0, 1, 2, 2, -1]]), (4, 1))
    losses = [model.train_on_batch(x, y) for _ in range(30)]
    assert losses[-1] < losses[0]
    assert np.asarray(crf.decode(x, y >= 0))[0, :4].tolist() == [0, 1, 2, 2]
    assert CRF.from_config(crf.get_config()).num_tags == 3
    with pytest.raises(ValueError, match="num_tags=0"):
        CRF(0)
    with pytest.raises(ValueError, match="3 emission scores"):
        CRF(3)(keras.Input((None, 4)))
