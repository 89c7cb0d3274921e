"""The failure-mode catalogue: declarative scenarios from the five field write-ups.

Each :class:`Scenario` is data + model + loss + optimizer + epochs, the
write-up it comes from, what that write-up claims, and the measurable
``checks`` its symptom (or, for a fixed variant, its recovery) must pass in
both frameworks. The literal variants reproduce the write-ups' code (seeded);
the learnable variants use ``make_classification`` data so that a fix can be
shown to work. Scenarios that pair up share a ``group``.

Example:
    >>> from scenarios.catalogue import SCENARIOS, get
    >>> len(SCENARIOS) >= 20
    True
    >>> get("imbalance_90_5_5").group
    'imbalance_3class'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from scenarios.data import Data, fixed_counts, learnable, literal, one_hot

__all__ = ["Scenario", "SCENARIOS", "get", "names"]

SEEDS = {
    "000": "Why does Keras categorical crossentropy get stuck when all data points are assigned to one category?",
    "001": "Do vanishing gradients occur in Keras' categorical_crossentropy loss when probabilities "
           "for the correct class are very low?",
    "002": "Sigmoid + binary crossentropy with labels 0..3 predicts all 1",
    "003": "Model predicts one label on 900/100 data",
    "004": "Why is the multiclass classification training loss constant?",
}


def _dense(*units_acts) -> list[dict]:
    return [{"type": "dense", "units": u, "activation": a} for u, a in units_acts]


@dataclass
class Scenario:
    name: str
    title: str
    group: str
    source: str  # seed write-up id
    kind: str  # "symptom" | "fix" | "healthy"
    data: Callable[[], Data]
    model: dict
    loss: tuple  # (name, config)
    optimizer: tuple = ("adam", {})
    epochs: int = 10
    batch_size: int = 32
    class_weight: Optional[object] = None  # dict, or "balanced"
    labels: str = "index"  # "index" | "one_hot" | "raw" (as the data gives them)
    shuffle: bool = True
    seed: int = 0
    claim: str = ""  # what the write-up says
    finding: str = ""  # what we measure (filled with numbers in the report)
    checks: list = field(default_factory=list)
    expect_error: Optional[str] = None  # both raise ValueError; torch_impl's message contains this
    init: Optional[Callable[[list], list]] = None  # adjusts the Keras-layout initial weights
    # Why float32 trajectories of this scenario are chaotic (each framework's float32 run departs from
    # float64 by more than the frameworks differ from each other); float32 parity then asserts the loss
    # only, and float64 parity stays exact.
    float32_chaotic: str = ""
    float32_parity_epochs: int = 0  # chaotic float32: compare the losses of the first epochs only (0: the last)
    # The training doctor's findings this symptom must get (scenarios.doctor ids); fixes and healthy
    # scenarios must get none (no warning or error).
    expected_findings: tuple = ()

    def targets(self, y: np.ndarray) -> np.ndarray:
        n_classes = int(self.model["layers"][-1]["units"])
        if self.labels == "one_hot":
            return one_hot(y, n_classes)
        if self.labels == "zeros":  # target rows of all zeros
            return np.zeros((len(y), n_classes))
        return y

    def resolved_class_weight(self, y: np.ndarray) -> Optional[dict]:
        if self.class_weight == "balanced":
            from sklearn.utils.class_weight import compute_class_weight

            classes = np.unique(y)
            return {int(c): float(w) for c, w in zip(classes, compute_class_weight("balanced", classes=classes, y=y))}
        return self.class_weight


# ---------------------------------------------------------------------------------------------
SCENARIOS: list[Scenario] = []


def _add(**kw) -> None:
    SCENARIOS.append(Scenario(**kw))


M_000 = {"input_dim": 10, "layers": _dense((10, "relu"), (3, "softmax"))}

# --- 000: "stuck when all data points are assigned to one category" -------------------------------
_add(name="zero_target_rows", title="Target rows of all zeros (the write-up's 'all data in class 0')",
     group="one_category", source="000", kind="symptom",
     data=lambda: literal(100, 10, np.zeros(100, np.int64), seed=0),
     model=M_000, loss=("categorical_crossentropy", {}), labels="zeros",
     claim="All data in class 0 makes the loss 'remain high and stagnant' with zero or undefined gradients.",
     checks=[("loss_exactly", 0.0), ("min_grad_norm_above", 0.1)])
_add(name="single_class", title="All labels in one class (what 'all data in class 0' should mean)",
     group="one_category", source="000", kind="symptom",
     data=lambda: literal(100, 10, np.zeros(100, np.int64), seed=0),
     model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot", epochs=30,
     checks=[("loss_decreases", 0.5), ("single_class_predicted", "train")])
_add(name="imbalance_90_5_5", title="3 classes 90/5/5, random features", group="imbalance_3class", source="000",
     kind="symptom", data=lambda: literal(1000, 10, fixed_counts([900, 50, 50]), seed=1),
     model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot",
     checks=[("single_class_predicted", "train")])
_add(name="imbalance_90_5_5_class_weight", title="3 classes 90/5/5 with class_weight {0:1, 1:10, 2:10}",
     group="imbalance_3class", source="000", kind="fix", data=lambda: literal(1000, 10, fixed_counts([900, 50, 50]), seed=1),
     model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot", class_weight={0: 1.0, 1: 10.0, 2: 10.0},
     claim="Class weights 1/10/10 make the model attend to the minority classes.",
     checks=[("classes_predicted_at_least", 2, "train")])
_add(name="imbalance_90_5_5_learnable", title="90/5/5, learnable data", group="imbalance_3class_learnable",
     source="000", kind="symptom",
     data=lambda: learnable(1000, 3, weights=(0.9, 0.05, 0.05), seed=2, class_sep=0.8),
     model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot", epochs=15,
     checks=[("min_minority_recall_at_most", 0.3)])
_add(name="imbalance_90_5_5_learnable_class_weight", title="90/5/5, learnable data, class_weight {0:1, 1:10, 2:10}",
     group="imbalance_3class_learnable", source="000", kind="fix",
     data=lambda: learnable(1000, 3, weights=(0.9, 0.05, 0.05), seed=2, class_sep=0.8),
     model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot", epochs=15,
     class_weight={0: 1.0, 1: 10.0, 2: 10.0}, checks=[("min_minority_recall_at_least", 0.5)])

# --- 001: vanishing gradients -----------------------------------------------------------------------
M_SIG = {"input_dim": 4, "layers": _dense((128, "sigmoid"), (64, "sigmoid"), (10, "softmax"))}
M_BN = {"input_dim": 4, "layers": [{"type": "dense", "units": 128, "activation": "relu"}, {"type": "batchnorm"},
                                    {"type": "dense", "units": 64, "activation": "relu"}, {"type": "batchnorm"},
                                    {"type": "dense", "units": 10, "activation": "softmax"}]}
_add(name="deep_sigmoid", title="Deep sigmoid net 128-64-10, random labels", group="vanishing", source="001",
     kind="symptom", data=lambda: literal(1000, 4, np.random.default_rng(3).integers(0, 10, 1000), seed=3),
     model=M_SIG, loss=("categorical_crossentropy", {}), labels="one_hot",
     claim="Sigmoid saturation shrinks the gradient reaching the first layers; low loss reduction indicates "
           "vanishing gradients.",
     checks=[("grad_ratio_below", 0.05), ("loss_constant_fraction", 0.01)])
_add(name="relu_batchnorm", title="ReLU + BatchNormalization 128-64-10, random labels", group="vanishing",
     source="001", kind="fix", data=lambda: literal(1000, 4, np.random.default_rng(3).integers(0, 10, 1000), seed=3),
     model=M_BN, loss=("categorical_crossentropy", {}), labels="one_hot",
     float32_chaotic="fitting random labels with batch statistics: Keras's float32 loss is 1e-4 from its own "
                     "float64 loss from the first epoch (5e-4 after 10) and near-tied outputs flip classes; "
                     "float32 parity compares the first 3 epochs, float64 runs agree to 1e-14 in all 10",
     float32_parity_epochs=3,
     checks=[("grad_ratio_above", 0.1)])
_add(name="deep_sigmoid_learnable", title="Deep sigmoid net on learnable 10-class data", group="vanishing_learnable",
     source="001", kind="symptom",
     data=lambda: learnable(1000, 10, seed=4, n_features=4, n_informative=4, class_sep=2.0),
     model=M_SIG, loss=("categorical_crossentropy", {}), labels="one_hot",
     checks=[("grad_ratio_below", 0.2)])
_add(name="relu_batchnorm_learnable", title="ReLU + BatchNormalization on learnable 10-class data",
     group="vanishing_learnable", source="001", kind="fix",
     data=lambda: learnable(1000, 10, seed=4, n_features=4, n_informative=4, class_sep=2.0),
     model=M_BN, loss=("categorical_crossentropy", {}), labels="one_hot",
     checks=[("grad_ratio_above", 1.0), ("test_accuracy_above_other", "deep_sigmoid_learnable")])

# --- 002: sigmoid + BCE with labels 0..3 ------------------------------------------------------------
M_002 = {"input_dim": 100, "layers": _dense((10, "relu"), (1, "sigmoid"))}
_y4 = np.random.default_rng(5).integers(0, 4, 100)
_add(name="bce_labels_0_3_literal", title="Sigmoid + binary crossentropy fed labels 0..3, the write-up's 10 steps",
     group="bce_labels", source="002", kind="symptom", data=lambda: literal(100, 100, _y4, seed=5, features="normal"),
     model=M_002, loss=("binary_crossentropy", {}), labels="raw", batch_size=100, shuffle=False,
     claim="Labels 0..3 drive the sigmoid towards 1 for every input.",
     checks=[("loss_decreases", 0.1)])
_add(name="bce_labels_0_3", title="Sigmoid + binary crossentropy fed labels 0..3, trained to the end", group="bce_labels",
     source="002", kind="symptom", data=lambda: literal(100, 100, _y4, seed=5, features="normal"),
     model=M_002, loss=("binary_crossentropy", {}), labels="raw", batch_size=100, shuffle=False, epochs=60,
     optimizer=("adam", {"learning_rate": 0.01}),
     checks=[("mean_prediction_above", 0.7), ("positive_rate_at_least", (1, 2, 3), 0.99),
             ("positive_rate_at_most", (0,), 0.5), ("final_loss_below_probability_floor",),
             ("final_drop_at_least", 0.5)])
_add(name="bce_binary_labels", title="Sigmoid + binary crossentropy, labels 0/1", group="bce_labels", source="002",
     kind="fix", data=lambda: literal(100, 100, np.random.default_rng(6).integers(0, 2, 100), seed=5, features="normal"),
     model=M_002, loss=("binary_crossentropy", {}), labels="raw", batch_size=100, shuffle=False, epochs=60,
     optimizer=("adam", {"learning_rate": 0.01}), checks=[("mean_prediction_between", 0.3, 0.7), ("final_loss_above", 0.0)])
_add(name="softmax_cce_3class", title="Softmax + categorical crossentropy, one-hot labels (3 classes)",
     group="bce_labels", source="002", kind="fix",
     data=lambda: literal(100, 100, np.random.default_rng(7).integers(0, 3, 100), seed=5, features="normal"),
     model={"input_dim": 100, "layers": _dense((10, "relu"), (3, "softmax"))},
     loss=("categorical_crossentropy", {}), labels="one_hot", batch_size=100, shuffle=False, epochs=60,
     optimizer=("adam", {"learning_rate": 0.01}), checks=[("classes_predicted_at_least", 3, "train")])

# --- 003: 900/100 binary imbalance -------------------------------------------------------------------
M_003 = {"input_dim": 10, "layers": _dense((16, "relu"), (2, "softmax"))}


def _d003():
    return literal(1000, 10, fixed_counts([900, 100]), seed=42, test_fraction=0.2)


def _d003_learnable():
    return learnable(1500, 2, weights=(0.9, 0.1), seed=8, class_sep=0.7, flip_y=0.02)


_add(name="binary_900_100", title="900/100, random features: predicts one label", group="imbalance_binary",
     source="003", kind="symptom", data=_d003, model=M_003, loss=("categorical_crossentropy", {}),
     labels="one_hot", checks=[("single_class_predicted", "test")])
_add(name="binary_900_100_balanced", title="900/100 with 'balanced' class weights", group="imbalance_binary",
     source="003", kind="fix", data=_d003, model=M_003, loss=("categorical_crossentropy", {}), labels="one_hot",
     class_weight="balanced",
     claim="'balanced' class weights make the model predict both labels: it has learned to distinguish them "
           "to some degree.",
     checks=[("classes_predicted_at_least", 2, "test"), ("test_balanced_accuracy_below", 0.6)])
_add(name="binary_900_100_keras_focal", title="900/100 with Keras CategoricalFocalCrossentropy(alpha=[0.1, 0.9])",
     group="imbalance_binary", source="003", kind="fix", data=_d003, model=M_003,
     loss=("categorical_focal_crossentropy", {"alpha": [0.1, 0.9], "gamma": 2.0}), labels="one_hot",
     checks=[("classes_predicted_at_least", 2, "test"), ("test_balanced_accuracy_below", 0.6)])
_add(name="binary_900_100_community_focal", title="900/100 with the community focal_loss(gamma=2, alpha=.25)",
     group="imbalance_binary", source="003", kind="symptom", data=_d003, model=M_003,
     loss=("focal_loss", {"gamma": 2.0, "alpha": 0.25}), labels="one_hot",
     claim="The focal loss makes the model predict a more diverse set of labels.",
     checks=[("single_class_predicted", "test")])
_add(name="binary_900_100_learnable", title="900/100, learnable data", group="imbalance_binary_learnable",
     source="003", kind="symptom", data=_d003_learnable, model=M_003, loss=("categorical_crossentropy", {}),
     labels="one_hot", checks=[("recall_at_most", 1, 0.5)])
_add(name="binary_900_100_learnable_balanced", title="900/100, learnable data, 'balanced' class weights",
     group="imbalance_binary_learnable", source="003", kind="fix", data=_d003_learnable, model=M_003,
     loss=("categorical_crossentropy", {}), labels="one_hot", class_weight="balanced",
     checks=[("recall_at_least", 1, 0.6)])

# Healthy controls: the write-ups' binary models on learnable, balanced data with the right labels. The
# doctor must stay silent on them.
_add(name="binary_balanced_learnable", title="50/50 learnable data, the 16-unit softmax model (healthy control)",
     group="imbalance_binary_learnable", source="003", kind="healthy",
     data=lambda: learnable(1500, 2, seed=8, class_sep=0.7, flip_y=0.02), model=M_003,
     loss=("categorical_crossentropy", {}), labels="one_hot",
     checks=[("loss_decreases", 0.2), ("test_accuracy_above", 0.8), ("test_balanced_accuracy_above", 0.8)])
_add(name="bce_sigmoid_learnable", title="Sigmoid + binary crossentropy, labels 0/1, learnable data (healthy control)",
     group="bce_labels", source="002", kind="healthy",
     data=lambda: learnable(600, 2, seed=14, n_features=100, n_informative=10, class_sep=1.5), model=M_002,
     loss=("binary_crossentropy", {}), labels="raw", epochs=20,
     checks=[("loss_decreases", 0.2), ("test_accuracy_above", 0.8), ("mean_prediction_between", 0.3, 0.7)])

# --- 004: constant multiclass loss ------------------------------------------------------------------


def _xor_data(n=800, seed=12) -> Data:
    """Two informative features, label = XOR of their signs, eight noise features; held-out test set."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 10))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    cut = int(n * 0.7)
    return Data(x[:cut], y[:cut], x[cut:], y[cut:])


