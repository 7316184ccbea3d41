"""PyTorch side of the side-by-side benchmark (`bench/side_by_side.ts` is ours).

Times, on the machine it runs on, what the issues compare us with: resnet18 and mobilenet_v2 at
224 px, batch 8 -- forward, forward + input gradient, a training step (AdamW, cross-entropy) -- and,
per image on resnet18, Grad-CAM and GradCAM++ at `layer4`, IG with 50 steps in one batch (Captum's
default), and FaithfulnessCorrelation's model work (50 forward passes of the perturbed batch, as
Quantus makes them). The explainers are written here with autograd hooks, the way Captum and
pytorch-grad-cam compute them, so the work per image is theirs; Captum, lime and Quantus are not
installable on our machines (no PyPI), PyTorch 1.13 and torchvision are (Debian's python3-torch,
python3-torchvision).

Run: /usr/bin/python3 bench/pytorch_reference.py --threads 1   (and --threads 2)
Prints one line per case: name, ms per image (median of the repeats), repeats.
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

BATCH = 8
SIZE_PX = 224
CLASSES = 4


def timed(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def model_named(name):
    model = getattr(torchvision.models, name)(num_classes=CLASSES)
    return model.eval()


def forward(model, x):
    with torch.no_grad():
        model(x)


def input_gradient(model, x, targets):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)
    return grad


def training_step(model, optimiser, x, targets):
    model.train()
    optimiser.zero_grad()
    F.cross_entropy(model(x), targets).backward()
    optimiser.step()
    model.eval()


def layer_activation_and_gradient(model, layer, x, targets):
    """The layer's output and the target logits' gradient with respect to it only."""
    captured = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.__setitem__("a", out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    activation = captured["a"]
    (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), activation)
    return activation, grad


def gradcam(model, layer, x, targets):
    activation, grad = layer_activation_and_gradient(model, layer, x, targets)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)


def gradcam_plus_plus(model, layer, x, targets):
    activation, grad = layer_activation_and_gradient(model, layer, x, targets)
    grad2, grad3 = grad**2, grad**3
    denominator = 2 * grad2 + (activation * grad3).sum(dim=(2, 3), keepdim=True)
    alpha = grad2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    weights = (alpha * F.relu(grad)).sum(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)


def integrated_gradients(model, x1, target, steps=50):
    """One image, all steps in one batch (Captum's default internal batch), Gauss-Legendre."""
    points, quadrature = np.polynomial.legendre.leggauss(steps)
    nodes = torch.tensor((points + 1) / 2, dtype=torch.float32)
    weights = torch.tensor(quadrature / 2, dtype=torch.float32)
    path = nodes[:, None, None, None] * x1  # zero baseline
    grads = input_gradient(model, path, target.repeat(steps))
    return x1[0] * (weights[:, None, None, None] * grads).sum(dim=0)


def faithfulness_correlation_model_work(model, x, runs=50, subset=50):
    """Quantus's loop: per run, one perturbed copy of the batch, one forward pass."""
    flat = x.reshape(x.shape[0], 3, -1)
    for _ in range(runs):
        perturbed = flat.clone()
        index = torch.randint(0, flat.shape[2], (x.shape[0], subset))
        perturbed.scatter_(2, index[:, None, :].expand(-1, 3, -1), 0.0)
        forward(model, perturbed.reshape(x.shape))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.rand(BATCH, 3, SIZE_PX, SIZE_PX) * 2 - 1
    targets = torch.arange(BATCH) % CLASSES
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {BATCH}")

    def report(name, seconds, images):
        print(f"{name}\t{seconds * 1000 / images:.1f} ms/image")

    for name in ["resnet18", "mobilenet_v2"]:
        model = model_named(name)
        optimiser = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-4)
        r = args.repeats
        report(f"{name} forward", timed(lambda: forward(model, x), r), BATCH)
        report(f"{name} forward + input gradient", timed(lambda: input_gradient(model, x, targets), r), BATCH)
        report(f"{name} training step", timed(lambda: training_step(model, optimiser, x, targets), r), BATCH)

    model = model_named("resnet18")
    layer = model.layer4
    r = args.repeats
    report("resnet18 gradcam", timed(lambda: gradcam(model, layer, x, targets), r), BATCH)
    report("resnet18 gradcam_plus_plus", timed(lambda: gradcam_plus_plus(model, layer, x, targets), r), BATCH)
    report("resnet18 integrated_gradients (50 steps)", timed(lambda: integrated_gradients(model, x[:1], targets[:1]), r), 1)
    report("resnet18 faithfulness_correlation model work", timed(lambda: faithfulness_correlation_model_work(model, x), 1, 0), BATCH)


if __name__ == "__main__":
    main()
