"""Builds reference/hw7_mlp_blocks/HW7.ipynb in the structure and language of seed 003.

The seed (a Keras practice note, in Korean) goes: practice 1 [1] MLP (데이터 가져오기, 시각화, 모델
구성, compile, training, 평가와 예측), [2] 추가 기능 (1) Callback (2) 전체 모델 저장 및 불러오기
(3) Regularization; practice 2 [1] CNN, [2] Sequential API & Functional API (residual Add);
HW2 Inception module; practice 3 MobileNet V2. Its TensorFlow code cannot run on the course's
numpy package, so the code cells are rewritten for intro2ai; the Korean text is the seed's where it
explains (SEED_TEXT must still be in the seed: the build fails otherwise) and new where numpy needs it.

Usage (from the repository root): PYTHONPATH=. python reference/tools/build_hw7_mlp_blocks_notebook.py [SEED] [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.authoring.notebooks import KERNELSPEC, stable_cell_id, write_notebook

SEED = Path("/work/shared/seeds/003_2a973594546c24ee.txt")
OUT = Path(__file__).resolve().parent.parent / "hw7_mlp_blocks" / "HW7.ipynb"

SEED_TEXT = (
    "EarlyStopping : validation metrics가 향상되지 않을 때 학습을 멈춘다.",
    "CSVLogger : loss, metrics data의 stream들을 CSV 파일로 넘긴다.",
    "Dropout layer를 추가하여 Overfitting을 방지할 수도 있다.",
    "Sequential API보다 유연한 설계 가능",
)

CELLS: list[tuple[str, str]] = [
    ("md", """# HW7: MLP, Callback, Regularization, Inception, MobileNet V2 (numpy)

실습 노트의 Keras 코드를 이 과목의 numpy 패키지 `intro2ai`로 직접 구현합니다.

- 작성할 파일: `intro2ai/layers.py` (`dropout_forward/backward`, `relu6_forward/backward`,
  `depthwise_conv_forward/backward`), `intro2ai/classifiers/fc_net.py` (`FullyConnectedNet`),
  `intro2ai/callbacks.py` (`ModelCheckpoint`, `LearningRateScheduler`, `EarlyStopping`, `CSVLogger`,
  `save_model`, `load_model`), `intro2ai/blocks.py` (residual, Inception, inverted residual)
- dropout의 `p`는 cs231n처럼 **남길(keep) 확률**입니다. Keras의 `Dropout(0.2)`는 `p = 0.8`입니다.
- 배치는 **NCHW** `(N, C, H, W)`, 채널은 축 1입니다 (Keras는 마지막 축)."""),
    ("code", """import os
import tempfile

import numpy as np
import matplotlib.pyplot as plt

from intro2ai.fashion_data import get_fashion_data, FASHION_CLASSES
from intro2ai.layers import dropout_forward, dropout_backward, relu6_forward, relu6_backward
from intro2ai.layers import depthwise_conv_forward, depthwise_conv_backward
from intro2ai.classifiers.fc_net import FullyConnectedNet
from intro2ai.solver import Solver
from intro2ai.callbacks import ModelCheckpoint, LearningRateScheduler, EarlyStopping, CSVLogger, save_model, load_model
from intro2ai.blocks import residual_forward, residual_backward, inception_forward, inception_backward
from intro2ai.blocks import inverted_residual_forward, inverted_residual_backward
from intro2ai.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

%matplotlib inline
plt.rcParams['figure.figsize'] = (10.0, 4.0)

def rel_error(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))"""),
    ("md", """# practice 1

## [1] MLP

### 1. 데이터 가져오기

Fashion-MNIST 모양의 데이터(28x28 흑백, 10개 클래스)를 씁니다. 조교가 실제 Fashion-MNIST 파일을 가지고 있으면
`INTRO2AI_DATA=fashion-mnist`와 `INTRO2AI_FASHION_DIR`로 실제 데이터를 읽고, 없으면 프로젝트가 만든 데이터를 씁니다.
시드처럼 학습 데이터의 일부를 검증용으로 나눕니다 (실제 파일: 60,000장 중 마지막 장들)."""),
    ("code", """data = get_fashion_data(num_training=8000, num_validation=1000, num_test=1000)
for k, v in data.items():
    print(k, v.shape, v.dtype)"""),
    ("md", "### 2. 데이터 시각화"),
    ("code", """plt.figure(figsize=(10, 4))
for i in range(10):
    plt.subplot(2, 5, i + 1)
    plt.imshow(data['X_train'][i, 0], cmap='gray')
    plt.title(FASHION_CLASSES[data['y_train'][i]], fontsize=9)
    plt.axis('off')
plt.show()"""),
    ("md", """### 3. 모델 구성하기: Dropout