def _d004(n_features=10, seed=9):
    return literal(100, n_features, np.random.default_rng(seed).integers(0, 3, 100), seed=seed)


def _d004_learnable() -> Data:
    return learnable(600, 3, seed=9, class_sep=1.0)


_add(name="int_labels_with_cce", title="Integer labels given to categorical crossentropy",
     group="label_encoding", source="004", kind="symptom", data=_d004_learnable, model=M_000,
     loss=("categorical_crossentropy", {}), labels="index", expect_error="SparseCategoricalCrossentropy")
_add(name="one_hot_with_scce", title="One-hot labels given to sparse categorical crossentropy",
     group="label_encoding", source="004", kind="symptom", data=_d004_learnable, model=M_000,
     loss=("sparse_categorical_crossentropy", {}), labels="one_hot", expect_error="CategoricalCrossentropy")
_add(name="int_labels_with_scce", title="Integer labels with sparse categorical crossentropy (the write-up's "
     "'incorrect' example, which is correct)", group="label_encoding", source="004", kind="healthy",
     data=_d004_learnable, model=M_000, loss=("sparse_categorical_crossentropy", {}), labels="index",
     claim="Integer labels with sparse_categorical_crossentropy leave the loss constant.",
     checks=[("loss_decreases", 0.2), ("test_accuracy_above", 0.6)])
