#!/usr/bin/env python3
"""PyTorch (CPU) counterpart of bench/nn.bench.ts: the same score-MLP (66→256×3→66, SiLU, Fourier
σ-embedding added in every hidden layer, EDM preconditioning), the same EDM training step
(loss + backward + Adam) and the same bridge adapter-step loop (M = 20 score calls per step).
Benchmark only; never a runtime dependency.  usage: python3 bench/nn_torch.py [--threads T] [--json]
"""
import argparse, json, math, time
import torch

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=1)
p.add_argument('--dim', type=int, default=66)
p.add_argument('--width', type=int, default=256)
p.add_argument('--depth', type=int, default=3)
p.add_argument('--emb', type=int, default=32)
p.add_argument('--batches', default='1,64,1024')
p.add_argument('--seconds', type=float, default=2.0)
p.add_argument('--json', action='store_true')
p.add_argument('--arch', default='score-mlp', choices=['score-mlp', 'energy-mlp'], help='energy-mlp: the shipped architecture, score = -grad E by torch.autograd.grad')
p.add_argument('--serve', action='store_true', help='measure the sampler loop on request: one JSON line {"key": "loop_em20"|"loop_tweedie10", "B": N, "seconds": S[, "sigma": "one"]} in, {"rate": adapter steps/s} out, so bench/nn.bench.ts can alternate PyTorch and onnxruntime rounds')
p.add_argument('--skip', default='', help='sections to leave out: train, sample, loop (as bench/nn.bench.ts)')
p.add_argument('--export-onnx', metavar='FILE', help='export a tiny score model (d=4) as a third-party ONNX test fixture, with FILE.json holding a probe input and PyTorch\'s output, and exit')
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class ScoreMLP(torch.nn.Module):
    def __init__(self, d, w, depth, emb):
        super().__init__()
        n = emb // 2
        om = [0.5 * (32 / 0.5) ** (k / (n - 1)) for k in range(n)] if n > 1 else [0.5]
        self.register_buffer('om', torch.tensor(om).unsqueeze(0))
        self.w = torch.nn.ModuleList([torch.nn.Linear(d if l == 0 else w, w) for l in range(depth)])
        self.e = torch.nn.ModuleList([torch.nn.Linear(emb, w, bias=False) for _ in range(depth)])
        self.out = torch.nn.Linear(w, d)

    def F(self, v, cnoise):
        ph = cnoise * self.om
        emb = torch.cat([torch.sin(ph), torch.cos(ph)], 1)
        h = v
        for lw, le in zip(self.w, self.e):
            h = torch.nn.functional.silu(lw(h) + le(emb))
        return self.out(h)

    def score(self, u, sn):
        s = sn.unsqueeze(1)
        s2p1 = s * s + 1
        cin = torch.rsqrt(s2p1)
        F = self.F(u * cin, torch.log(s) / 4)
        return -u / s2p1 + F * cin / s

    def loss(self, u0, n, sn):
        s = sn.unsqueeze(1)
        s2p1 = s * s + 1
        u = u0 + n * s
        F = self.F(u * torch.rsqrt(s2p1), torch.log(s) / 4)
        target = (s * u0 - n) * torch.rsqrt(s2p1)
        return ((F - target) ** 2).mean()


class EnergyMLP(ScoreMLP):
    """energy-mlp (docs/training.md): E = |u|^2/(2(sn^2+1)) + Phi(c_in u, c_noise)/sn with a scalar head;
    the score -grad_u E by torch.autograd.grad (create_graph only when training)"""
    def __init__(self, d, w, depth, emb):
        super().__init__(d, w, depth, emb)
        self.out = torch.nn.Linear(w, 1)

    def score(self, u, sn, create_graph=False):
        s = sn.unsqueeze(1)
        s2p1 = s * s + 1
        cin = torch.rsqrt(s2p1)
        with torch.enable_grad():
            v = (u * cin).detach().requires_grad_(True)
            phi = self.F(v, torch.log(s) / 4).sum()
            g, = torch.autograd.grad(phi, v, create_graph=create_graph)
        return -u / s2p1 - g * cin / s

    def loss(self, u0, n, sn):
        s = sn.unsqueeze(1)
        u = u0 + n * s
        return ((s * s + 1) * (n + s * self.score(u, sn, create_graph=True)) ** 2).mean()


def timed(fn, seconds):
    fn(); fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        t = time.perf_counter() - t0
        if t >= seconds and n >= 3:
            return n / t


if a.export_onnx:
    tiny = ScoreMLP(4, 16, 2, 8)
    with torch.no_grad():
        tiny.out.weight.normal_(0, 0.3)

    class Contract(torch.nn.Module):
        """the app's ONNX contract: x[B, d], sigma[B] → score[B, d]"""
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, sigma):
            return self.m.score(x, sigma)

    x = torch.randn(5, 4)
    s = torch.tensor([0.01, 0.1, 0.5, 2.0, 10.0])
    torch.onnx.export(Contract(tiny), (x[:2], s[:2]), a.export_onnx, input_names=['x', 'sigma'], output_names=['score'],
                      dynamic_axes={'x': {0: 'B'}, 'sigma': {0: 'B'}, 'score': {0: 'B'}}, opset_version=17)
    with torch.no_grad():
        y = Contract(tiny)(x, s)
    with open(a.export_onnx + '.json', 'w') as f:
        json.dump({'torch': torch.__version__, 'x': x.flatten().tolist(), 'sigma': s.tolist(), 'score': y.flatten().tolist()}, f)
    raise SystemExit(0)