Keras의 `Dropout(0.2)`를 numpy로: `intro2ai/layers.py`의 `dropout_forward`, `dropout_backward`를 구현하세요.
inverted dropout이므로 학습 때 `1/p`로 나누고, 테스트 때는 입력을 그대로 돌려줍니다."""),
    ("code", """np.random.seed(231)
x = np.random.randn(500, 500) + 10
for p in [0.25, 0.4, 0.7]:
    out, _ = dropout_forward(x, {'mode': 'train', 'p': p})
    out_test, _ = dropout_forward(x, {'mode': 'test', 'p': p})
    print(f'p = {p}: mean of input {x.mean():.3f}, train output {out.mean():.3f}, test output {out_test.mean():.3f}, '
          f'zeros in train output {(out == 0).mean():.3f}')

x = np.random.randn(10, 10) + 10
dout = np.random.randn(*x.shape)
param = {'mode': 'train', 'p': 0.2, 'seed': 123}
out, cache = dropout_forward(x, param)
dx = dropout_backward(dout, cache)
dx_num = eval_numerical_gradient_array(lambda xx: dropout_forward(xx, param)[0], x, dout)
print('dx relative error (should be around 1e-10 or less):', rel_error(dx, dx_num))"""),
    ("md", """### 3-1 모델: FullyConnectedNet (Flatten → Dense 128 ReLU → Dropout → Dense 10 softmax)

`intro2ai/classifiers/fc_net.py`의 `FullyConnectedNet`을 완성하세요. `reg`는 L2, `l1`은 L1 규제 강도입니다.
dropout이 있을 때와 없을 때 모두 수치 기울기와 비교합니다."""),
    ("code", """np.random.seed(231)
N, D, H1, H2, C = 2, 15, 20, 30, 10
X = np.random.randn(N, D)
y = np.random.randint(C, size=(N,))
for dropout, reg, l1 in [(1, 0.0, 0.0), (1, 3.14, 0.0), (1, 0.0, 0.1), (0.5, 0.1, 0.05)]:
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, dropout=dropout, reg=reg, l1=l1,
                              weight_scale=5e-2, dtype=np.float64, seed=123)
    loss, grads = model.loss(X, y)
    print(f'dropout {dropout}, reg {reg}, l1 {l1}: initial loss {loss:.4f}')
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]
        grad_num = eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-5)
        print(f'  {name} relative error: {rel_error(grad_num, grads[name]):.2e}')"""),
    ("md", """### 3-2 ~ 4. compile, training

Keras의 `compile(optimizer=Adam, loss=SparseCategoricalCrossentropy)`와 `fit`은 `Solver(update_rule='adam')`가 합니다."""),
    ("code", """np.random.seed(0)
model = FullyConnectedNet([128], dropout=0.8, weight_scale=5e-2)
solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                num_epochs=5, batch_size=100, verbose=True)
hist = solver.train()"""),
    ("md", "### 5. training 결과 확인"),
    ("code", """acc = [h['train_acc'] for h in hist]
val_acc = [h['val_acc'] for h in hist]
loss = [h['loss'] for h in hist]
val_loss = [h['val_loss'] for h in hist]

plt.figure(figsize=(8, 8))
plt.subplot(2, 1, 1)
plt.plot(acc, label='Training Accuracy')
plt.plot(val_acc, label='Validation Accuracy')
plt.legend(loc='lower right'); plt.ylabel('Accuracy'); plt.title('Training and Validation Accuracy')
plt.subplot(2, 1, 2)
plt.plot(loss, label='Training Loss')
plt.plot(val_loss, label='Validation Loss')
plt.legend(loc='upper right'); plt.ylabel('Cross Entropy'); plt.title('Training and Validation Loss')
plt.xlabel('epoch')
plt.show()"""),
    ("md", "### 6. 평가와 예측"),
    ("code", """predictions = model.loss(data['X_test'])
print('test accuracy:', np.mean(np.argmax(predictions, axis=1) == data['y_test']))"""),
    ("md", """## [2] 추가 기능

### (1) Callback 사용

+ callback을 사용하기 위해서는 리스트 형태로 callback 함수들을 저장한 뒤, `Solver(callbacks=...)`로 전달해주면 된다.
  - ModelCheckpoint : 주기적으로 모델을 저장한다. (여기서는 `.npz`)
  - LearningRateScheduler: Epoch에 따라서 Learning rate를 조정한다.
  - EarlyStopping : validation metrics가 향상되지 않을 때 학습을 멈춘다.
  - CSVLogger : loss, metrics data의 stream들을 CSV 파일로 넘긴다.

