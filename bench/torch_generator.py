"""PyTorch and ONNX Runtime side of `cargo bench -p toonflow-train --bench gan`.

Builds toonflow's generator and PatchGAN discriminator in PyTorch with the same layer names, loads
the weights the Rust bench wrote (bench/out/bench-*.safetensors), checks that the outputs agree,
exports the generator to ONNX, and times inference (256x256, 456x256, 1280x720) in PyTorch and ONNX Runtime
and one training step (batch 4, 256x256) in PyTorch. Prints JSON for the Rust bench to tabulate.
Usage: bench/.venv/bin/python bench/torch_generator.py bench/out
"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

torch.set_num_threads(os.cpu_count() or 1)
out_dir = sys.argv[1]


class LayerNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.group_norm(x, 1, self.gamma, self.beta, eps=1e-5)


class ReflectConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.pad = k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad,) * 4, mode="reflect") if self.pad else x)


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.conv, self.norm = ReflectConv(cin, cout, k, stride), LayerNorm2d(cout)

    def forward(self, x):
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class InvertedResidual(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.expand = ConvNormAct(c, hidden, 1)
        self.depthwise = ReflectConv(hidden, hidden, 3, groups=hidden)
        self.depthwise_norm = LayerNorm2d(hidden)
        self.project = ReflectConv(hidden, c, 1)
        self.project_norm = LayerNorm2d(c)

    def forward(self, x):
        h = F.leaky_relu(self.depthwise_norm(self.depthwise(self.expand(x))), 0.2)
        return x + self.project_norm(self.project(h))


class Generator(nn.Module):
    def __init__(self, c=32, blocks=8, expansion=2, full_resolution_kernel=3):
        super().__init__()
        m = 4 * c
        self.encoder = nn.ModuleList([ConvNormAct(3, c, 7), ConvNormAct(c, 2 * c, 3, 2), ConvNormAct(2 * c, 2 * c, 3),
                                      ConvNormAct(2 * c, m, 3, 2), ConvNormAct(m, m, 3)])
        self.blocks = nn.ModuleList([InvertedResidual(m, m * expansion) for _ in range(blocks)])
        self.decoder_quarter = nn.ModuleList([ConvNormAct(m, m, 3)])
        self.decoder_half = nn.ModuleList([ConvNormAct(m, 2 * c, 3), ConvNormAct(2 * c, 2 * c, 3)])
        self.decoder_full = nn.ModuleList([ConvNormAct(2 * c, c, 3), ConvNormAct(c, c, full_resolution_kernel)])
        self.to_rgb = ReflectConv(c, 3, 1)

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        for layer in [*self.encoder, *self.blocks, *self.decoder_quarter]:
            x = layer(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        for layer in self.decoder_half:
            x = layer(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        for layer in self.decoder_full:
            x = layer(x)
        return torch.tanh(self.to_rgb(x))[:, :, :h, :w]


class SpectralConv(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=k // 2)
        self.register_buffer("u", F.normalize(torch.randn(cout), dim=0))

    def power_iteration(self):
        with torch.no_grad():
            w = self.conv.weight.flatten(1)
            v = F.normalize(w.t() @ self.u, dim=0)
            self.u.copy_(F.normalize(w @ v, dim=0))

    def forward(self, x):
        w = self.conv.weight.flatten(1)
        v = F.normalize(w.detach().t() @ self.u, dim=0)
        sigma = self.u @ (w @ v)
        b = self.conv.bias.view(1, -1, 1, 1)
        return (self.conv(x) - b) / sigma + b


class PatchDiscriminator(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.layers = nn.ModuleList([SpectralConv(3, c, 3, 1), SpectralConv(c, 2 * c, 3, 2), SpectralConv(2 * c, 4 * c, 3, 1),
                                     SpectralConv(4 * c, 4 * c, 3, 2), SpectralConv(4 * c, 8 * c, 3, 1)])
        self.head = SpectralConv(8 * c, 1, 3, 1)

    def forward(self, x):
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return self.head(x)


def pattern(b, h, w):
    c, y, x = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    p = 0.8 * np.sin(x * 0.05 + c) * np.cos(y * 0.07)
    return np.clip(np.broadcast_to(p, (b, 3, h, w)), -1, 1).astype(np.float32)


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


g_path = os.path.join(out_dir, "bench-generator.safetensors")
with safe_open(g_path, "pt") as f:
    config = json.loads(f.metadata()["toonflow.config"])  # the architecture the Rust side wrote
g = Generator(config["base_channels"], config["residual_blocks"], config["expansion"],
              config.get("full_resolution_kernel", 7))
g.load_state_dict(load_file(g_path))
g.eval()
d = PatchDiscriminator()
d.load_state_dict(load_file(os.path.join(out_dir, "bench-discriminator.safetensors")))

result = {}
x = torch.from_numpy(pattern(1, 96, 128))
ours = np.array(json.load(open(os.path.join(out_dir, "bench-generator-output.json"))), dtype=np.float32)
with torch.no_grad():
    result["parity_torch"] = float(np.abs(g(x).numpy().ravel() - ours).max())

onnx_path = os.path.join(out_dir, "bench-generator.onnx")
torch.onnx.export(g, (x,), onnx_path, input_names=["image"], output_names=["styled"], opset_version=17,
                  dynamic_axes={"image": {2: "h", 3: "w"}, "styled": {2: "h", 3: "w"}}, dynamo=False)
import onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = os.cpu_count() or 1
session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
result["parity_onnxruntime"] = float(np.abs(session.run(None, {"image": x.numpy()})[0].ravel() - ours).max())

for name, h, w, reps in [("inference 256x256", 256, 256, 5), ("inference 456x256", 256, 456, 5),
                         ("inference 1280x720", 720, 1280, 3)]:
    x = torch.from_numpy(pattern(1, h, w))
    with torch.no_grad():
        t = median_ms(lambda: g(x), reps)
    o = median_ms(lambda: session.run(None, {"image": x.numpy()}), reps)
    result[name] = {"torch": t, "onnxruntime": o}

g.train()
opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
photos = torch.from_numpy(pattern(4, 256, 256))
style = photos.flip(3)


def train_step():
    for layer in [*d.layers, d.head]:
        layer.power_iteration()
    fake = g(photos).detach()
    d_loss = ((d(style) - 1) ** 2).mean() + (d(fake) ** 2).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    fake = g(photos)
    g_loss = ((d(fake) - 1) ** 2).mean() + (fake - photos).abs().mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


result["train step, batch 4, 256x256"] = {"torch": median_ms(train_step, 3)}
result["versions"] = {"torch": torch.__version__, "onnxruntime": ort.__version__}
print(json.dumps(result))
