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
     checks=[("loss_exactly", 0.0)])
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
     model=M_SIG, loss=("categorical_crossentropy", {}), labels="one_hot", epochs=5,
     claim="Sigmoid saturation shrinks the gradient reaching the first layers.",
     checks=[("grad_ratio_below", 0.05)])
_add(name="relu_batchnorm", title="ReLU + BatchNormalization 128-64-10, random labels", group="vanishing",
     source="001", kind="fix", data=lambda: literal(1000, 4, np.random.default_rng(3).integers(0, 10, 1000), seed=3),
     model=M_BN, loss=("categorical_crossentropy", {}), labels="one_hot", epochs=3,
     float32_chaotic="fitting random labels with batch statistics: after 3 epochs each framework's float32 loss "
                     "is 1e-4 from its float64 loss and near-tied outputs flip classes; float64 runs agree to 1e-14",
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
     checks=[("mean_prediction_above", 0.7), ("final_loss_below", 0.0)])
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
     class_weight="balanced", checks=[("classes_predicted_at_least", 2, "test")])
_add(name="binary_900_100_keras_focal", title="900/100 with Keras CategoricalFocalCrossentropy(alpha=[0.1, 0.9])",
     group="imbalance_binary", source="003", kind="fix", data=_d003, model=M_003,
     loss=("categorical_focal_crossentropy", {"alpha": [0.1, 0.9], "gamma": 2.0}), labels="one_hot",
     checks=[("classes_predicted_at_least", 2, "test")])
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
     float32_chaotic="a learning rate of 1.0 makes training chaotic: the frameworks' float32 losses agree to 1e-6 "
                     "for 3 epochs, then rounding differences grow by about 10x per epoch (float64 runs stay "
                     "within 1e-10 over all 15 epochs)", float32_parity_epochs=3,
     claim="A learning rate of 1.0 leaves the loss constant.",
     checks=[("loss_rebounds", 0.5), ("final_loss_above_other", "adam_lr_0_001")])
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
                        "row, so the weights keep moving while the loss reports nothing (non-zero layer gradients).",
    "single_class": "Not stuck: the loss falls steadily as the model learns to answer class 0 for every input, "
                    "which is the right answer for this data.",
    "imbalance_90_5_5": "Stuck on the majority: the model predicts class 0 for every input; the loss plateaus near "
                        "the entropy of the 90/5/5 label distribution.",
    "imbalance_90_5_5_class_weight": "On random features, class weights make the model predict the minority classes "
                                     "for some inputs, but it cannot recognise them: the weighted loss stays high. "
                                     "On learnable data (the next pair) class weights lift the worst minority "
                                     "recall from 0 to 0.6.",
    "deep_sigmoid": "The first layer's kernel gradient is about 2% of the last layer's: the sigmoid layers shrink "
                    "it. That is the architecture, not the low probabilities of the correct class, as the write-up "
                    "itself concludes.",
    "relu_batchnorm": "With ReLU and BatchNormalization the first layer's gradient is about twice the last's.",
    "deep_sigmoid_learnable": "On learnable data the sigmoid net still learns in 10 epochs, more slowly than ReLU + "
                              "BatchNormalization, with a first/last gradient ratio near 0.1.",
    "bce_labels_0_3_literal": "After the write-up's 10 full-batch steps the predictions have not moved to 1 yet "
                              "(mean about 0.4); the loss is falling.",
    "bce_labels_0_3": "Trained on, the predictions head for 1 (mean prediction about 0.78) and the loss becomes "
                      "negative: Keras's binary crossentropy does not check that labels lie in [0, 1], and with y = 3 the "
                      "term y log p + (1 - y) log(1 - p) rewards p -> 1 without bound until the clip at 1 - 1e-7.",
    "binary_900_100": "On random features the model predicts the majority label for every test input.",
    "binary_900_100_community_focal": "The community focal_loss(gamma=2, alpha=0.25) puts the same alpha on both "
                                      "classes, so it does not counter the imbalance: the model still predicts one "
                                      "label. Keras's CategoricalFocalCrossentropy with a per-class alpha=[0.1, 0.9] "
                                      "(binary_900_100_keras_focal) does.",
    "int_labels_with_cce": "Both frameworks refuse integer labels with categorical crossentropy (a shape error); "
                           "torch_impl's message names SparseCategoricalCrossentropy as the fix.",
    "one_hot_with_scce": "Both frameworks refuse one-hot labels with sparse categorical crossentropy; torch_impl's "
                         "message names CategoricalCrossentropy as the fix.",
    "int_labels_with_scce": "That pairing is correct: the loss falls exactly as with one-hot labels and categorical "
                            "crossentropy (the two trajectories are identical). A constant loss has another cause: "
                            "labels the features cannot predict, too little capacity, saturated probabilities.",
    "capacity_linear_100": "On random labels a softmax layer alone fits less of the training set than one hidden "
                           "layer of 64 (higher final loss).",
    "capacity_linear_learnable": "A softmax layer cannot represent an XOR boundary: test accuracy stays near chance.",
    "capacity_hidden_learnable": "One hidden layer of 64 learns the XOR boundary (test accuracy above 0.85).",
    "adam_lr_1": "Not constant: with learning rate 1.0 the loss drops, then rebounds and oscillates far above its "
                 "best value, ending above the learning rate 0.001 run.",
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
