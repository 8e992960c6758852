"""Builds reference/hw8_cutmix_mixup/HW8.ipynb in the structure and language of seed 002.

The seed (an AIFFEL daily note, TensorFlow) goes: Cutmix (1) 이미지 섞기 - get_clip_box,
mix_2_images; (2) 라벨 섞기 - mix_2_label, cutmix; Mixup - mixup_2_images, mixup; 프로젝트:
CutMix 또는 Mixup 비교실험하기. Its TensorFlow code cannot run on the course's numpy package, so
the code cells are rewritten for intro2ai (NCHW batches, a seeded numpy Generator); the Korean
text is the seed's where it explains the method (SEED_TEXT must still be in the seed: the build
fails otherwise) and new where the numpy version needs it (the layout, the soft-label loss).

Usage (from the repository root): PYTHONPATH=. python reference/tools/build_hw8_cutmix_mixup_notebook.py [SEED] [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_builder import main  # noqa: E402  (reference/tools is not a package)

SEED = Path("/work/shared/seeds/002_2f0451a9692e03e3.txt")
OUT = Path(__file__).resolve().parent.parent / "hw8_cutmix_mixup" / "HW8.ipynb"

# Seed sentences quoted in the notebook (checked against the seed on every build).
SEED_TEXT = (
    "바탕이미지 a에서 바운딩 박스 바깥쪽 영역, 다른 이미지 b에서 바운딩 박스 안쪽 영역 가져와서 합치기.",
    "CutMix는 면적에 비례해서 라벨 섞음.",
    "두 이미지 쌍을 섞을 비율은 일정한 범위 내에서 랜덤하게 뽑고, 해당 비율값에 따라 두 이미지의 픽셀별 값과 라벨을 섞어주면 됩니다.",
    "최신 기법(CutMix 또는 Mixup)을 적용해 모델을 훈련해보고, 결과를 수치화 및 비교해보자.",
)

CELLS: list[tuple[str, str]] = [
    ("md", """# HW8: CutMix와 Mixup — 이미지 어디까지 우려볼까?

이번 과제에서는 데이터 증강 기법인 **CutMix**와 **Mixup**을 numpy로 직접 구현하고, HW5의 합성곱 신경망을
증강 없이 / CutMix / Mixup으로 학습시켜 결과를 비교합니다.

- 작성할 파일: `intro2ai/augment.py` (`get_clip_box`, `mix_2_images`, `mix_2_label`, `cutmix`,
  `mixup_2_images`, `mixup`), `intro2ai/layers.py` (`softmax_loss`: 섞인 라벨을 받는 손실)
- 배치는 `intro2ai`의 다른 코드와 같이 **NCHW** `(N, C, H, W)`, 이미지 한 장은 `(C, H, W)`입니다.
  축 1이 높이(행, y), 축 2가 너비(열, x)입니다. 박스는 `(xa, ya, xb, yb)`: 행 `ya:yb`, 열 `xa:xb`.
- 난수는 인자로 받은 `rng`(`numpy.random.Generator`)에서만 뽑습니다. 같은 시드면 같은 결과가 나옵니다.
- 채점은 정사각형이 아닌 이미지로 합니다. 높이와 너비를 바꿔 쓰면 점수를 잃습니다."""),
    ("code", """import numpy as np
import matplotlib.pyplot as plt

from intro2ai.data_utils import get_CIFAR10_data, EMBEDDED_CLASSES
from intro2ai.augment import get_clip_box, mix_2_images, mix_2_label, cutmix, mixup_2_images, mixup
from intro2ai.layers import softmax_loss
from intro2ai.gradient_check import eval_numerical_gradient
from intro2ai.experiment import train_run

%matplotlib inline
plt.rcParams['figure.figsize'] = (10.0, 4.0)

%load_ext autoreload
%autoreload 2

def rel_error(x, y):
    \"\"\" returns relative error \"\"\"
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))

def show(image):
    \"\"\"(C, H, W) 이미지를 0..1로 늘려서 보여줍니다 (데이터는 평균을 뺀 값).\"\"\"
    image = image.transpose(1, 2, 0)
    plt.imshow((image - image.min()) / (image.max() - image.min() + 1e-8))
    plt.axis('off')"""),
    ("code", """# 데이터: 기본은 내장 데이터셋(CIFAR-10과 비슷한 10개 클래스의 32x32 컬러 이미지)입니다.
data = get_CIFAR10_data(num_training=2000)
for k, v in data.items():
    print(f'{k}: {v.shape}')
num_classes = 10
rng = np.random.default_rng(231)"""),
    ("md", """## 심화 기법 (1) Cutmix Augmentation

### 1) 이미지 섞기

데이터셋에서 이미지 2개를 가져옵니다."""),
    ("code", """image_a, image_b = data['X_train'][0], data['X_train'][1]
label_a, label_b = data['y_train'][0], data['y_train'][1]