_add(name="one_hot_with_cce", title="One-hot labels with categorical crossentropy", group="label_encoding",
     source="004", kind="healthy", data=_d004_learnable, model=M_000, loss=("categorical_crossentropy", {}),
     labels="one_hot", checks=[("loss_decreases", 0.2), ("test_accuracy_above", 0.6)])
# The write-up's own Examples 1 and 3: one softmax layer on 100 uniform random samples with random labels,
# 5 epochs of batch 32 (20 Adam steps). Its "incorrect" and "corrected" label encodings are the same training.
M_004 = {"input_dim": 10, "layers": _dense((3, "softmax"))}
_add(name="int_labels_with_scce_literal", title="The write-up's 'incorrect' integer labels + sparse categorical "
     "crossentropy: a softmax layer on random data, 5 epochs", group="label_encoding_literal", source="004",
     kind="symptom", data=lambda: _d004(10, 9), model=M_004, loss=("sparse_categorical_crossentropy", {}),
     labels="index", epochs=5,
     claim="Integer labels with sparse_categorical_crossentropy leave the loss close to random for each epoch; "
           "one-hot labels with categorical_crossentropy give a decreasing training loss.",
     checks=[("loss_constant_fraction", 0.05), ("loss_curve_matches_other", "one_hot_with_cce_literal", 1e-6)])
