"""The PyTorch and onnxruntime side of `cargo xtask interop`.

`make`: a DARTS network in PyTorch (`darts_model.py`) with random weights and
non-trivial BatchNorm statistics, saved as DARTS' `train.py` saves it
(`torch.save(model.state_dict())`, or with `--checkpoint` a checkpoint dict of
a `DataParallel` model), for `edas import`.

`check`: loads weights into the PyTorch network (a `.pt` from `make`, or the
`.safetensors` that `edas export` wrote: strictly, BatchNorm's
`num_batches_tracked` counters aside), runs the images that `edas eval --dump`
wrote, and compares with edas' logits; with `--onnx` runs the model that
`edas export --format onnx` wrote in onnxruntime too. Prints one JSON line.
"""

import argparse
import json
import os

import numpy as np
import torch

from darts_model import Network, parse_genotype, randomize_batchnorm


def network(a):
    return Network(a.channels, a.classes, a.layers, a.aux, parse_genotype(a.genotype),
                   imagenet=a.kind == "imagenet")


def make(a):
    torch.manual_seed(a.seed)
    net = network(a)
    randomize_batchnorm(net, 224 if a.kind == "imagenet" else 32, passes=2)
    state = net.state_dict()
    if a.checkpoint:
        state = {"epoch": 1, "state_dict": {"module." + k: v for k, v in state.items()}}
    os.makedirs(a.out, exist_ok=True)
    torch.save(state, os.path.join(a.out, "model.pt"))


def load(net, path):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu")
        if "state_dict" in state:
            state = {k.removeprefix("module."): v for k, v in state["state_dict"].items()}
    result = net.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{path}: missing {missing}, unexpected {result.unexpected_keys}")
    return len(state)


def compare(got, want):
    return {"max_abs": float(np.abs(got - want).max()),
            "argmax_agree": float((got.argmax(1) == want.argmax(1)).mean())}


def check(a):
    images = np.load(os.path.join(a.dump, "images.npy"))
    edas = np.load(os.path.join(a.dump, "logits.npy"))
    net = network(a)
    tensors = load(net, a.weights)
    net.eval()
    with torch.no_grad():
        pytorch, _ = net(torch.from_numpy(images))
    out = {"examples": int(images.shape[0]), "tensors": tensors,
           "logit_scale": float(np.abs(edas).max()),
           "pytorch": compare(pytorch.numpy(), edas), "torch": torch.__version__}
    if a.onnx:
        import onnx
        import onnxruntime as ort
        onnx.checker.check_model(onnx.load(a.onnx), full_check=True)
        session = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
        (logits,) = session.run(None, {"images": images})
        out["onnx"] = compare(logits, edas)
        out["onnxruntime"] = ort.__version__
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["make", "check"])
    p.add_argument("--kind", choices=["cifar", "imagenet"], default="cifar")
    p.add_argument("--genotype", required=True, help="DARTS text")
    p.add_argument("--channels", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--aux", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="make: the directory for model.pt")
    p.add_argument("--checkpoint", action="store_true", help="make: a checkpoint dict")
    p.add_argument("--weights", help="check: model.pt or model.safetensors")
    p.add_argument("--dump", help="check: the directory `edas eval --dump` wrote")
    p.add_argument("--onnx", help="check: model.onnx")
    a = p.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    make(a) if a.command == "make" else check(a)


if __name__ == "__main__":
    main()
