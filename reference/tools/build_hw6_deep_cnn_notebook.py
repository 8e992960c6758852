"""Builds reference/hw6_deep_cnn/HW6.ipynb in the structure and language of seed 004.

The seed (a Keras notebook) goes: Part 1) CNN을 이용한 CIFAR10 이미지 분류 - data, conv/pool,
MyModel(input_shape, output_dim, num_filters_list), model.summary(), training; Part 2) 배치 정규화와
잔차 학습 - the VGG16-like list that does not learn, gradient vanishing, batch normalization before
the ReLU, MyModel(..., use_batch_norm). Its Keras code cannot run on the course's numpy package,
so the code cells are rewritten for intro2ai (ConvNet, the layers a student writes, the cells
that check each step); the Korean text is the seed's where it explains (SEED_TEXT must still be
in the seed: the build fails otherwise) and new where the numpy version needs it.

Usage (from the repository root): PYTHONPATH=. python reference/tools/build_hw6_deep_cnn_notebook.py [SEED] [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_builder import main  # noqa: E402  (reference/tools is not a package)

SEED = Path("/work/shared/seeds/004_3cc72c6b7f6f3c21.txt")
OUT = Path(__file__).resolve().parent.parent / "hw6_deep_cnn" / "HW6.ipynb"

SEED_TEXT = (
    "`Convolution`은 `filter (kernel)`을 통하여 특정 **특징(feature)의 유무 및 위치**를 식별하는데 특화된 연산입니다.",
    "MLP에서와 마찬가지로 `conv layer`의 수와 `filter (feature map)`의 수는 **실험적**으로 결정되기 때문에 여러 개의 모델을 생성 및 학습하여 성능을 비교해보셔야 합니다.",
    "**학습이 전혀 안 되고 있습니다...!** 왜 그럴까요...?",
    "`Gradient Vanishing Problem`: `Backpropagation`에 의해 gradient가 앞단으로 전파되면서 점점 옅어지게 되어 너무 작아져서 **소멸**하게 되는 문제",
    "`배치 정규화 (Batch Normalization)`: 각 레이어를 통과할 때마다 **정규화 (normalization)**하는 레이어를 두어 분포가 변형되지 않도록 조절하는 메커니즘",
    "나쁜 분포의 데이터가 relu를 통과하면 학습이 잘 일어나지 않는다. -> **relu를 통과시키기 전**에 분포를 예쁘게 만들어준다 (batch normalization을 적용해준다)!",
)

CELLS: list[tuple[str, str]] = [
    ("md", """# HW6: 배치 정규화 (Batch Normalization), 깊은 CNN과 잔차 학습 (Residual Connection)

이번 과제에서는 강의 노트의 Keras 예제(`MyModel(input_shape, output_dim, num_filters_list)`)를 `intro2ai`
패키지(numpy)로 옮깁니다. 깊은 CNN이 왜 학습되지 않는지, 배치 정규화와 잔차 연결이 어떻게 해결하는지 직접 확인합니다.

- 작성할 파일
  - `intro2ai/layers.py`: `batchnorm_forward`, `batchnorm_backward`, `batchnorm_backward_alt`,
    `spatial_batchnorm_forward`, `spatial_batchnorm_backward`
  - `intro2ai/layer_utils.py`: `conv_bn_relu_forward/backward`, `residual_block_forward/backward`
  - `intro2ai/classifiers/convnet.py`: `ConvNet`
- HW5의 layer들(합성곱, 풀링의 빠른 버전 `fast_layers`)은 주어진 코드입니다.
- 채점 안내: `layer_utils.py`와 `convnet.py`는 배치 정규화를 꼭 `spatial_batchnorm_forward/backward`로
  호출하세요. 채점기는 이 두 함수를 정해진 대체 함수로 바꿔서도 한 번 더 실행하므로, Q1-Q2의 실수가
  Q3-Q4의 점수를 깎지 않습니다."""),
    ("code", """import time
import numpy as np
import matplotlib.pyplot as plt

from intro2ai.data_utils import get_CIFAR10_data
from intro2ai.layers import (batchnorm_forward, batchnorm_backward, batchnorm_backward_alt,
                             spatial_batchnorm_forward, spatial_batchnorm_backward)
from intro2ai.layer_utils import residual_block_forward, residual_block_backward
from intro2ai.classifiers.convnet import ConvNet
from intro2ai.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from intro2ai.experiment import train_run, DEEP_LIST, RESIDUAL_LIST

%matplotlib inline
plt.rcParams['figure.figsize'] = (10.0, 4.0)

%load_ext autoreload
%autoreload 2