_add(name="one_hot_with_cce_literal", title="The write-up's 'corrected' one-hot labels + categorical crossentropy "
     "(also its learning rate 0.001 example): the same random data, 5 epochs", group="label_encoding_literal",
     source="004", kind="symptom", data=lambda: _d004(10, 9), model=M_004, loss=("categorical_crossentropy", {}),
     labels="one_hot", epochs=5, checks=[("loss_constant_fraction", 0.05)])
_add(name="adam_lr_1_literal", title="The write-up's Adam(learning_rate=1.0) on a softmax layer, random data, 5 epochs",
     group="label_encoding_literal", source="004", kind="symptom", data=lambda: _d004(10, 9), model=M_004,
     loss=("categorical_crossentropy", {}), labels="one_hot", epochs=5, optimizer=("adam", {"learning_rate": 1.0}),
     claim="A learning rate of 1.0 leaves the loss constant.",
     checks=[("loss_constant_fraction_above", 0.3), ("final_loss_above", float(np.log(3))),
             ("final_loss_above_other", "one_hot_with_cce_literal")])
_add(name="capacity_linear_100", title="A softmax layer straight on 100 features (random labels)",
     group="capacity", source="004", kind="symptom", data=lambda: _d004(100, 10),
     model={"input_dim": 100, "layers": _dense((3, "softmax"))}, loss=("categorical_crossentropy", {}),
     labels="one_hot", epochs=5, checks=[("final_loss_above_other", "capacity_hidden_64")])
