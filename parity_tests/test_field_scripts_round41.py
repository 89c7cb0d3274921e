"""Real-world Keras 3 scripts, round 41: semantic segmentation as ported from Keras. Four sources, each at tiny
seeded shapes (2-12 images of 8x8 pixels, 3 classes or a binary mask) in Keras 3.15.1, the PyTorch port its asker
(or a porter) writes, measured against Keras, and the torch_impl port asserted.

1. "class_weight not supported for 3+ dimensional targets": keras-team/keras#7112 (a brain-lesion U-Net,
   https://github.com/keras-team/keras/issues/7112), #1624 (fchollet: "use sample_weights instead",
   https://github.com/keras-team/keras/issues/1624) and bnsreenu/python_for_microscopists#36 (9 classes,
   https://github.com/bnsreenu/python_for_microscopists/issues/36): ``fit(x, masks, class_weight={...})``. What
   Keras 3.15.1 does with targets of rank > 2 depends on how the data comes: NumPy arrays raise ``TypeError``
   (``data_adapter_utils.class_weight_to_sample_weights``, ``int()`` of a whole mask: the earlier round 14 pins
   it), a PyDataset too (the same function per batch), but a ``tf.data.Dataset`` TRAINS: its map function
   (``tf_dataset_adapter.make_class_weight_map_fn``) squeezes ``(B, H, W, 1)`` masks and gathers one weight per
   pixel, the per-pixel ``sample_weight`` of fchollet's answer, divided by the pixel count. ``(B, H, W)`` masks
   (no trailing 1) are argmax'ed over the WIDTH: column indices as class ids, ``InvalidArgumentError`` once a
   column index passes the last class (8 columns, 3 classes). The porter's ``nn.CrossEntropyLoss(weight=w)``
   (NCHW logits, ``(N, H, W)`` targets) divides by the sum of the pixels' weights instead. torch_impl's ``fit``
   refuses ``class_weight`` on masks (``ValueError`` naming the way out); the port is Keras's tf.data run:
   ``sample_weight = w[masks]`` per pixel.
2. bnsreenu/python_for_microscopists "228_semantic_segmentation_of_aerial_imagery_using_unet"
   (https://github.com/bnsreenu/python_for_microscopists/tree/master/228_semantic_segmentation_of_aerial_imagery_using_unet):
   ``multi_unet_model`` (``Conv2D(he_normal, relu, "same")`` pairs, ``MaxPooling2D``, ``Conv2DTranspose``,
   ``concatenate``, a softmax ``Conv2D(n_classes, 1)``), one-hot masks, ``dice_loss =
   sm.losses.DiceLoss(class_weights=weights)``, ``focal_loss = sm.losses.CategoricalFocalLoss()``,
   ``total_loss = dice_loss + (1 * focal_loss)``, ``compile(optimizer="adam", loss=total_loss,
   metrics=["accuracy", jacard_coef])``. qubvel/segmentation_models' losses are written against the Keras backend
   (``segmentation_models/base/functional.py``: ``f_score``, ``categorical_focal_loss``, ``SMOOTH = 1e-5``;
   ``base/objects.py``: ``SumOfLosses``, ``MultipliedLoss``); here restated as written, run on Keras 3's legacy
   ``K`` (``keras.src.legacy.backend``, what ``keras.backend`` gave the package) and on ``torch_impl.keras_backend``.
   The porter's ``segmentation_models_pytorch.losses.DiceLoss(mode="multiclass")`` (restated from
   ``segmentation_models_pytorch/losses/dice.py``: softmax of logits, ``smooth=0``, ``eps=1e-7``, classes absent
   from the batch's masks zeroed, no ``class_weights``) plus sm's focal term in torch. (Scaled: filters 4 and 8
   on two levels, the unseeded ``Dropout(0.2)`` layers left out; 3 classes, weights ``[0.1666] * 3`` as the
   script's.)
3. keras-team/keras#21907 "class id ignore clarification in IOU metrics"
   (https://github.com/keras-team/keras/issues/21907: ``MeanIoU(num_classes=3, ignore_class=255)``, "what if i want
   to ignore class id 2 and 255 at the same time") with Lightning-AI/torchmetrics#2747
   (https://github.com/Lightning-AI/torchmetrics/issues/2747: the porter's ``MeanIoU`` has no ``ignore_index``,
   ``CrossEntropyLoss(ignore_index=255)`` for the loss, the IoU written by hand). A per-pixel logits net,
   ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)``, ``MeanIoU(num_classes=3,
   ignore_class=255, sparse_y_pred=False)``, validation data. The porter's IoU: one mIoU per batch (classes never
   seen in the batch left out), the epoch's figure their mean, as a torch loop logs it.
4. ``keras.losses.Dice`` (keras.io API reference, https://keras.io/api/losses/: ``Dice(reduction=
   "sum_over_batch_size", name="dice", axis=None)``, "loss = 1 - (2 * sum(y_true * y_pred)) / (sum(y_true) +
   sum(y_pred))") on a binary sigmoid mask head, as a segmentation script compiles it (``loss=keras.losses.Dice()``,
   ``metrics=["accuracy"]``); the porter's dice loss, the usual PyTorch one (``smooth=1``, per image, averaged).

Measured (printed by each test; float64, float32 in brackets; histories: max relative error over every key and
epoch of 2-epoch fits from Keras's weights and shuffle order; weights norm-wise):

===========================  =============================================  ============================================
source                       the porter's PyTorch port                      torch_impl port
===========================  =============================================  ============================================
1 class_weight on (N, H, W,  ``CrossEntropyLoss(weight=w)``: 2.1403         ``sample_weight=w[masks]``: 3.7287, 4.4e-16
1) masks, Keras via tf.data  against Keras's 3.7287 on one batch (0.43      from Keras's tf.data weighting; against
                             relative off); ``fit`` 0.39 off                Keras's tf.data ``class_weight`` ``fit``: 0
                                                                            (1.3e-7), weights 2.2e-16 (3.5e-8)
2 sm DiceLoss(class_        smp ``DiceLoss("multiclass")`` + focal:        the package's code on ``torch_impl``'s
weights) + CategoricalFocal  0.8113 against Keras's 1.0859 (0.25 off);      ``K``: value 0 (0), logit gradient 3.9e-16
Loss, U-Net                  ``fit`` 0.27 (0.28) off                        (2.1e-7); ``fit`` with ``accuracy`` and
                                                                            ``jacard_coef``: 2.7e-16 (1.4e-7), weights
                                                                            9.5e-16 (7.0e-7)
3 MeanIoU(ignore_class=255)  ``F.cross_entropy(ignore_index=255)``: the     the issue's case 0.5 (float32's 0.49999997)
+ SCCE(ignore_class=255)     same loss, 0 apart; the mean of per-batch      as Keras; two batches' ``MeanIoU`` equal;
                             mIoUs 0.1590 against Keras's 0.1620 (two       ``fit`` with validation: 2.1e-16 (1.1e-7),
                             batches); validation after 2 epochs 0.2844     ``mean_iou`` and ``val_mean_iou`` equal
                             against 0.2946 (0.1919 against 0.2014)
4 keras.losses.Dice          per-image ``smooth=1`` dice: 0.6892 against    ``losses.Dice``: the docstring's 0.5 /
                             Keras's 0.6761 (0.02 off), gradient 0.19 off   0.7576 / 0.6164 equal, the batch's value and
                             norm-wise; ``fit`` 0.03 (0.04) off, weights    gradient 0 apart; ``fit`` 0 (9.3e-8),
                             0.16 (0.22) apart                              weights 1.6e-16 (2.0e-7)
===========================  =============================================  ============================================

torch_impl matched Keras everywhere. One torch_impl message made precise (``torch_impl/class_weight.py``): the
``ValueError`` for ``class_weight`` on labels with several class ids per sample said "Keras's fit raises TypeError
here", true for arrays and PyDatasets only; it now names the tf.data reading and ``sample_weight=w[masks]``. Port
notes: segmentation_models multiplies the score by ``class_weights`` as given, a Python list, which TensorFlow
converts and torch refuses (``TypeError`` for ``tensor * list``): pass ``K.constant(weights)`` (floatx, as
TensorFlow converts the list). With the script's ``[0.1666] * 3`` the dice part, ``1 - 0.1666 mean(score)``, never
falls below 0.83: the class weights scale it rather than balance it (a defect of the script, kept).

Keras facts (Keras 3.15.1 source, ``keras/src/``): ``trainers/data_adapters/array_data_adapter.py`` 66-74 calls
``data_adapter_utils.class_weight_to_sample_weights`` (120-135: ``np.ones((N,))``, argmax unless the last axis is
1, then ``int(y_numpy[i])`` per sample: ``TypeError`` for a mask), ``py_dataset_adapter.py`` 240-249 the same per
batch; ``tf_dataset_adapter.py`` 93-143 (``make_class_weight_map_fn``) takes ``y`` of rank >= 2 (130-135) to
``argmax(y, -1)`` if its last axis is over 1, else ``squeeze(y, -1)``, and ``tf.gather``s the class weights at every
remaining position (140): a weight per pixel, or per column index for ``(N, H, W)`` masks. ``losses/losses.py``
2564-2612 ``dice``: no smoothing, ``epsilon()`` in the denominator, the whole batch in one ratio when ``axis=None``.
``metrics/iou_metrics.py`` 142-148: ``ignore_class`` pixels dropped before the confusion matrix (accumulated over the
epoch); 294-326: a class whose denominator is 0 leaves the average.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402
from keras.src.legacy import backend as keras_legacy_backend  # noqa: E402
from keras.src.trainers.data_adapters import data_adapter_utils  # noqa: E402
from keras.src.trainers.data_adapters.tf_dataset_adapter import make_class_weight_map_fn  # noqa: E402

from parity_tests.test_field_scripts_round2 import _normwise, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

VALUE = {"float64": 1e-15, "float32": 1e-6}  # one batch's loss, relative
HIST = {"float64": 1e-12, "float32": 1e-5}  # 2-epoch histories, relative every epoch
WEIGHTS = {"float64": 1e-12, "float32": 1e-4}  # final weights, norm-wise


def _t(a, dt=None) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dt) if dt else np.asarray(a))


def _images(n, rng, channels=3):
    return rng.random((n, 8, 8, channels))


def _masks(images):
    """Class ids that a small net can learn: the channel with the largest local sum."""
    smooth = images + np.roll(images, 1, axis=1) + np.roll(images, 1, axis=2)
    return smooth.argmax(-1)


class _PixelNet(torch.nn.Module):
    """``Conv2D(4, 3, "same", relu)`` then ``Conv2D(c, 1)``: channels-last in and out, NCHW inside."""

    def __init__(self, c):
        super().__init__()
        self.conv, self.head = torch.nn.Conv2d(3, 4, 3, padding="same"), torch.nn.Conv2d(4, c, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x.permute(0, 3, 1, 2)))).permute(0, 2, 3, 1)


def _keras_pixel_net(c, activation=None, seed=3):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    return keras.Model(inp, layers.Conv2D(c, 1, activation=activation)(h))


def _history_gap(th, kh, keys=None):
    worst = 0.0
    for k in keys or kh:
        r = _rel(th[k], kh[k])
        worst = max(worst, r)
        print(f"  {k}: Keras {np.round(kh[k], 8).tolist()} port {np.round(th[k], 8).tolist()} max rel {r:.1e}")
    return worst


# --------------------------------------------------------------------------------------------------------------
# 1. keras#7112 / #1624 / python_for_microscopists#36: fit(class_weight=...) on masks
# --------------------------------------------------------------------------------------------------------------

CW = {0: 2.0, 1: 2.0, 2: 1.0}


def _pixel_weights(masks, class_weight=CW):
    """The port: fchollet's per-pixel ``sample_weight``, each pixel its class's weight."""
    table = np.array([class_weight.get(c, 1.0) for c in range(max(class_weight) + 1)])
    return table[masks]


def _naive_weighted_ce(class_weight=CW):
    """The porter's ``nn.CrossEntropyLoss(weight=w)`` on NCHW logits and ``(N, H, W)`` targets (fit's loss
    callable: channels-last logits in)."""
    w = torch.tensor([class_weight[c] for c in range(3)])

    def loss(y_true, logits):
        target = y_true.reshape(logits.shape[:-1]).long()
        return F.cross_entropy(logits.permute(0, 3, 1, 2), target, weight=w.to(logits.dtype))
    return loss


def test_class_weight_on_masks_keras_tf_data_weighs_pixels():
    """Keras 3.15.1's own class-weight functions on one batch of ``(2, 8, 8, 1)`` masks: the arrays' (and a
    PyDataset's, whose ``fit`` is checked) ``class_weight_to_sample_weights`` raises ``TypeError`` (torch_impl's
    ``fit``: ``ValueError``, naming the tf.data reading and ``sample_weight``); the tf.data map function gives a
    ``(2, 8, 8)`` weight per pixel, and the crossentropy with it is the torch_impl port's per-pixel
    ``sample_weight`` exactly; ``(2, 8, 8)`` masks are argmax'ed over the width (column ids 0-7 against 3 class
    weights: ``InvalidArgumentError``). The porter's ``CrossEntropyLoss(weight=w)`` divides by the weights' sum."""
    rng = np.random.default_rng(0)
    x = _images(2, rng)
    masks = _masks(x)[..., None]
    logits = 2 * rng.standard_normal((2, 8, 8, 3))
    with _precision("float64"):
        with pytest.raises(TypeError, match="length-1 arrays"):
            data_adapter_utils.class_weight_to_sample_weights(masks, CW)
        _, _, w = make_class_weight_map_fn(CW)(tf.constant(x), tf.constant(masks))
        w = w.numpy()
        with pytest.raises(tf.errors.InvalidArgumentError, match="not in"):
            make_class_weight_map_fn(CW)(tf.constant(x), tf.constant(masks[..., 0]))
        k_loss = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(masks, logits, sample_weight=w))
        model = _keras_pixel_net(3)
        model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

        class Pets(keras.utils.PyDataset):
            def __len__(self):
                return 1

            def __getitem__(self, i):
                return x, masks
        with pytest.raises(TypeError, match="length-1 arrays"):
            model.fit(Pets(), class_weight=CW, verbose=0)
        with pytest.raises(ValueError, match=r"tf\.data\.Dataset gets one weight per remaining element"):
            net = _PixelNet(3)
            tfit.fit(net, x, masks, class_weight=CW, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                     optimizer=optim.SGD(net.parameters()), verbose=0)
        z = _t(logits)
        with torch.no_grad():
            t_loss = float(losses.SparseCategoricalCrossentropy(from_logits=True)(
                _t(masks), z, sample_weight=_t(_pixel_weights(masks[..., 0]))))
            naive = float(_naive_weighted_ce()(_t(masks), z))
    print(f"\nKeras tf.data class_weight weights {w.shape}, equal to w[masks]: "
          f"{np.array_equal(w, _pixel_weights(masks[..., 0]))}; loss Keras {k_loss:.6f}, torch_impl port "
          f"{t_loss:.6f} ({abs(t_loss - k_loss):.1e} apart), CrossEntropyLoss(weight=w) {naive:.6f} "
          f"({_rel(naive, k_loss):.2f} relative off)")
    assert w.shape == (2, 8, 8) and np.array_equal(w, _pixel_weights(masks[..., 0]))
    assert _rel(t_loss, k_loss) <= VALUE["float64"]
    assert _rel(naive, k_loss) > 0.1


@pytest.mark.slow  # two Keras fits (tracing), 2-4 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_class_weight_on_masks_tf_data_fit_like_torch_impl_pixel_weights(dt):
    """Keras ``fit(tf.data.Dataset.from_tensor_slices((x, masks)).batch(4), class_weight=CW, epochs=2)`` against
    torch_impl's ``fit(x, masks, sample_weight=w[masks], shuffle=False)`` from the same weights, and the porter's
    ``CrossEntropyLoss(weight=w)`` in the same ``fit`` (its loss alone differs)."""
    rng = np.random.default_rng(1)
    x = _images(12, rng)
    masks = _masks(x)[..., None]
    with _precision(dt):
        model = _keras_pixel_net(3, seed=5)
        w0 = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        ds = tf.data.Dataset.from_tensor_slices((x.astype(dt), masks)).batch(4)
        kh = model.fit(ds, class_weight=CW, epochs=2, shuffle=False, verbose=0).history
        runs = {}
        for label, loss, sw in (("port", losses.SparseCategoricalCrossentropy(from_logits=True),
                                 _pixel_weights(masks[..., 0])),
                                ("CrossEntropyLoss(weight=w)", _naive_weighted_ce(), None)):
            net = load_keras_weights(_PixelNet(3), w0)
            h = tfit.fit(net, x, masks, loss=loss, sample_weight=sw, optimizer=optim.Adam(net.parameters(),
                         learning_rate=0.01), batch_size=4, epochs=2, shuffle=False, verbose=0).history
            runs[label] = (h, net)
    print(f"\nclass_weight on (N, H, W, 1) masks through tf.data, {dt}:")
    gap = _history_gap(runs["port"][0], kh)
    naive = _rel(runs["CrossEntropyLoss(weight=w)"][0]["loss"], kh["loss"])
    wgap = _normwise(np.concatenate([a.ravel() for a in keras_weights(runs["port"][1])]),
                     np.concatenate([a.ravel() for a in model.get_weights()]))
    print(f"  final weights {wgap:.1e} norm-wise; CrossEntropyLoss(weight=w): loss "
          f"{np.round(runs['CrossEntropyLoss(weight=w)'][0]['loss'], 6).tolist()} ({naive:.2f} relative off)")
    assert gap <= HIST[dt] and wgap <= WEIGHTS[dt]
    assert naive > 0.1


# --------------------------------------------------------------------------------------------------------------
# 2. python_for_microscopists 228: sm.losses.DiceLoss(class_weights) + CategoricalFocalLoss, jacard_coef
# --------------------------------------------------------------------------------------------------------------

SMOOTH = 1e-5  # segmentation_models/base/functional.py


class _Backend:
    """What ``segmentation_models`` reads from its ``backend`` submodule: Keras 3's legacy ``K`` plus
    ``image_data_format``, ``epsilon`` and ``floatx`` (``keras.backend``'s in Keras 3)."""

    def __init__(self, k, **extra):
        self._k, self._extra = k, extra

    def __getattr__(self, name):
        return self._extra[name] if name in self._extra else getattr(self._k, name)


KERAS_K = _Backend(keras_legacy_backend, image_data_format=keras.config.image_data_format,
                   epsilon=keras.config.epsilon, floatx=keras.config.floatx)


def f_score(gt, pr, beta=1, class_weights=1, smooth=SMOOTH, per_image=False, backend=None):
    """``segmentation_models.base.functional.f_score`` as written (``class_indexes`` and ``threshold`` None:
    ``gather_channels`` and ``round_if_needed`` return their inputs), ``get_reduce_axes`` and ``average`` inlined."""
    axes = [1, 2] if backend.image_data_format() == "channels_last" else [2, 3]
    if not per_image:
        axes.insert(0, 0)
    tp = backend.sum(gt * pr, axis=axes)
    fp = backend.sum(pr, axis=axes) - tp
    fn = backend.sum(gt, axis=axes) - tp
    score = ((1 + beta ** 2) * tp + smooth) / ((1 + beta ** 2) * tp + beta ** 2 * fn + fp + smooth)
    if per_image:
        score = backend.mean(score, axis=0)
    if class_weights is not None:
        score = score * class_weights
    return backend.mean(score)


def categorical_focal_loss(gt, pr, gamma=2.0, alpha=0.25, backend=None):
    """``segmentation_models.base.functional.categorical_focal_loss`` as written."""
    pr = backend.clip(pr, backend.epsilon(), 1.0 - backend.epsilon())
    loss = - gt * (alpha * backend.pow((1 - pr), gamma) * backend.log(pr))
    return backend.mean(loss)


def _sm_total_loss(backend, class_weights):
    """``dice_loss = sm.losses.DiceLoss(class_weights=weights)``, ``focal_loss = sm.losses.CategoricalFocalLoss()``,
    ``total_loss = dice_loss + (1 * focal_loss)``: ``SumOfLosses(DiceLoss, MultipliedLoss(focal, 1))``."""
    def total_loss(gt, pr):
        dice = 1 - f_score(gt, pr, beta=1, class_weights=class_weights, smooth=SMOOTH, per_image=False,
                           backend=backend)
        return dice + 1 * categorical_focal_loss(gt, pr, gamma=2.0, alpha=0.25, backend=backend)
    total_loss.__name__ = "dice_loss_plus_1focal_loss"
    return total_loss


def _jacard_coef(backend):
    """The script's ``jacard_coef`` (``simple_multi_unet_model.py``), with ``K`` = ``backend``."""
    def jacard_coef(y_true, y_pred):
        y_true_f = backend.flatten(y_true)
        y_pred_f = backend.flatten(y_pred)
        intersection = backend.sum(y_true_f * y_pred_f)
        return (intersection + 1.0) / (backend.sum(y_true_f) + backend.sum(y_pred_f) - intersection + 1.0)
    return jacard_coef


def _smp_dice_plus_focal(y_true, logits):
    """The porter's ``smp.losses.DiceLoss(mode="multiclass")`` (``segmentation_models_pytorch/losses/dice.py``
    restated: softmax of NCHW logits, ``soft_dice_score`` over dims ``(0, 2)`` with ``smooth=0``,
    ``clamp_min(1e-7)``, classes absent from the masks zeroed, the mean over classes) plus the focal term."""
    y_pred = logits.permute(0, 3, 1, 2).log_softmax(dim=1).exp()
    bs, num_classes = y_pred.shape[:2]
    target = y_true.argmax(-1).view(bs, -1)
    y_pred = y_pred.reshape(bs, num_classes, -1)
    target = F.one_hot(target, num_classes).permute(0, 2, 1).to(y_pred.dtype)
    intersection = torch.sum(y_pred * target, dim=(0, 2))
    cardinality = torch.sum(y_pred + target, dim=(0, 2))
    scores = (2.0 * intersection + 0.0) / (cardinality + 0.0).clamp_min(1e-7)
    loss = (1.0 - scores) * (target.sum((0, 2)) > 0).to(scores.dtype)
    p = torch.softmax(logits, -1).clamp(1e-7, 1 - 1e-7)
    return loss.mean() + torch.mean(-y_true * (0.25 * (1 - p) ** 2 * torch.log(p)))


class _MiniUnet(torch.nn.Module):
    """``multi_unet_model`` scaled to two levels, modules in Keras's ``get_weights()`` order."""

    def __init__(self, n_classes=3):
        super().__init__()
        conv = lambda i, o: torch.nn.Conv2d(i, o, 3, padding="same")  # noqa: E731
        self.c1a, self.c1b, self.c2a, self.c2b = conv(3, 4), conv(4, 4), conv(4, 8), conv(8, 8)
        self.up = torch.nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.c3a, self.c3b = conv(8, 4), conv(4, 4)
        self.out = torch.nn.Conv2d(4, n_classes, 1)

    def forward(self, x):
        c1 = torch.relu(self.c1b(torch.relu(self.c1a(x.permute(0, 3, 1, 2)))))
        c2 = torch.relu(self.c2b(torch.relu(self.c2a(F.max_pool2d(c1, 2)))))
        c3 = torch.relu(self.c3b(torch.relu(self.c3a(torch.cat([self.up(c2), c1], 1)))))
        return self.out(c3).permute(0, 2, 3, 1)  # logits; softmax: fit's output_activation


def _keras_mini_unet(n_classes=3, seed=7):
    keras.utils.set_random_seed(seed)
    conv = lambda f: layers.Conv2D(f, (3, 3), activation="relu", kernel_initializer="he_normal",  # noqa: E731
                                   padding="same")
    inputs = keras.Input((8, 8, 3))
    c1 = conv(4)(conv(4)(inputs))
    c2 = conv(8)(conv(8)(layers.MaxPooling2D((2, 2))(c1)))
    u = layers.concatenate([layers.Conv2DTranspose(4, (2, 2), strides=(2, 2), padding="same")(c2), c1], axis=3)
    c3 = conv(4)(conv(4)(u))
    return keras.Model(inputs=[inputs], outputs=[layers.Conv2D(n_classes, (1, 1), activation="softmax")(c3)])


def _sm_data(n, seed):
    rng = np.random.default_rng(seed)
    x = _images(n, rng)
    return x, np.eye(3)[_masks(x)]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_sm_dice_focal_loss_value_and_gradient(dt):
    """The script's ``total_loss`` on one batch of softmax outputs: the package's code on Keras's legacy ``K``
    (TensorFlow's tape) and on ``torch_impl.keras_backend`` (the weights as ``K.constant``: torch's ``tensor *
    list`` raises where TensorFlow converts the list), value and gradient with respect to the logits; the porter's
    smp ``DiceLoss`` + focal apart (sm's ``class_weights`` scale the score, ``1 - 0.1666 mean(score)`` never goes
    below 0.83; smp has no class weights, smoothing 0, and zeroes absent classes)."""
    rng = np.random.default_rng(2)
    z = 2 * rng.standard_normal((2, 8, 8, 3))
    y = np.eye(3)[rng.integers(0, 3, (2, 8, 8))]
    weights = [0.1666] * 3
    with _precision(dt):
        zk = tf.Variable(z.astype(dt))
        with tf.GradientTape() as tape:
            k_loss = _sm_total_loss(KERAS_K, weights)(tf.constant(y.astype(dt)), tf.nn.softmax(zk))
        k_grad = tape.gradient(k_loss, zk).numpy()
        zt = _t(z, dt).requires_grad_()
        with pytest.raises(TypeError):
            _sm_total_loss(TK, weights)(_t(y, dt), torch.softmax(zt, -1))
        t_loss = _sm_total_loss(TK, TK.constant(weights))(_t(y, dt), torch.softmax(zt, -1))
        t_grad, = torch.autograd.grad(t_loss, zt)
        naive = float(_smp_dice_plus_focal(_t(y, dt), zt.detach()))
    k_loss = float(k_loss)
    t_loss = t_loss.detach()
    gv, gg = _rel(float(t_loss), k_loss), _normwise(t_grad.numpy(), k_grad)
    print(f"\nsm DiceLoss(class_weights) + CategoricalFocalLoss, {dt}: Keras {k_loss:.6f}, torch_impl K port "
          f"{float(t_loss):.6f} (value {gv:.1e}, logit gradient {gg:.1e} norm-wise), smp DiceLoss + focal "
          f"{naive:.6f} ({_rel(naive, k_loss):.2f} relative off)")
    assert gv <= VALUE[dt] and gg <= (1e-14 if dt == "float64" else 1e-6)
    assert _rel(naive, k_loss) > 0.1


@pytest.mark.slow  # two Keras fits of a small U-Net (tracing), 3-6 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_sm_dice_focal_unet_fit_like_keras(dt):
    """``model.compile(optimizer="adam", loss=total_loss, metrics=["accuracy", jacard_coef])``, ``fit(batch_size=4,
    epochs=2)``: torch_impl's ``fit`` with the same loss and metric on ``torch_impl.keras_backend``, from Keras's
    weights and shuffle order; the porter's smp loss in the same ``fit`` apart."""
    x, y = _sm_data(12, 3)
    weights = [0.1666] * 3
    with _precision(dt):
        model = _keras_mini_unet()
        w0 = model.get_weights()
        model.compile(optimizer="adam", loss=_sm_total_loss(KERAS_K, weights),
                      metrics=["accuracy", _jacard_coef(KERAS_K)])
        keras.utils.set_random_seed(13)
        kh = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
        net = load_keras_weights(_MiniUnet(), w0)
        th = tfit.fit(net, x, y, loss=_sm_total_loss(TK, TK.constant(weights)), output_activation="softmax",
                      metrics=["accuracy", _jacard_coef(TK)], optimizer=optim.Adam(net.parameters()),
                      batch_size=4, epochs=2, seed=13, verbose=0).history
        naive_net = load_keras_weights(_MiniUnet(), w0)
        nh = tfit.fit(naive_net, x, y, loss=_smp_dice_plus_focal, optimizer=optim.Adam(naive_net.parameters()),
                      batch_size=4, epochs=2, seed=13, verbose=0).history
    print(f"\nsm total_loss U-Net, {dt}:")
    assert sorted(th) == sorted(kh) == ["accuracy", "jacard_coef", "loss"]
    gap = _history_gap(th, kh)
    naive = _rel(nh["loss"], kh["loss"])
    wgap = max(_normwise(a, b) for a, b in zip(keras_weights(net), model.get_weights()))
    print(f"  final weights {wgap:.1e} norm-wise (worst array); smp DiceLoss + focal: loss "
          f"{np.round(nh['loss'], 6).tolist()} ({naive:.2f} relative off)")
    assert gap <= HIST[dt] and wgap <= WEIGHTS[dt]
    assert naive > 0.1


# --------------------------------------------------------------------------------------------------------------
# 3. keras#21907 / torchmetrics#2747: MeanIoU(ignore_class=255), CrossEntropyLoss(ignore_index=255)
# --------------------------------------------------------------------------------------------------------------


def _batch_miou(y_true, logits, num_classes=3, ignore=255):
    """The porter's per-batch mIoU: argmax, void pixels dropped, IoU of each class seen (predicted or true) in
    the batch, their mean."""
    pred, true = np.asarray(logits).argmax(-1).ravel(), np.asarray(y_true).ravel()
    keep = true != ignore
    cm = np.bincount(true[keep] * num_classes + pred[keep], minlength=num_classes ** 2).reshape(num_classes, -1)
    tp, union = np.diag(cm), cm.sum(0) + cm.sum(1) - np.diag(cm)
    return float(np.mean(tp[union > 0] / union[union > 0]))


def _void(masks, rng, share=0.2):
    masks = masks.copy()
    masks[rng.random(masks.shape) < share] = 255
    return masks


def test_mean_iou_ignore_class_255_issue_case_and_loss():
    """keras#21907's test case, ``MeanIoU(num_classes=3, ignore_class=255)`` on ``y_true=[0, 1, 2, 255]``,
    ``y_pred=[0, 1, 1, 1]`` (the 255 pixel dropped, three classes in the mean: 0.5) in Keras and torch_impl;
    then one batch of void-labelled masks: ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)``
    (the mean over the valid pixels) against torch_impl's and the porter's ``F.cross_entropy(ignore_index=255)``,
    and Keras's ``MeanIoU`` over two batches (one confusion matrix) against the porter's mean of per-batch mIoUs."""
    k_case = float(keras.metrics.MeanIoU(num_classes=3, ignore_class=255)([0, 1, 2, 255], [0, 1, 1, 1]))
    t_case = float(tmetrics.MeanIoU(num_classes=3, ignore_class=255)(torch.tensor([0, 1, 2, 255]),
                                                                     torch.tensor([0, 1, 1, 1])))
    rng = np.random.default_rng(4)
    z = rng.standard_normal((4, 8, 8, 3))
    y = _void(rng.integers(0, 3, (4, 8, 8)), rng)
    with _precision("float64"):
        k_loss = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)(y, z))
        k_iou = keras.metrics.MeanIoU(num_classes=3, ignore_class=255, sparse_y_pred=False)
        t_iou = tmetrics.MeanIoU(num_classes=3, ignore_class=255, sparse_y_pred=False)
        for b in (slice(0, 2), slice(2, 4)):
            k_iou.update_state(y[b], z[b])
            t_iou.update_state(_t(y[b]), _t(z[b]))
        t_loss = float(losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)(_t(y), _t(z)))
    naive_loss = float(F.cross_entropy(_t(z).permute(0, 3, 1, 2), _t(y).long(), ignore_index=255))
    naive_iou = np.mean([_batch_miou(y[b], z[b]) for b in (slice(0, 2), slice(2, 4))])
    k_iou, t_iou = float(k_iou.result()), float(t_iou.result())
    print(f"\nkeras#21907 case: Keras {k_case:.6f}, torch_impl {t_case:.6f}; void-255 batch loss: Keras {k_loss:.8f}, "
          f"torch_impl {t_loss:.8f}, F.cross_entropy(ignore_index=255) {naive_loss:.8f} "
          f"({_rel(naive_loss, k_loss):.1e}); MeanIoU over 2 batches Keras {k_iou:.6f}, torch_impl {t_iou:.6f}, "
          f"mean of per-batch mIoUs {naive_iou:.6f}")
    assert k_case == t_case and abs(k_case - 0.5) < 1e-7  # float32, (1 + 0.5 + 0) / 3 with Keras's epsilons
    assert _rel(t_loss, k_loss) <= VALUE["float64"] and _rel(naive_loss, k_loss) <= 1e-15
    assert t_iou == k_iou and abs(naive_iou - k_iou) > 1e-3