def rel_error(x, y):
    \"\"\" returns relative error \"\"\"
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))"""),
    ("md", """# Part 1) CNN을 이용한 CIFAR10 이미지 분류

## Step 0) 데이터 불러오기

기본은 내장 데이터셋(CIFAR-10과 비슷한 10개 클래스의 32x32 컬러 이미지)입니다. `intro2ai`의 데이터는
**NCHW** `(N, C, H, W)` 모양이고, 학습 이미지의 평균을 빼서 정규화되어 있습니다
(Keras 예제의 `x_train / 255`와 같은 역할). 라벨은 one-hot이 아니라 정수이고, `softmax_loss`가 받습니다."""),
    ("code", """data = get_CIFAR10_data(num_training=2000)
for k, v in data.items():
    print(f'{k}: {v.shape}')"""),
    ("md", """## Step 1) 네트워크 구조 설계

 - `Convolution`은 `filter (kernel)`을 통하여 특정 **특징(feature)의 유무 및 위치**를 식별하는데 특화된 연산입니다.
 - 여기서는 3x3 filter, stride 1, zero padding 1 (`padding="same"`)의 합성곱과 2x2 max pooling을 씁니다.

 - MLP에서와 마찬가지로 `conv layer`의 수와 `filter (feature map)`의 수는 **실험적**으로 결정되기 때문에 여러 개의 모델을 생성 및 학습하여 성능을 비교해보셔야 합니다.

`ConvNet(num_filters_list, input_dim, num_classes, use_batch_norm, weight_scale, reg, dtype)`은 `num_filters_list`
(예: `[16, 'max_pool', 32, 'max_pool', 64, 'max_pool', 128, 'max_pool']`)의 숫자마다 conv - ReLU 층을,
`'max_pool'`마다 pooling 층을 만들고, 마지막에 flatten - affine - softmax를 붙입니다. 파라미터 이름은
`W1, b1, W2, b2, ...` (conv 층 순서), 마지막 affine 층은 `W{L+1}, b{L+1}`입니다.
`intro2ai/classifiers/convnet.py`의 `ConvNet`을 완성하세요 (배치 정규화와 잔차 블록 부분은 Part 2에서)."""),
    ("code", """def summary(model):
    \"\"\"Keras의 model.summary()처럼 층마다 파라미터 수를 보여줍니다.\"\"\"
    total = 0
    for name, value in model.params.items():
        print(f'{name:16s} {str(value.shape):20s} {value.size:8d}')
        total += value.size
    print('Total params:', total)

model = ConvNet([16, 'max_pool', 32, 'max_pool', 64, 'max_pool', 128, 'max_pool'], input_dim=(3, 32, 32))
summary(model)
# Keras의 summary와 같아야 합니다: conv 1은 448개 (= 3*3*3*16 + 16), conv 2는 4,640개
print('conv 1:', model.params['W1'].size + model.params['b1'].size)
print('conv 2:', model.params['W2'].size + model.params['b2'].size)"""),
    ("md", """작은 가중치로 초기화한 네트워크의 손실은 log(10) ≈ 2.3 근처여야 합니다. 수치 미분으로 gradient도 확인합니다."""),
    ("code", """np.random.seed(231)
model = ConvNet([16, 'max_pool', 32, 'max_pool'], weight_scale=1e-3)
X = np.random.randn(20, 3, 32, 32)
y = np.random.randint(10, size=20)
loss, grads = model.loss(X, y)
print('Initial loss (no regularization): ', loss)

small = ConvNet([3, 'max_pool', 4], input_dim=(3, 8, 8), weight_scale=0.3, reg=0.1, dtype=np.float64)
X = np.random.randn(3, 3, 8, 8)
y = np.random.randint(10, size=3)
loss, grads = small.loss(X, y)
for name in sorted(small.params):
    f = lambda _: small.loss(X, y)[0]
    grad_num = eval_numerical_gradient(f, small.params[name], verbose=False, h=1e-6)
    print('%s max relative error: %e' % (name, rel_error(grad_num, grads[name])))"""),
    ("md", """# Part 2) **배치 정규화 (Batch Normalization)**와 **잔차 학습 (Residual Connection)**

 - `Gradient Vanishing Problem`: `Backpropagation`에 의해 gradient가 앞단으로 전파되면서 점점 옅어지게 되어 너무 작아져서 **소멸**하게 되는 문제

 - `배치 정규화 (Batch Normalization)`: 각 레이어를 통과할 때마다 **정규화 (normalization)**하는 레이어를 두어 분포가 변형되지 않도록 조절하는 메커니즘