_add(name="capacity_hidden_64", title="One hidden layer of 64 on 100 features (random labels)", group="capacity",
     source="004", kind="fix", data=lambda: _d004(100, 10),
     model={"input_dim": 100, "layers": _dense((64, "relu"), (3, "softmax"))},
     loss=("categorical_crossentropy", {}), labels="one_hot", epochs=5, checks=[("loss_decreases", 0.05)])


_add(name="capacity_linear_learnable", title="Softmax layer only, data with an XOR-like class boundary",
     group="capacity_learnable", source="004", kind="symptom", data=lambda: _xor_data(),
     model={"input_dim": 10, "layers": _dense((2, "softmax"))}, loss=("categorical_crossentropy", {}),
     labels="one_hot", epochs=30, optimizer=("adam", {"learning_rate": 0.01}),
     checks=[("test_accuracy_below", 0.7)])
_add(name="capacity_hidden_learnable", title="One hidden layer of 64, data with an XOR-like class boundary",
     group="capacity_learnable", source="004", kind="fix", data=lambda: _xor_data(),
     model={"input_dim": 10, "layers": _dense((64, "relu"), (2, "softmax"))}, loss=("categorical_crossentropy", {}),
     labels="one_hot", epochs=30, optimizer=("adam", {"learning_rate": 0.01}),
     checks=[("test_accuracy_above", 0.85)])
_add(name="adam_lr_1", title="Adam with learning rate 1.0", group="learning_rate", source="004", kind="symptom",
     data=_d004_learnable, model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot",
     optimizer=("adam", {"learning_rate": 1.0}), epochs=15,
     float32_chaotic="a learning rate of 1.0 makes training chaotic: the frameworks' float32 losses agree to 1e-5 "
                     "for 3 epochs, then rounding differences grow by about 10x per epoch (float64 runs stay "
                     "within 1e-10 over all 15 epochs)", float32_parity_epochs=3,
     claim="A learning rate of 1.0 leaves the loss constant.",
     # after epoch 3 the float32 runs are chaotic (see float32_chaotic): the checks hold for any such run
     checks=[("first_loss_above_other", "adam_lr_0_001"), ("loss_rises_at_least", 0.1, 3),
             ("loss_rebounds_peak", 1.0)])