@pytest.mark.slow  # two Keras fits with validation (tracing), 3-5 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_mean_iou_ignore_class_fit_like_keras(dt):
    """``compile(Adam(0.01), SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
    metrics=[MeanIoU(num_classes=3, ignore_class=255, sparse_y_pred=False)])``, ``fit(batch_size=4, epochs=2,
    validation_data=...)``: torch_impl's history (``mean_iou`` and ``val_mean_iou`` too); the porter's epoch
    validation mIoU (the mean of the batches' mIoUs: a batch of 2 images weighs as much as one of 4) measured
    against Keras's (one confusion matrix over the validation set)."""
    rng = np.random.default_rng(5)
    x, xv = _images(12, rng), _images(10, rng)  # validation batches of 4, 4 and 2 images
    y, yv = _void(_masks(x), rng), _void(_masks(xv), rng)
    with _precision(dt):
        model = _keras_pixel_net(3, seed=9)
        w0 = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                      metrics=[keras.metrics.MeanIoU(num_classes=3, ignore_class=255, sparse_y_pred=False,
                                                     name="mean_iou")])
        keras.utils.set_random_seed(13)
        kh = model.fit(x, y, batch_size=4, epochs=2, validation_data=(xv, yv), verbose=0).history
        net = load_keras_weights(_PixelNet(3), w0)
        th = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                      metrics=[tmetrics.MeanIoU(num_classes=3, ignore_class=255, sparse_y_pred=False, name="mean_iou")],
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.01), batch_size=4, epochs=2,
                      validation_data=(xv, yv), seed=13, verbose=0).history
        with torch.no_grad():
            zv = net(_t(xv, dt)).numpy()
        naive_val = float(np.mean([_batch_miou(yv[i:i + 4], zv[i:i + 4]) for i in range(0, 10, 4)]))
    print(f"\nMeanIoU(ignore_class=255) fit, {dt}:")
    assert sorted(th) == sorted(kh)
    gap = _history_gap(th, kh)
    print(f"  the porter's validation mIoU (mean of per-batch mIoUs) after epoch 2: {naive_val:.6f} against Keras's "
          f"{kh['val_mean_iou'][-1]:.6f}")
    assert gap <= HIST[dt]
    assert abs(naive_val - kh["val_mean_iou"][-1]) > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 4. keras.losses.Dice on a binary mask head