학습 때는 배치의 평균과 (N으로 나눈) 분산으로 정규화하고 `gamma`, `beta`로 크기와 위치를 조절합니다.
테스트 때는 학습하면서 모아 둔 `running_mean`, `running_var`를 씁니다:

`running_mean = momentum * running_mean + (1 - momentum) * sample_mean`

`intro2ai/layers.py`의 `batchnorm_forward`를 완성하세요."""),
    ("code", """np.random.seed(231)
N, D1, D2, D3 = 200, 50, 60, 3
X = np.random.randn(N, D1)
W1 = np.random.randn(D1, D2)
W2 = np.random.randn(D2, D3)
a = np.maximum(0, X.dot(W1)).dot(W2)

print('Before batch normalization:')
print('  means:', a.mean(axis=0), '\\n  stds: ', a.std(axis=0))

gamma, beta = np.ones((D3,)), np.zeros((D3,))
a_norm, _ = batchnorm_forward(a, gamma, beta, {'mode': 'train'})
print('After batch normalization (gamma=1, beta=0): means ~0, stds ~1')
print('  means:', a_norm.mean(axis=0), '\\n  stds: ', a_norm.std(axis=0))

gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
a_norm, _ = batchnorm_forward(a, gamma, beta, {'mode': 'train'})
print('After batch normalization (gamma=[1, 2, 3], beta=[11, 12, 13]): means ~beta, stds ~gamma')
print('  means:', a_norm.mean(axis=0), '\\n  stds: ', a_norm.std(axis=0))"""),
    ("code", """# 테스트 모드: 학습 배치 50개로 running 평균을 모은 뒤, 테스트 배치의 평균은 ~0, 표준편차는 ~1이어야 합니다.
np.random.seed(231)
bn_param = {'mode': 'train'}
gamma, beta = np.ones(D3), np.zeros(D3)
for t in range(50):
    X = np.random.randn(N, D1)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    batchnorm_forward(a, gamma, beta, bn_param)
bn_param['mode'] = 'test'
X = np.random.randn(N, D1)
a = np.maximum(0, X.dot(W1)).dot(W2)
a_norm, _ = batchnorm_forward(a, gamma, beta, bn_param)
print('After batch normalization (test-time):')
print('  means:', a_norm.mean(axis=0), '\\n  stds: ', a_norm.std(axis=0))"""),
    ("md", """`batchnorm_backward`: 계산 그래프를 그려서 단계별로 역전파하세요. 수치 미분과 비교합니다 (오차 1e-8 이하)."""),
    ("code", """np.random.seed(231)
N, D = 4, 5
x = 5 * np.random.randn(N, D) + 12
gamma = np.random.randn(D)
beta = np.random.randn(D)
dout = np.random.randn(N, D)

bn_param = {'mode': 'train'}
fx = lambda x: batchnorm_forward(x, gamma, beta, bn_param)[0]
fg = lambda a: batchnorm_forward(x, a, beta, bn_param)[0]
fb = lambda b: batchnorm_forward(x, gamma, b, bn_param)[0]

dx_num = eval_numerical_gradient_array(fx, x, dout)
da_num = eval_numerical_gradient_array(fg, gamma.copy(), dout)
db_num = eval_numerical_gradient_array(fb, beta.copy(), dout)

_, cache = batchnorm_forward(x, gamma, beta, bn_param)
dx, dgamma, dbeta = batchnorm_backward(dout, cache)
print('dx error: ', rel_error(dx_num, dx))
print('dgamma error: ', rel_error(da_num, dgamma))
print('dbeta error: ', rel_error(db_num, dbeta))"""),
    ("md", """`batchnorm_backward_alt`: 종이 위에서 식을 정리하면 dx를 한 줄로 쓸 수 있습니다. 결과는 같고 더 빨라야 합니다
(채점: CPU 시간이 단계별 버전의 0.85배 이하)."""),
    ("code", """np.random.seed(231)
N, D = 2000, 500
x = 5 * np.random.randn(N, D) + 12
gamma = np.random.randn(D)
beta = np.random.randn(D)
dout = np.random.randn(N, D)

_, cache = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
best = {}
for backward in (batchnorm_backward, batchnorm_backward_alt) * 5:
    t0 = time.process_time()
    result = backward(dout, cache)
    best[backward.__name__] = min(best.get(backward.__name__, np.inf), time.process_time() - t0)