_add(name="adam_lr_0_001", title="Adam with learning rate 0.001", group="learning_rate", source="004", kind="fix",
     data=_d004_learnable, model=M_000, loss=("categorical_crossentropy", {}), labels="one_hot",
     optimizer=("adam", {"learning_rate": 0.001}), epochs=15,
     checks=[("loss_decreases", 0.3), ("test_accuracy_above", 0.75)])


# --- saturated probabilities: the clip's dead zone ---------------------------------------------------
def _confidently_class_2(weights: list) -> list:
    """Initial weights whose predictions are class 2 with probability ~1 for every input."""
    w = [a.copy() for a in weights]
    w[-1][2] = 60.0  # output bias
    return w


def _dsat():
    return learnable(600, 3, seed=11, class_sep=1.5)


_add(name="saturated_probabilities", title="Saturated, wrong probabilities into the clipped crossentropy",
     group="saturation", source="000", kind="symptom", data=_dsat, model={"input_dim": 10, "layers": _dense((3, "manual_softmax"))},
     loss=("categorical_crossentropy", {}), labels="one_hot", optimizer=("adam", {"learning_rate": 0.1}),
     init=_confidently_class_2,
     claim="(the mechanism behind 'stuck at a constant loss') Probabilities that do not carry their logits "
           "are clipped to [1e-7, 1-1e-7], and the clip has no gradient outside: saturated predictions never move.",
     checks=[("clip_fraction_above", 0.9), ("loss_constant_fraction", 1e-5)])
_add(name="saturated_logits", title="The same start, crossentropy from logits", group="saturation", source="000",
     kind="fix", data=_dsat, model={"input_dim": 10, "layers": _dense((3, "softmax"))},
     loss=("categorical_crossentropy", {}), labels="one_hot", optimizer=("adam", {"learning_rate": 0.1}),
     init=_confidently_class_2, checks=[("loss_decreases", 0.8)])