# --------------------------------------------------------------------------------------------------------------


def _naive_dice(y_true, y_pred, smooth=1.0):
    """The usual PyTorch dice loss: per image, ``smooth=1``, averaged over the batch."""
    dims = tuple(range(1, y_pred.ndim))
    inter = (y_true * y_pred).sum(dims)
    return 1 - ((2 * inter + smooth) / (y_true.sum(dims) + y_pred.sum(dims) + smooth)).mean()


def test_keras_dice_loss_like_torch_impl():
    """``keras.losses.dice``'s docstring values (``axis=(1, 2, 3)``: 0.5, 0.7576; ``axis=None``: 0.6164) in
    torch_impl; one batch of sigmoid masks, one image without the object, through ``keras.losses.Dice()`` (the
    whole batch in one ratio, ``epsilon()`` in the denominator) against ``losses.Dice()`` and the porter's
    per-image ``smooth=1`` dice (the empty image's dice is ``1 / (sum(p) + 1)``: a loss near 1 for it alone)."""
    y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    k_doc = [keras.ops.convert_to_numpy(keras.losses.dice(y_true, y_pred, axis=a)) for a in ((1, 2, 3), None)]
    t_doc = [losses.dice(torch.tensor(y_true), torch.tensor(y_pred), axis=a).numpy() for a in ((1, 2, 3), None)]
    rng = np.random.default_rng(6)
    y = (rng.random((4, 8, 8, 1)) < 0.3).astype("float64")
    y[0] = 0.0  # an image without the object
    p = 1 / (1 + np.exp(-rng.standard_normal((4, 8, 8, 1))))
    with _precision("float64"):
        pk = tf.Variable(p)
        with tf.GradientTape() as tape:
            k = keras.losses.Dice()(y, pk)
        k, k_grad = float(k), tape.gradient(k, pk).numpy()
        pt = _t(p).requires_grad_()
        t = losses.Dice()(_t(y), pt)
        t_grad, = torch.autograd.grad(t, pt)
        n = _naive_dice(_t(y), pt)
        n_grad, = torch.autograd.grad(n, pt)
    t, naive = float(t.detach()), float(n.detach())
    g_port, g_naive = _normwise(t_grad.numpy(), k_grad), _normwise(n_grad.numpy(), k_grad)
    print(f"\nkeras.losses.dice docstring: Keras {[np.round(v, 7).tolist() for v in k_doc]}, torch_impl "
          f"{[np.round(v, 7).tolist() for v in t_doc]}; batch: Keras {k:.8f}, torch_impl {t:.8f} "
          f"({_rel(t, k):.1e}, gradient {g_port:.1e} norm-wise), smooth=1 per-image dice {naive:.6f} "
          f"({_rel(naive, k):.2f} relative off, gradient {g_naive:.2f} norm-wise)")
    for a, b in zip(t_doc, k_doc):
        np.testing.assert_array_equal(a, b)
    assert _rel(t, k) <= VALUE["float64"] and g_port <= 1e-14
    assert g_naive > 0.1