`intro2ai/callbacks.py`를 완성하세요. epoch는 Keras처럼 0부터 셉니다."""),
    ("code", """workdir = tempfile.mkdtemp()

#학습률을 점점 줄이기 위한 함수
def decay(epoch):
    if epoch < 3:
        return 1e-3
    elif epoch >= 3 and epoch < 7:
        return 1e-4
    else:
        return 1e-5

np.random.seed(1)
model = FullyConnectedNet([128], dropout=0.8, weight_scale=5e-2)
callbacks = [
    EarlyStopping(monitor='val_loss', patience=2, restore_best=True),
    ModelCheckpoint(filepath=os.path.join(workdir, 'ckpt_{epoch}.npz'), save_best_only=False),
    LearningRateScheduler(decay),
    CSVLogger(os.path.join(workdir, 'log.csv')),
]
solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                num_epochs=10, batch_size=100, callbacks=callbacks, verbose=True)
hist = solver.train()
print('learning rates:', [h['lr'] for h in hist])
print('stopped at epoch:', callbacks[0].stopped_epoch)
print(sorted(os.listdir(workdir)))
print(open(os.path.join(workdir, 'log.csv')).read())"""),
    ("md", """### (2) 전체 모델 저장 및 불러오기

Keras의 SavedModel 대신 `<path>.npz`(가중치)와 `<path>.json`(클래스 이름과 생성자 인자)으로 저장합니다. pickle은 쓰지 않습니다."""),
    ("code", """path = os.path.join(workdir, 'saved_model')
save_model(model, path)
print(sorted(os.listdir(workdir)))
loaded_model = load_model(path)
scores = loaded_model.loss(data['X_test'])
print('loaded model test accuracy:', np.mean(np.argmax(scores, axis=1) == data['y_test']))
print('same scores as the saved model:', np.allclose(scores, model.loss(data['X_test'])))"""),
    ("md", """### (3) Regularization 방법

+ L1 regularization : LASSO, L2 regularization : Ridge, 그리고 Dropout.
+ Dropout layer를 추가하여 Overfitting을 방지할 수도 있다.

작은 학습 데이터(500장)에서 규제 없이 / L2 / dropout으로 학습하고 곡선을 비교합니다."""),
    ("code", """small = {'X_train': data['X_train'][:500], 'y_train': data['y_train'][:500],
         'X_val': data['X_val'][:500], 'y_val': data['y_val'][:500]}
runs = {}
for name, kwargs in [('none', {}), ('L2 0.01', {'reg': 0.01}), ('dropout 0.5', {'dropout': 0.5})]:
    np.random.seed(2)
    m = FullyConnectedNet([256], weight_scale=5e-2, **kwargs)
    runs[name] = Solver(m, small, update_rule='adam', optim_config={'learning_rate': 1e-3},
                        num_epochs=10, batch_size=50, verbose=False)
    runs[name].train()
plt.figure(figsize=(12, 4))
for i, key in enumerate(['train_acc', 'val_acc']):
    plt.subplot(1, 2, i + 1)
    for name, s in runs.items():
        plt.plot([h[key] for h in s.history], '-o', label=name)
    plt.title(key); plt.xlabel('epoch'); plt.legend()
plt.show()"""),
    ("md", """## 규제 토의 (regularization)

세 곡선(규제 없음, L2, dropout)의 학습 정확도와 검증 정확도의 차이를 비교하고 설명하세요.

**답:** (여기에 작성하세요)"""),
    ("md", """# practice 2

## [1] CNN

합성곱 층(`conv_forward_naive`)과 풀링은 HW5에서 구현했습니다 (`intro2ai/hw5_layers.py`로 주어짐).

## [2] Sequential API & Functional API

+ Sequential API: 1개의 입력 텐서와 1개의 출력 텐서가 있는 일반 레이어 스택에 적합
+ Functional API: Sequential API보다 유연한 설계 가능

시드의 코드 2: `x = Conv2D(10, 3x3, same)`, `shortcut = x`, ... `Add()([x, shortcut])`. 두 입력의 shape이 다르면
Keras처럼 `ValueError`가 나야 합니다. `intro2ai/blocks.py`의 `residual_forward/backward`를 완성하세요."""),
    ("code", """np.random.seed(231)
x = np.random.randn(2, 3, 6, 6)
params = {'w1': np.random.randn(5, 3, 3, 3) * 0.3, 'b1': np.random.randn(5),
          'w2': np.random.randn(3, 5, 3, 3) * 0.3, 'b2': np.random.randn(3)}
out, cache = residual_forward(x, params)
dout = np.random.randn(*out.shape)
dx, grads = residual_backward(dout, cache)
dx_num = eval_numerical_gradient_array(lambda xx: residual_forward(xx, params)[0], x, dout)
print('out shape', out.shape, 'dx error', rel_error(dx, dx_num))
try:
    residual_forward(x, {**params, 'w2': np.random.randn(4, 5, 3, 3), 'b2': np.zeros(4)})