dx1, dgamma1, dbeta1 = batchnorm_backward(dout, cache)
dx2, dgamma2, dbeta2 = batchnorm_backward_alt(dout, cache)
print('dx difference: ', rel_error(dx1, dx2))
print('dgamma difference: ', rel_error(dgamma1, dgamma2))
print('dbeta difference: ', rel_error(dbeta1, dbeta2))
print('speedup: %.2fx' % (best['batchnorm_backward'] / best['batchnorm_backward_alt']))"""),
    ("md", """## 합성곱 층의 배치 정규화 (Spatial Batch Normalization)

이미지 `(N, C, H, W)`에서는 **채널마다** N, H, W 전체에 대해 평균과 분산을 구합니다 (Keras의
`BatchNormalization()`이 conv 뒤에서 하는 일). `spatial_batchnorm_forward/backward`를 완성하세요:
앞에서 만든 `batchnorm_forward`를 `(N*H*W, C)` 모양으로 바꾼 입력에 쓰면 됩니다."""),
    ("code", """np.random.seed(231)
N, C, H, W = 2, 3, 4, 5
x = 4 * np.random.randn(N, C, H, W) + 10
gamma, beta = np.asarray([3.0, 4.0, 5.0]), np.asarray([6.0, 7.0, 8.0])
out, _ = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
print('After spatial batch normalization (means ~beta, stds ~gamma):')
print('  means: ', out.mean(axis=(0, 2, 3)))
print('  stds: ', out.std(axis=(0, 2, 3)))

dout = np.random.randn(N, C, H, W)
bn_param = {'mode': 'train'}
gamma, beta = np.random.randn(C), np.random.randn(C)
fx = lambda x: spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]
fg = lambda a: spatial_batchnorm_forward(x, a, beta, bn_param)[0]
fb = lambda b: spatial_batchnorm_forward(x, gamma, b, bn_param)[0]
dx_num = eval_numerical_gradient_array(fx, x, dout)
da_num = eval_numerical_gradient_array(fg, gamma.copy(), dout)
db_num = eval_numerical_gradient_array(fb, beta.copy(), dout)
_, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
print('dx error: ', rel_error(dx_num, dx))
print('dgamma error: ', rel_error(da_num, dgamma))
print('dbeta error: ', rel_error(db_num, dbeta))"""),
    ("md", """## 배치 정규화를 넣은 네트워크

 - 나쁜 분포의 데이터가 relu를 통과하면 학습이 잘 일어나지 않는다. -> **relu를 통과시키기 전**에 분포를 예쁘게 만들어준다 (batch normalization을 적용해준다)!

`layer_utils.py`의 `conv_bn_relu_forward/backward` (conv → spatial batchnorm → ReLU)를 완성하고,
`ConvNet(..., use_batch_norm=True)`이면 conv 층마다 `gamma{k}`(1로 초기화), `beta{k}`(0으로 초기화)를 만들고
`self.bn_params`에 `{'mode': 'train'}`을 하나씩 넣으세요. `loss(X)` (y 없이)는 테스트 모드입니다.

Keras의 summary는 BatchNormalization 층마다 4C개(`gamma`, `beta`, 그리고 학습되지 않는 moving mean/variance)를
세지만, 여기서는 학습되는 `gamma`, `beta` (2C개)만 `params`에 있고 running 통계는 `bn_params`에 있습니다."""),
    ("code", """vgg = ConvNet([64, 64, 'max_pool', 128, 128, 'max_pool', 256, 256, 256, 'max_pool', 512, 512, 512, 'max_pool'],
              use_batch_norm=True)
print('conv 1: %d, batch norm 1: %d (Keras: 1792 and 256, of which 128 trainable)' % (
    vgg.params['W1'].size + vgg.params['b1'].size, vgg.params['gamma1'].size + vgg.params['beta1'].size))
print('Total params:', sum(v.size for v in vgg.params.values()))
del vgg

np.random.seed(231)
small = ConvNet([3, 3, 'max_pool', 4], input_dim=(3, 8, 8), use_batch_norm=True, weight_scale=0.3, reg=0.05,
                dtype=np.float64)
X = np.random.randn(5, 3, 8, 8)
y = np.random.randint(10, size=5)
loss, grads = small.loss(X, y)
for name in sorted(small.params):
    f = lambda _: small.loss(X, y)[0]
    grad_num = eval_numerical_gradient(f, small.params[name], verbose=False, h=1e-6)
    print('%s max relative error: %e' % (name, rel_error(grad_num, grads[name])))
