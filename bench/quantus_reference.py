"""The peer of `bench/metrics_bench.ts`'s reference trio: Quantus 0.6.0 + Captum on PyTorch.

FaithfulnessCorrelation, MaxSensitivity and MPRT on resnet18 at 224 px (random weights, random
inputs, 4 classes), with Grad-CAM (Captum's LayerGradCam on `layer4`, bilinear upsampling) and
Integrated Gradients (Captum, zero baseline, Gauss-Legendre, 50 steps), at the settings our
`quantus` stage uses by default (the reference pipeline's): FaithfulnessCorrelation 50 runs of 50
pixels, black baseline; MaxSensitivity 7 samples of uniform noise +-0.2; MPRT top-down, Spearman,
the average over layers; abs and normalise on where ours has them. Seconds per image per metric.

As `metrics_bench.ts` does, IG re-explaining (MaxSensitivity, MPRT) runs on one image at 8 steps
(MaxSensitivity 2 samples) and is scaled linearly to 50 steps (and 7 samples): `--full` runs the
full settings instead.

Quantus and Captum are not on PyPI's mirror here: run with their sources on PYTHONPATH and Debian's
python3-torch, python3-torchvision, python3-scipy, python3-skimage, python3-sklearn, python3-pandas,
python3-opencv, python3-tqdm, python3-matplotlib and python3-cachetools:

    PYTHONPATH=/path/to/quantus-0.6.0:/path/to/captum-0.8.0 /usr/bin/python3 \
        bench/quantus_reference.py --threads 2 [--methods gradcam,integrated_gradients] [--full] \
        [--device cuda]

`--device cuda` runs the model, the explanations and Quantus's re-explanations on the GPU (the
peer of our webgpu backend, `bench/gpu_round.sh`).
"""

import argparse
import time

import numpy as np
import scipy.stats
import torch
import torchvision

import quantus
from captum.attr import IntegratedGradients, LayerGradCam, LayerAttribution

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--images", type=int, default=8, help="images for the Grad-CAM trio")
parser.add_argument("--methods", default="gradcam,integrated_gradients")
parser.add_argument("--metrics", default="faithfulness_correlation,max_sensitivity,mprt")
parser.add_argument("--full", action="store_true", help="IG at 50 steps and 7 samples, unscaled")
parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU peer")
args = parser.parse_args()
if args.device != "cpu" and not torch.cuda.is_available():
    raise SystemExit(f"--device {args.device}: this PyTorch sees no CUDA device; use --device cpu")
DEVICE = torch.device(args.device)
torch.set_num_threads(args.threads)
torch.manual_seed(0)

SIZE_PX = 224
CLASSES = 4
IG_FULL_STEPS = 50
FULL_SAMPLES = 7

model = torchvision.models.resnet18(num_classes=CLASSES).eval().to(DEVICE)


def explain_gradcam(model, inputs, targets, **kwargs):
    x = torch.as_tensor(inputs, dtype=torch.float32, device=DEVICE)
    y = torch.as_tensor(targets, dtype=torch.long, device=DEVICE)
    cam = LayerGradCam(model, model.layer4).attribute(x, target=y, relu_attributions=True)
    up = LayerAttribution.interpolate(cam, (SIZE_PX, SIZE_PX), interpolate_mode="bilinear")
    return up.detach().cpu().numpy()


def make_explain_ig(n_steps):
    def explain_ig(model, inputs, targets, **kwargs):
        x = torch.as_tensor(inputs, dtype=torch.float32, device=DEVICE)
        y = torch.as_tensor(targets, dtype=torch.long, device=DEVICE)
        attr = IntegratedGradients(model).attribute(
            x, target=y, baselines=torch.zeros_like(x), n_steps=n_steps, method="gausslegendre"
        )
        return attr.sum(dim=1, keepdim=True).detach().cpu().numpy()

    return explain_ig


def pearson_rows(a, b, batched=False, **kwargs):
    """Quantus's `correlation_pearson`, row by row: its batched branch passes `axis` to
    `scipy.stats.pearsonr`, which Debian's scipy 1.10 lacks (the same values; Quantus itself takes
    this branch on Python < 3.10)."""
    if batched:
        return np.array([scipy.stats.pearsonr(a_i, b_i)[0] for a_i, b_i in zip(a, b)])
    return scipy.stats.pearsonr(a, b)[0]


def metric(name, samples):
    if name == "faithfulness_correlation":
        return quantus.FaithfulnessCorrelation(
            nr_runs=50, subset_size=50, perturb_baseline="black", abs=False, normalise=True,
            similarity_func=pearson_rows, return_aggregate=False, disable_warnings=True,
        )
    if name == "max_sensitivity":
        return quantus.MaxSensitivity(
            nr_samples=samples, lower_bound=0.2, abs=True, normalise=True,
            return_aggregate=False, disable_warnings=True,
        )
    if name == "mprt":
        return quantus.MPRT(
            layer_order="top_down", abs=True, normalise=True, return_average_correlation=True,
            disable_warnings=True,
        )
    raise SystemExit(f"unknown metric {name}")


device = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu"
print(f"torch {torch.__version__}, {args.threads} thread(s), {device}, quantus {quantus.__version__}")
print("| method | metric | images | s/image | scale | note |")
print("| --- | --- | ---: | ---: | ---: | --- |")
for method in args.methods.split(","):
    ig = method == "integrated_gradients"
    for name in args.metrics.split(","):
        # IG re-explaining is the slow case: measured reduced and scaled, as metrics_bench.ts does.
        reduced = ig and name != "faithfulness_correlation" and not args.full
        images = 1 if reduced else args.images
        steps = 8 if reduced else IG_FULL_STEPS
        samples = 2 if reduced and name == "max_sensitivity" else FULL_SAMPLES
        scale = (IG_FULL_STEPS / steps) * (FULL_SAMPLES / samples if name == "max_sensitivity" else 1)
        explain = make_explain_ig(steps) if ig else explain_gradcam
        rng = np.random.default_rng(1)
        x = rng.standard_normal((images, 3, SIZE_PX, SIZE_PX)).astype(np.float32)
        with torch.no_grad():
            y = model(torch.from_numpy(x).to(DEVICE)).argmax(dim=1).cpu().numpy()
        a = explain(model, x, y)
        start = time.perf_counter()
        metric(name, samples)(
            model=model, x_batch=x, y_batch=y, a_batch=a, explain_func=explain, device=args.device,
        )
        seconds = (time.perf_counter() - start) / images * scale
        note = f"IG {steps} steps, scaled x{scale:.2f}" if reduced else ""
        print(f"| {method} | {name} | {images} | {seconds:.2f} | {scale:.2f} | {note} |", flush=True)
