"""Port a Keras 2 OCR model trained with ``K.ctc_batch_cost`` (keras.io's captcha reader) to PyTorch.

Keras (the script's loss layer and decoding):
    class CTCLayer(layers.Layer):
        def call(self, y_true, y_pred):
            ...
            loss = keras.backend.ctc_batch_cost(y_true, y_pred, input_length, label_length)
            self.add_loss(loss)          # Keras 3 SUMS the (N, 1) costs over the batch
            return y_pred

    results = keras.backend.ctc_decode(pred, input_length=input_len, greedy=True)[0][0][:, :max_length]

torch's ``F.ctc_loss`` is another function: it takes log probabilities with the blank FIRST by default and
averages over the target lengths (``reduction='mean'``); Keras's blank is the LAST class, its input is
``log(y_pred + 1e-7)`` renormalised, and its result is per row. ``torch_impl.keras_backend`` has Keras's:
``K.ctc_batch_cost`` and ``K.ctc_decode`` (greedy, or TensorFlow's beam search). This script trains a tiny
recurrent reader on synthetic "captchas" with them, decodes its predictions, and (with Keras installed) checks the
cost and the decoding against Keras's on the trained model's outputs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from torch_impl import keras_backend as K  # noqa: E402
from torch_impl import optim  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

CHARS, LENGTH, STEPS, N = 4, 3, 9, 64  # characters 0..3, blank = 4 (the last class)


def make_data(seed: int = 0):
    """Sequences of STEPS feature vectors: each character shows as its one-hot over three steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CHARS, size=(N, LENGTH))
    x = rng.normal(scale=0.3, size=(N, STEPS, CHARS)).astype(np.float32)
    for n in range(N):
        for i, c in enumerate(labels[n]):
            x[n, 3 * i: 3 * i + 2, c] += 2.0
    return torch.tensor(x), torch.tensor(labels)


class Reader(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(CHARS, 16, batch_first=True, bidirectional=True)
        self.out = nn.Linear(32, CHARS + 1)

    def forward(self, x):
        return torch.softmax(self.out(self.lstm(x)[0]), -1)  # probabilities, as the Keras model outputs


def main():
    torch.manual_seed(0)
    x, labels = make_data()
    model = Reader()
    opt = optim.Adam(model.parameters(), learning_rate=1e-2)
    input_length = torch.full((N, 1), STEPS)
    label_length = torch.full((N, 1), LENGTH)
    for epoch in range(60):
        opt.zero_grad()
        loss = K.ctc_batch_cost(labels, model(x), input_length, label_length).sum()  # Keras 3's add_loss: sum
        loss.backward()
        opt.step()
        if epoch % 20 == 0 or epoch == 59:
            print(f"epoch {epoch:2d}  CTC cost summed over the batch {loss.item():8.3f}")
    with torch.no_grad():
        pred = model(x)
    decoded = K.ctc_decode(pred, input_length=torch.full((N,), STEPS), greedy=True)[0][0][:, :LENGTH]
    accuracy = (decoded == labels).all(1).float().mean().item()
    print(f"greedy decoding: {accuracy:.0%} of the sequences read right; first three {decoded[:3].tolist()} "
          f"(labels {labels[:3].tolist()})")
    beams, log_prob = K.ctc_decode(pred[:2], torch.full((2,), STEPS), greedy=False, beam_width=10, top_paths=2)
    print(f"beam search, two best readings of sample 0: {beams[0][0, :LENGTH].tolist()}, "
          f"{beams[1][0, :LENGTH].tolist()} (log probabilities {[round(v, 4) for v in log_prob[0].tolist()]}); "
          "TensorFlow v1's merge_repeated prints a labelling '3 2 2' as '3 2', as Keras's K.ctc_decode does")

    keras = keras_or_none()
    if keras is None:
        return
    import tensorflow as tf

    KK = tf.keras.backend
    cost_keras = KK.ctc_batch_cost(tf.constant(labels.numpy()), tf.constant(pred.numpy()),
                                   tf.constant(input_length.numpy()), tf.constant(label_length.numpy())).numpy()
    cost_ours = K.ctc_batch_cost(labels, pred, input_length, label_length).numpy()
    dec_keras = KK.ctc_decode(pred.numpy(), input_length=np.full(N, STEPS), greedy=True)[0][0].numpy()[:, :LENGTH]
    print(f"against Keras's K: costs within {np.max(np.abs(cost_ours - cost_keras) / cost_keras):.1e} relative, "
          f"greedy decoding equal: {bool((dec_keras == decoded.numpy()).all())}")


if __name__ == "__main__":
    main()