# (BN 바로 앞의 conv bias b{k}는 gradient가 0입니다: 평균을 빼면 사라지기 때문. 상대 오차가 커 보여도 괜찮습니다.)"""),
    ("md", """## 잔차 학습 (Residual Connection)

ResNet의 잔차 블록: `out = relu(BN(conv(relu(BN(conv(x))))) + shortcut(x))`. 채널 수나 stride가 바뀌면
shortcut은 1x1 합성곱(projection, `Wp`, `bp`)이고, 아니면 x 그대로(identity)입니다. 블록 안에서 gradient는
두 갈래로 흐르고, shortcut 덕분에 앞 층까지 작아지지 않고 전달됩니다.
`residual_block_forward/backward`를 완성하고 `ConvNet(..., use_residual=True)`이면 숫자마다 잔차 블록을 쓰세요."""),
    ("code", """np.random.seed(231)
for C, F, stride in [(3, 3, 1), (3, 5, 2)]:
    x = np.random.randn(2, C, 6, 8)
    p = {'W1': np.random.randn(F, C, 3, 3) / 3, 'b1': np.random.randn(F), 'gamma1': np.random.randn(F),
         'beta1': np.random.randn(F), 'W2': np.random.randn(F, F, 3, 3) / 3, 'b2': np.random.randn(F),
         'gamma2': np.random.randn(F), 'beta2': np.random.randn(F)}
    if C != F or stride > 1:
        p['Wp'], p['bp'] = np.random.randn(F, C, 1, 1), np.random.randn(F)
    bn_params = [{'mode': 'train'}, {'mode': 'train'}]
    out, cache = residual_block_forward(x, p, bn_params, stride)
    dout = np.random.randn(*out.shape)
    dx, grads = residual_block_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda x: residual_block_forward(x, p, bn_params, stride)[0], x, dout)
    print(f'{C} -> {F} channels, stride {stride}: out {out.shape}, dx error {rel_error(dx, dx_num):e}')
    for name in ('W1', 'gamma2', 'Wp'):
        if name in p:
            num = eval_numerical_gradient_array(lambda v: residual_block_forward(x, p, bn_params, stride)[0], p[name], dout)
            print(f'  {name} error {rel_error(grads[name], num):e}')"""),
    ("md", """## 실험: 깊은 네트워크는 왜 학습이 안 될까?

시드 노트의 VGG16 모방 리스트 `[64, 64, 'max_pool', 128, 128, 'max_pool', 256, 256, 256, 'max_pool', 512, 512, 512, 'max_pool']`를
numpy로 2코어 컴퓨터에서 학습할 수 있게, 깊이(conv 10개)는 그대로 두고 filter 수를 1/8로 줄인 `DEEP_LIST`를 씁니다.
주어진 `train_run(data, config, seed)`은 같은 데이터, 같은 시드로 세 가지를 학습합니다:
`'plain'` (배치 정규화 없음), `'batchnorm'` (conv - BN - ReLU), `'residual'` (`RESIDUAL_LIST`의 잔차 블록 4개, conv 8개).

 - **학습이 전혀 안 되고 있습니다...!** 왜 그럴까요...?"""),
    ("code", """print('DEEP_LIST:', DEEP_LIST)
print('RESIDUAL_LIST:', RESIDUAL_LIST)
solvers = {}
for config in ('plain', 'batchnorm', 'residual'):
    t0 = time.process_time()
    solvers[config] = train_run(data, config, seed=0, num_epochs=3, batch_size=50, learning_rate=1e-3)
    history = solvers[config].loss_history
    print(f'{config:9s} loss {np.mean(history[:10]):.3f} -> {np.mean(history[-10:]):.3f}  '
          f'val acc {solvers[config].val_acc_history[-1]:.3f}  ({time.process_time() - t0:.0f} s CPU)')"""),
    ("code", """plt.subplot(1, 2, 1)
for config, solver in solvers.items():
    plt.plot(solver.loss_history, label=config, alpha=0.8)
plt.xlabel('iteration'); plt.ylabel('training loss'); plt.legend()
plt.subplot(1, 2, 2)
for config, solver in solvers.items():
    plt.plot(solver.val_acc_history, '-o', label=config)
plt.xlabel('epoch'); plt.ylabel('validation accuracy'); plt.legend()
plt.show()"""),
    ("md", """## 결과 (results)

세 손실 곡선을 비교하고 설명하세요. 배치 정규화가 없는 깊은 네트워크의 손실은 왜 log(10) ≈ 2.30에서 움직이지
않나요? (힌트: 초기화 직후 층마다 활성값의 크기가 어떻게 변하는지, 그리고 gradient vanishing.) 배치 정규화와
잔차 연결은 각각 어떻게 이 문제를 해결하나요?

**답:** (여기에 작성하세요)"""),
]


if __name__ == "__main__":
    main(CELLS, SEED_TEXT, SEED, OUT)