plt.subplot(1, 2, 1); show(image_a); plt.title(EMBEDDED_CLASSES[label_a])
plt.subplot(1, 2, 2); show(image_b); plt.title(EMBEDDED_CLASSES[label_b])
plt.show()"""),
    ("md", """`get_clip_box(rng, H, W, alpha)`: λ ~ Beta(α, α)를 뽑고, 박스의 너비 r_w = W·√(1−λ), 높이 r_h = H·√(1−λ)
(정수로 내림), 중심 (cx, cy)는 이미지의 픽셀 중에서 균등하게 뽑습니다. 박스는 중심 ± 변//2이고 이미지 밖으로
나가는 부분은 잘라냅니다(clip). 시드 코드는 정사각형 이미지(`img_size`)만 다뤘지만, 여기서는 H와 W가 다를 수
있습니다."""),
    ("code", """C, H, W = image_a.shape
xa, ya, xb, yb = get_clip_box(rng, H, W, alpha=1.0)
print(xa, ya, xb, yb)

# 직사각형 이미지에서도 박스가 이미지 안에 있어야 합니다.
boxes = np.array([get_clip_box(rng, 12, 40, 1.0) for _ in range(2000)])
print('inside:', np.all((boxes[:, 0] <= boxes[:, 2]) & (boxes[:, 2] <= 40) & (boxes[:, 1] <= boxes[:, 3]) & (boxes[:, 3] <= 12)))
print('mean width / W: %.3f, mean height / H: %.3f (비슷해야 합니다)' % (
    np.mean(boxes[:, 2] - boxes[:, 0]) / 40, np.mean(boxes[:, 3] - boxes[:, 1]) / 12))"""),
    ("md", """바탕이미지 a에서 바운딩 박스 바깥쪽 영역, 다른 이미지 b에서 바운딩 박스 안쪽 영역 가져와서 합치기.

`mix_2_images(image_a, image_b, box)`는 image_a의 복사본에 image_b의 박스 영역(모든 채널)을 붙입니다."""),
    ("code", """mixed_img = mix_2_images(image_a, image_b, (xa, ya, xb, yb))
show(mixed_img)
plt.show()

# 확인: 박스 안은 b, 밖은 a
x = np.arange(2 * 4 * 6, dtype=float).reshape(2, 4, 6)
out = mix_2_images(x, -x, (1, 2, 4, 3))
print(out[0])
print('pasted pixels:', np.sum(out[0] < 0), '(expected 3)')"""),
    ("md", """### 2) 라벨 섞기

이미지 섞었으니 라벨도 섞어야지.

CutMix는 면적에 비례해서 라벨 섞음.

[EX] A 클래스를 가진 원래 이미지 image_a와 B 클래스를 가진 이미지 image_b를 섞을 때 image_a를 0.4만큼 섞었을 경우,
0.4만큼의 클래스 A, 0.6만큼의 클래스 B를 가지도록 해줍니다. 이때 라벨 벡터는 보통 클래스를 표시하듯 클래스 1개만
1의 값을 가지는 원-핫 인코딩이 아니라 **A와 B 클래스에 해당하는 인덱스에 각각 0.4, 0.6을 배분하는 방식**을 사용

라벨의 비율은 **잘라낸(clip) 뒤의 박스**가 실제로 덮는 픽셀의 비율이어야 합니다."""),
    ("code", """mixed_label = mix_2_label(label_a, label_b, (xa, ya, xb, yb), H, W, num_classes)
print(np.round(mixed_label, 3), 'sum =', mixed_label.sum())
print('pasted fraction:', (xb - xa) * (yb - ya) / (H * W))"""),
    ("md", """이미지 섞기, 라벨 섞기 함수를 활용한 `cutmix` 함수: 배치의 각 이미지마다 배치 안에서 짝을 무작위로 뽑아 섞습니다.
(시드 코드의 `return mixed_imgs, mixed_label`은 마지막 라벨 하나만 돌려주는 버그입니다. 배치 전체의 `mixed_labels`를
돌려주세요.)"""),
    ("code", """images, labels = data['X_train'][:8], data['y_train'][:8]
mixed_imgs, mixed_labels = cutmix(images, labels, rng, alpha=1.0, num_classes=num_classes)
print(mixed_imgs.shape, mixed_labels.shape)
for i in range(8):
    plt.subplot(2, 4, i + 1); show(mixed_imgs[i])
    top = np.argsort(mixed_labels[i])[::-1][:2]
    plt.title(' / '.join(f'{EMBEDDED_CLASSES[c][:6]} {mixed_labels[i, c]:.2f}' for c in top if mixed_labels[i, c] > 0), fontsize=8)
plt.show()"""),
    ("md", """## 심화 기법 (2) Mixup Augmentation

[mixup: BEYOND EMPIRICAL RISK MINIMIZATION] https://arxiv.org/pdf/1710.09412.pdf