except ValueError as error:
    print('ValueError:', error)"""),
    ("md", """# HW2

## [1] Inception module 구현

1x1, (1x1 → 3x3), (1x1 → 5x5), (3x3 max pooling, stride 1, 'same' → 1x1) 네 갈래를 채널 축으로 이어 붙입니다.
MaxPooling의 strides는 default로 pool_size와 같으므로, 크기를 유지하려면 stride 1과 'same' padding이 필요합니다."""),
    ("code", """np.random.seed(231)
x = np.random.randn(2, 4, 6, 6)
shapes = {'w1': (2, 4, 1, 1), 'w3r': (3, 4, 1, 1), 'w3': (4, 3, 3, 3), 'w5r': (2, 4, 1, 1), 'w5': (3, 2, 5, 5), 'wp': (2, 4, 1, 1)}
params = {}
for name, shape in shapes.items():
    params[name] = np.random.randn(*shape) * 0.3
    params['b' + name[1:]] = np.random.randn(shape[0]) * 0.1
out, cache = inception_forward(x, params)
print('output channels:', out.shape[1], '= 2 + 4 + 3 + 2')
dout = np.random.randn(*out.shape)
dx, grads = inception_backward(dout, cache)
dx_num = eval_numerical_gradient_array(lambda xx: inception_forward(xx, params)[0], x, dout)
print('dx error', rel_error(dx, dx_num))"""),
    ("md", """# Practice 3

## [1] MobileNet V2 구현

+ 핵심개념: Expansion, Depthwise convolution, Linear bottleneck, Residual
+ `DepthwiseConv2D`: 채널마다 자기 필터 하나, 가중치 shape `(C, 1, k, k)`
+ ReLU6: `min(max(x, 0), 6)`; 기울기는 0과 6에서 0

`intro2ai/layers.py`의 `relu6_*`, `depthwise_conv_*`, `intro2ai/blocks.py`의 `inverted_residual_*`를 완성하세요.
skip 연결은 stride가 1이고 채널 수가 같을 때만 더합니다."""),
    ("code", """np.random.seed(231)
x = np.random.randn(2, 3, 7, 7)
w = np.random.randn(3, 1, 3, 3)
b = np.random.randn(3)
out, cache = depthwise_conv_forward(x, w, b, {'stride': 2, 'pad': 1})
dout = np.random.randn(*out.shape)
dx, dw, db = depthwise_conv_backward(dout, cache)
dx_num = eval_numerical_gradient_array(lambda xx: depthwise_conv_forward(xx, w, b, {'stride': 2, 'pad': 1})[0], x, dout)
dw_num = eval_numerical_gradient_array(lambda ww: depthwise_conv_forward(x, ww, b, {'stride': 2, 'pad': 1})[0], w, dout)
print('depthwise out', out.shape, 'dx error', rel_error(dx, dx_num), 'dw error', rel_error(dw, dw_num))

t = 6
params = {'w_exp': np.random.randn(3 * t, 3, 1, 1) * 0.3, 'b_exp': np.random.randn(3 * t) * 0.1,
          'w_dw': np.random.randn(3 * t, 1, 3, 3) * 0.3, 'b_dw': np.random.randn(3 * t) * 0.1,
          'w_proj': np.random.randn(3, 3 * t, 1, 1) * 0.3, 'b_proj': np.random.randn(3) * 0.1}
for stride in (1, 2):
    out, cache = inverted_residual_forward(x, params, {'stride': stride})
    dout = np.random.randn(*out.shape)
    dx, grads = inverted_residual_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda xx: inverted_residual_forward(xx, params, {'stride': stride})[0], x, dout)
    print(f'stride {stride}: out {out.shape}, dx error {rel_error(dx, dx_num):.2e}')"""),
]


def build(seed_text: str) -> str:
    """The reference notebook JSON; fails if a quoted seed sentence is no longer in the seed."""
    missing = [sentence for sentence in SEED_TEXT if sentence not in seed_text]
    if missing:
        raise SystemExit(f"seed no longer contains: {missing!r}")
    cells = [(new_code_cell if kind == "code" else new_markdown_cell)(source, id=stable_cell_id(index))
             for index, (kind, source) in enumerate(CELLS)]  # fmt: skip
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    nb.nbformat_minor = 5
    return write_notebook(nbformat.from_dict(nb), "HW7.ipynb")


def main(argv: list[str]) -> None:
    seed = Path(argv[0]) if argv else SEED
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.write_text(build(seed.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