m = (EnergyMLP if a.arch == 'energy-mlp' else ScoreMLP)(a.dim, a.width, a.depth, a.emb)
opt = torch.optim.Adam(m.parameters(), lr=1e-4)
res = {'torch': torch.__version__, 'threads': a.threads, 'arch': a.arch, 'train_samples_per_s': {}, 'sampler_steps_per_s': {}, 'score_calls_per_s': {}, 'loop_tweedie10': {}, 'loop_em20': {}}
skip = set(x for x in a.skip.split(',') if x)
M = 20

# the whole sampler loop of bench/nn.bench.ts (runTrajectory): one adapter step = normals, M reverse
# steps (tweedie: both scores in one call of 2B rows), Kabsch re-alignment of every replica to the
# reference (batched 3x3 SVD with the reflection guard), the whitened trust-region test (rejected rows
# keep their input). N = d/3 atoms.
N = a.dim // 3
ref = torch.randn(N, 3) * 1.5
ref = ref - ref.mean(0, keepdim=True)
tr_mean = ref.reshape(-1)
tr_inv_scale = torch.full((a.dim,), 1 / 0.5)
tr_r2 = 1e4 ** 2


def align(x):
    B = x.shape[0]
    xs = x.reshape(B, N, 3)
    xc = xs - xs.mean(1, keepdim=True)
    H = xc.transpose(1, 2) @ ref  # [B, 3, 3] = sum_i m_i r_i^T
    U, S, Vh = torch.linalg.svd(H)
    dsign = torch.sign(torch.linalg.det(U @ Vh))
    D = torch.ones(B, 3)
    D[:, 2] = dsign
    R = (U * D.unsqueeze(1)) @ Vh  # rotation: xc @ R ~ ref
    return (xc @ R).reshape(B, -1)


@torch.no_grad()
def loop_step(x, Mm, tweedie, one_sigma=False):
    B = x.shape[0]
    smin = 0.025
    sK = math.sqrt(0.25 + smin ** 2)  # σ_K² = η + σ_min² (docs/science.md "The adapter step")
    tau = [sK * (smin / sK) ** (i / Mm) for i in range(Mm + 1)]
    y = x + math.sqrt(tau[0] ** 2 - tau[Mm] ** 2) * torch.randn(B, a.dim)
    for i in range(Mm):
        h = tau[i] ** 2 - tau[i + 1] ** 2
        g = math.sqrt(h)
        z = torch.randn(B, a.dim)
        # one_sigma: sigma of shape (1,), broadcast to every row, so the σ-embedding is computed
        # once per call, as our models do (docs/speed.md "One σ for the whole batch"); otherwise
        # one σ per row, as a notebook writes it
        if tweedie:
            s = m.score(torch.cat([y, y + g * z]), torch.full((1 if one_sigma else 2 * B,), tau[i]))
            s0, s1 = s[:B], s[B:]
            y = y + h * s0 + g * z + (h / 2) * (s1 - s0)
        else:
            y = y + h * m.score(y, torch.full((1 if one_sigma else B,), tau[i])) + g * z
    y = align(y)
    inside = (((y - tr_mean) * tr_inv_scale) ** 2).sum(1) <= tr_r2
    return torch.where(inside.unsqueeze(1), y, x)


LOOPS = {'loop_tweedie10': (10, True), 'loop_em20': (20, False)}


def loop_rate(key, B, seconds, one_sigma=False):
    Mm, tw = LOOPS[key]
    state = {'x': ref.reshape(1, -1).repeat(B, 1) + 0.1 * torch.randn(B, a.dim)}

    def one():
        state['x'] = loop_step(state['x'], Mm, tw, one_sigma)
    return timed(one, seconds)


if a.serve:
    import sys
    print(json.dumps({'torch': torch.__version__, 'arch': a.arch}), flush=True)
    for line in sys.stdin:
        q = json.loads(line)
        print(json.dumps({'rate': loop_rate(q['key'], int(q['B']), float(q['seconds']), q.get('sigma') == 'one')}), flush=True)
    raise SystemExit(0)

for B in [int(b) for b in a.batches.split(',')]:
    if 'loop' not in skip:
        for key in LOOPS:
            res[key][str(B)] = loop_rate(key, B, a.seconds)
    if 'train' in skip and 'sample' in skip:
        continue
    u0 = torch.randn(B, a.dim); n = torch.randn(B, a.dim); sn = torch.exp(torch.randn(B) * 1.2 - 1.2)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = m.loss(u0, n, sn)
        loss.backward()
        opt.step()
    if 'train' not in skip:
        res['train_samples_per_s'][str(B)] = B * timed(step, a.seconds)
    if 'sample' in skip:
        continue

    smin = 0.025
    sK = math.sqrt(0.25 + smin ** 2)  # σ_K² = η + σ_min² (docs/science.md "The adapter step")
    tau = [sK * (smin / sK) ** (i / M) for i in range(M + 1)]
    x = torch.randn(B, a.dim) * 0.5

    @torch.no_grad()
    def adapter():
        y = x + math.sqrt(tau[0] ** 2 - tau[M] ** 2) * torch.randn(B, a.dim)
        for i in range(M):
            h = tau[i] ** 2 - tau[i + 1] ** 2
            y = y + h * m.score(y, torch.full((B,), tau[i])) + math.sqrt(h) * torch.randn(B, a.dim)
        return y
    res['sampler_steps_per_s'][str(B)] = timed(adapter, a.seconds)

    @torch.no_grad()
    def call():
        return m.score(x, torch.full((B,), 0.3))
    res['score_calls_per_s'][str(B)] = timed(call, a.seconds)

if a.json:
    print(json.dumps(res))
else:
    for k in ('train_samples_per_s', 'sampler_steps_per_s', 'score_calls_per_s', 'loop_tweedie10', 'loop_em20'):
        print(k, {b: round(v, 1) for b, v in res[k].items()})