두 이미지 쌍을 섞을 비율은 일정한 범위 내에서 랜덤하게 뽑고, 해당 비율값에 따라 두 이미지의 픽셀별 값과 라벨을 섞어주면 됩니다.

`mixup_2_images(image_a, image_b, label_a, label_b, lam, num_classes)`는 주어진 λ로 `(1 − λ)·a + λ·b`를 이미지와
라벨에 똑같이 적용합니다. `mixup`은 이미지마다 짝과 λ ~ Beta(α, α)를 뽑습니다. (시드 코드의 `mixup`은 루프 밖의
`image_a`, `image_b`만 계속 섞는 버그가 있습니다. 배치의 이미지를 섞으세요.)"""),
    ("code", """lam = rng.beta(1.0, 1.0)
mixed_img, mixed_label = mixup_2_images(image_a, image_b, label_a, label_b, lam, num_classes)
show(mixed_img); plt.title(f'lam = {lam:.2f}'); plt.show()
print(np.round(mixed_label, 3))"""),
    ("code", """mixed_imgs, mixed_labels = mixup(images, labels, rng, alpha=0.4, num_classes=num_classes)
print(mixed_imgs.shape, mixed_labels.shape, 'label sums:', mixed_labels.sum(axis=1))
for i in range(8):
    plt.subplot(2, 4, i + 1); show(mixed_imgs[i])
plt.show()"""),
    ("md", """## 섞인 라벨로 학습하기: softmax_loss

섞인 라벨은 정수 클래스가 아니라 확률 벡터입니다. `intro2ai/layers.py`의 `softmax_loss(x, y)`가 정수 라벨 `(N,)`과
라벨 벡터 `(N, C)`(원-핫 또는 섞인 라벨)를 모두 받도록 구현하세요. 손실은 `-Σ_j y[i, j] log p[i, j]`의 평균이고,
기울기는 `(p − y) / N`입니다. 아래에서 수치 기울기와 비교합니다(오차 1e-7 이하)."""),
    ("code", """np.random.seed(231)
x = np.random.randn(5, num_classes)
y_soft = mixed_labels[:5]
loss, dx = softmax_loss(x, y_soft)
dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y_soft)[0], x, verbose=False)
print('loss:', loss)
print('dx error:', rel_error(dx, dx_num))

# 정수 라벨과 원-핫 라벨은 같은 손실을 줘야 합니다.
y_int = np.random.randint(num_classes, size=5)
print('int vs one-hot:', rel_error(softmax_loss(x, y_int)[0], softmax_loss(x, np.eye(num_classes)[y_int])[0]))"""),
    ("md", """## 프로젝트: CutMix 또는 Mixup 비교실험하기

최신 기법(CutMix 또는 Mixup)을 적용해 모델을 훈련해보고, 결과를 수치화 및 비교해보자.

CutMix는 배치 안에 있는 이미지끼리만 섞는 과정이기 때문에, 미리 배치 단위로 데이터를 뽑은 뒤 CutMix가 적용되어야
합니다. 주어진 `train_run(data, method, seed, ...)`은 HW5의 `ThreeLayerConvNet`을 `Solver`로 학습시키면서 학습 배치마다
`method`('none', 'cutmix', 'mixup')를 적용합니다. 세 방법은 같은 초기 가중치에서 시작합니다."""),
    ("code", """model_kwargs = dict(num_filters=16, filter_size=5, hidden_dim=64, weight_scale=1e-2)
solvers = {}
for method in ('none', 'cutmix', 'mixup'):
    solvers[method] = train_run(data, method, seed=0, num_epochs=3, batch_size=50, learning_rate=1e-3,
                                alpha=1.0, model_kwargs=model_kwargs)
    print(f'{method:7s} final loss {np.mean(solvers[method].loss_history[-24:]):.3f}  '
          f'val acc {solvers[method].val_acc_history[-1]:.3f}')"""),
    ("code", """plt.figure(figsize=(12, 4))
plt.subplot(1, 2, 1)
for method, solver in solvers.items():
    plt.plot(solver.loss_history, label=method, alpha=0.8)
plt.xlabel('iteration'); plt.ylabel('training loss'); plt.legend()
plt.subplot(1, 2, 2)
for method, solver in solvers.items():
    plt.plot(solver.val_acc_history, '-o', label=method)
plt.xlabel('epoch'); plt.ylabel('validation accuracy'); plt.legend()
plt.show()"""),
    ("md", """## 결과 토의 (results)

세 방법의 학습 손실 곡선과 검증 정확도를 비교하고 설명하세요. 섞인 라벨로 학습하면 왜 학습 손실이 높게 유지되나요?
이 작은 실험(이미지 2,000장, 3 epoch)에서 증강이 검증 정확도에 도움이 되었나요? 더 오래 학습하면 어떻게 될까요?

**답:** (여기에 작성하세요)"""),
]


if __name__ == "__main__":
    main(CELLS, SEED_TEXT, SEED, OUT)