@pytest.mark.slow  # two Keras fits (tracing), 2-4 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_keras_dice_fit_like_keras(dt):
    """``compile(Adam(0.01), loss=keras.losses.Dice(), metrics=["accuracy"])`` on a sigmoid mask head, ``fit(
    batch_size=4, epochs=2)``: torch_impl's ``losses.Dice()`` with ``output_activation="sigmoid"``; the porter's
    ``smooth=1`` per-image dice in the same ``fit`` apart."""
    rng = np.random.default_rng(7)
    x = _images(12, rng)
    y = (_masks(x) == 0).astype("float64")[..., None]
    y[::3] = 0.0  # every third image without the object
    with _precision(dt):
        model = _keras_pixel_net(1, activation="sigmoid", seed=11)
        w0 = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.Dice(), metrics=["accuracy"])
        keras.utils.set_random_seed(13)
        kh = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
        runs, wgaps = {}, {}
        for label, loss in (("port", losses.Dice()), ("smooth=1 dice", _naive_dice)):
            net = load_keras_weights(_PixelNet(1), w0)
            runs[label] = tfit.fit(net, x, y, loss=loss, output_activation="sigmoid", metrics=["accuracy"],
                                   optimizer=optim.Adam(net.parameters(), learning_rate=0.01), batch_size=4,
                                   epochs=2, seed=13, verbose=0).history
            wgaps[label] = max(_normwise(a, b) for a, b in zip(keras_weights(net), model.get_weights()))
    print(f"\nkeras.losses.Dice fit, {dt}:")
    gap = _history_gap(runs["port"], kh)
    naive = _rel(runs["smooth=1 dice"]["loss"], kh["loss"])
    print(f"  final weights {wgaps['port']:.1e} norm-wise (worst array); smooth=1 per-image dice: loss "
          f"{np.round(runs['smooth=1 dice']['loss'], 6).tolist()} ({naive:.2f} relative off), final weights "
          f"{wgaps['smooth=1 dice']:.1e}")
    assert gap <= HIST[dt] and wgaps["port"] <= WEIGHTS[dt]
    assert naive > 0.02 and wgaps["smooth=1 dice"] > 1e-3