# What the runs show, where it differs from (or sharpens) the write-up's explanation. The report puts the
# measured numbers of both frameworks next to each.
_FINDINGS = {
    "zero_target_rows": "The loss is exactly 0.0 from the first batch, not high: -sum(0 * log p) is 0 whatever the "
                        "model predicts. It is not stagnant either: Keras trains on the logits behind the softmax and "
                        "TensorFlow's softmax crossentropy gradient is softmax(z) - y = softmax(z) for an all-zero "
                        "row (it assumes rows sum to 1; the true derivative is 0), so the weights keep moving while "
                        "the loss reports nothing (every kernel gradient norm above 0.1). Through a hand-written "
                        "softmax (no logits) the same rows would get exactly zero gradient.",
    "single_class": "Not stuck: the loss falls steadily as the model learns to answer class 0 for every input, "
                    "which is the right answer for this data.",
    "imbalance_90_5_5": "Stuck on the majority: the model predicts class 0 for every input; the loss plateaus near "
                        "the entropy of the 90/5/5 label distribution (0.39).",
    "imbalance_90_5_5_class_weight": "On random features, class weights make the model predict the minority classes "
                                     "for some inputs, but it cannot recognise them: the weighted loss ends at 2.00, "
                                     "the loss of the best constant guess under these weights (2.01). On learnable "
                                     "data (the next pair) class weights lift the worst minority recall from 0 to "
                                     "0.6.",
    "deep_sigmoid": "The first layer's kernel gradient is about 2% of the last layer's, and the error signal "
                    "d loss / d pre-activation (the bias gradients) about 9%: each sigmoid layer divides it by "
                    "about 3.4. That is the architecture, not a low probability of the correct class, as the "
                    "write-up itself concludes. But 'low loss reduction indicates vanishing gradients' does not "
                    "hold on the write-up's data: the labels are random, so nothing can be learned; the loss "
                    "stays between 2.310 and 2.319 (ln 10 = 2.303) for the 10 epochs, and ReLU + "
                    "BatchNormalization does no better except by memorising the training set (next scenario). "
                    "The learnable pair shows the architecture's real cost.",
    "relu_batchnorm": "With ReLU and BatchNormalization the first layer's kernel gradient is about twice the last's. "
                      "On these random labels the training loss falls from 2.60 to 2.20 in 10 epochs only by "
                      "memorising the 1000 training points: there is nothing to generalise.",
    "deep_sigmoid_learnable": "On learnable data the sigmoid net still learns in 10 epochs, more slowly than ReLU + "
                              "BatchNormalization (test accuracy 0.82 against 0.96), with a first/last gradient "
                              "ratio near 0.1.",
    "bce_labels_0_3_literal": "After the write-up's 10 full-batch steps no output has reached 1 (none above 0.99): "
                              "how many are above 0.5 depends on the initial weights (29 of 100 here, mean 0.40; 49 "
                              "to 88 in other draws of the write-up's code). The loss is falling; where it goes is "
                              "the next scenario.",
    "bce_labels_0_3": "Trained on, every sample labelled 1, 2 or 3 is predicted 1 (mean output above 0.97), but "
                      "most samples labelled 0 are predicted 0 (7 of 29 above 0.5: 100 random points in 100 "
                      "dimensions can be separated), so the mean prediction is 0.78, not 'all 1'. The loss goes "
                      "negative and has no floor: Keras does not check that binary crossentropy labels lie in "
                      "[0, 1], and since the sigmoid layer hands the loss its logits z, it computes "
                      "max(z, 0) - z y + log(1 + exp(-|z|)), which is -2z for y = 3 and -z for y = 2 at large z: "
                      "the logits grow without limit. The clip at 1 - 1e-7 bounds only probabilities without "
                      "logits: through it the loss could not go below -11.6 on these labels; the run ends at -22.9 "
                      "and still falls by 0.8 per epoch.",
    "bce_binary_labels": "With labels 0/1 the mean prediction stays near the label mean (0.54) and the loss falls "
                         "towards 0: the model memorises 100 random points in 100 dimensions (there is nothing to "
                         "generalise; bce_sigmoid_learnable shows the same set-up on learnable data).",
    "softmax_cce_3class": "It predicts all three classes by memorising the 100 random training points (loss 0.02); "
                          "the softmax does not make it generalise.",
    "bce_sigmoid_learnable": "The healthy control: sigmoid + binary crossentropy with 0/1 labels learns (held-out "
                             "accuracy 0.93) and the doctor finds nothing.",
    "binary_900_100": "On random features the model predicts the majority label for every test input.",
    "binary_900_100_balanced": "With 'balanced' weights (0.55 / 5.06) the model predicts both labels, but on random "
                               "features it cannot tell them apart: held-out balanced accuracy 0.57, near chance "
                               "(0.5). The write-up's 'learned to distinguish the two classes to some degree' does "
                               "not hold; on learnable data (binary_900_100_learnable_balanced) the weights lift "
                               "minority recall from 0.37 to 0.86.",
    "binary_900_100_keras_focal": "The per-class alpha=[0.1, 0.9] makes the model predict both labels, again at "
                                  "chance on random features (held-out balanced accuracy 0.56).",
    "binary_900_100_community_focal": "The community focal_loss(gamma=2, alpha=0.25) does not counter the "
                                      "imbalance: the model still predicts one label. On a two-unit softmax with "
                                      "one-hot targets alpha cancels exactly: a sample's true column adds "
                                      "alpha (1 - p_t)^gamma (-log p_t) and its other column, whose 1 - p is p_t, "
                                      "(1 - alpha) (1 - p_t)^gamma (-log p_t), so the loss is "
                                      "sum (1 - p_t)^gamma (-log p_t) for every alpha (0.25 and 0.9 give the same "
                                      "value) and weighs no class. Keras's CategoricalFocalCrossentropy with a "
                                      "per-class alpha=[0.1, 0.9] (binary_900_100_keras_focal) or class weights do.",
    "binary_balanced_learnable": "The healthy control: the same model on balanced learnable data learns (held-out "
                                 "accuracy 0.93) and the doctor finds nothing.",
    "int_labels_with_cce": "Both frameworks refuse integer labels with categorical crossentropy (a shape error); "
                           "torch_impl's message names SparseCategoricalCrossentropy as the fix.",
    "one_hot_with_scce": "Both frameworks refuse one-hot labels with sparse categorical crossentropy; torch_impl's "
                         "message names CategoricalCrossentropy as the fix.",
    "int_labels_with_scce": "That pairing is correct: the loss falls exactly as with one-hot labels and categorical "
                            "crossentropy (the two trajectories are identical). A constant loss has another cause: "
                            "labels the features cannot predict, too little capacity, saturated probabilities.",
    "int_labels_with_scce_literal": "The write-up's 'incorrect' code is correct: from the same weights its loss "
                                    "curve is identical to the one-hot + categorical crossentropy run's. The loss "
                                    "barely moves in either (2% in 5 epochs) because the labels are random and 5 "
                                    "epochs of 4 batches are 20 Adam steps of about 0.001; the write-up's two "
                                    "runs differ only by their random initialisations.",
    "one_hot_with_cce_literal": "The write-up's 'corrected' run is the same curve as the integer-label run (2% in "
                                "5 epochs): one-hot encoding changes nothing; random labels leave nothing to learn.",
    "adam_lr_1_literal": "Not constant: with learning rate 1.0 the first epoch's loss (3.1) is 2.5 times the "
                         "untrained model's (1.22), then it jumps (6.8, 2.7, 3.6, 1.5), ending above a uniform "
                         "guess (ln 3 = 1.10) and above the learning rate 0.001 run (1.20).",
    "capacity_linear_100": "The labels are random, so neither model can generalise; in 5 epochs the hidden layer of "
                           "64 only memorises a little more of the 100 training points (final loss 1.03 against "
                           "1.08), not the write-up's 'significant improvement'. The XOR pair below shows a real "
                           "capacity limit.",
    "capacity_hidden_64": "The training loss falls 7.5% in 5 epochs, by memorising random labels.",
    "capacity_linear_learnable": "A softmax layer cannot represent an XOR boundary: test accuracy stays near chance.",
    "capacity_hidden_learnable": "One hidden layer of 64 learns the XOR boundary (test accuracy above 0.85).",
    "adam_lr_1": "Not constant: with learning rate 1.0 the first epoch's loss is 3.1 times the untrained model's "
                 "(3.66 against 1.18); the loss then touches 0.41 (below the learning rate 0.001 run's final 0.61) "
                 "but cannot stay there: it rises by more than 10% in at least 3 later epochs and climbs to more "
                 "than twice its best (3.5 and 9.6 times in the float32 runs). Which epochs rise is chaotic in "
                 "float32 (Keras and PyTorch agree for 3 epochs).",
    "saturated_probabilities": "Every output probability sits at the clip and the loss stays constant to 1e-7 for "
                               "10 epochs: probabilities that do not carry their logits (a hand-written softmax) get "
                               "no gradient through the clip, so the weights never move.",
    "saturated_logits": "From the same saturated start, crossentropy on the logits has full gradients and the loss "
                        "falls by more than 80%.",
}
_EXPECTED_FINDINGS = {
    "zero_target_rows": ("zero_target_rows",),
    "single_class": ("single_class_labels",),
    "imbalance_90_5_5": ("class_imbalance", "prediction_collapse"),
    "imbalance_90_5_5_learnable": ("class_imbalance", "minority_class_ignored"),
    "deep_sigmoid": ("vanishing_gradients",),
    "deep_sigmoid_learnable": ("vanishing_gradients",),
    "bce_labels_0_3_literal": ("labels_outside_0_1",),
    "bce_labels_0_3": ("labels_outside_0_1", "negative_loss"),
    "binary_900_100": ("class_imbalance", "prediction_collapse"),
    "binary_900_100_community_focal": ("class_imbalance", "prediction_collapse"),
    "binary_900_100_learnable": ("class_imbalance", "minority_class_ignored"),
    "int_labels_with_cce": ("integer_labels_for_categorical",),
    "one_hot_with_scce": ("one_hot_labels_for_sparse",),
    "capacity_linear_100": ("linear_model_at_chance",),
    "capacity_linear_learnable": ("linear_model_at_chance",),
    "adam_lr_1": ("learning_rate_too_high",),
    "int_labels_with_scce_literal": ("linear_model_at_chance",),
    "one_hot_with_cce_literal": ("linear_model_at_chance",),
    "adam_lr_1_literal": ("learning_rate_too_high",),
    "saturated_probabilities": ("zero_gradients", "saturated_outputs"),
}
for _s in SCENARIOS:
    _s.finding = _FINDINGS.get(_s.name, _s.finding)
    _s.expected_findings = _EXPECTED_FINDINGS.get(_s.name, ())


def get(name: str) -> Scenario:
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError(f"unknown scenario {name!r}; known: {names()}")


def names() -> list[str]:
    return [s.name for s in SCENARIOS]
