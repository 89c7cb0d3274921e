"""Keras-faithful losses for PyTorch (the Keras 3 crossentropy family, class
weighting and focal losses, and the rest of ``keras.losses``), with Keras's
exact numerics.

Example:
    >>> import torch
    >>> from torch_impl import losses
    >>> loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> float(loss(torch.tensor([0, 1]), torch.zeros(2, 3))) == float(torch.log(torch.tensor(3.)))
    True
"""

from torch_impl import class_weight, losses, reduction
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight
from torch_impl.losses import (
    CTC,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    CategoricalHinge,
    Circle,
    CosineSimilarity,
    Dice,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    Loss,
    LossFunctionWrapper,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    Tversky,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    focal_loss,
    sparse_categorical_crossentropy,
)

__all__ = [
    "losses",
    "reduction",
    "class_weight",
    "class_weight_to_sample_weight",
    "compute_class_weight",
    "Loss",
    "LossFunctionWrapper",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "focal_loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "KLDivergence",
    "Poisson",
    "Dice",
    "Tversky",
    "Circle",
    "CategoricalGeneralizedCrossEntropy",
    "CTC",
]
