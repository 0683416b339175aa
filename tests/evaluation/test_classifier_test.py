from __future__ import annotations

import awkward as ak
import pytest

from hypervae.evaluation import ClassifierTestResult, classifier_two_sample_test
from hypervae.taggers import TaggerData, toy_jets

TINY = {"dims": (16,), "depths": (1,), "num_heads": (2,), "patch_size": 8}
TRAINING = {"epochs": 10, "batch_size": 32, "lr": 2e-2}


def test_different_samples_are_separated():
    real, fake = toy_jets(250, 1, seed=0), toy_jets(250, 3, seed=1)
    result = classifier_two_sample_test(real, fake, "phat", TRAINING, seed=0, **TINY)
    assert isinstance(result, ClassifierTestResult)
    assert result.n_test == 150
    assert result.n_train == 300
    assert result.auc > 0.95
    assert result.low > 0.85
    assert result.low <= result.auc <= result.high
    assert "classifier AUC" in str(result)
    assert set(result.to_dict()) == {"auc", "low", "high", "level", "n_train", "n_test"}


@pytest.mark.slow  # over 10 s on 2 cores
def test_identical_distributions_give_auc_near_half():
    real = TaggerData.from_jets(toy_jets(250, 1, seed=3))
    fake = toy_jets(250, 1, seed=4)
    result = classifier_two_sample_test(real, fake, "phat", TRAINING, seed=0, **TINY)
    assert abs(result.auc - 0.5) < 0.15
    assert result.high - result.low < 0.3


def test_bad_inputs():
    jets = toy_jets(10, 1, seed=0)
    with pytest.raises(TypeError, match="expected an awkward Array of jets or TaggerData"):
        classifier_two_sample_test(jets, [1, 2, 3])
    with pytest.raises(ValueError, match="must leave training data"):
        classifier_two_sample_test(jets, ak.copy(jets), test_fraction=0.95)
