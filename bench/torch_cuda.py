#!/usr/bin/env python3
"""PyTorch CUDA counterpart of bench/webgpu-vs-torch.ts: the bench score-MLP (66→256×3→66, SiLU,
Fourier σ-embedding in every hidden layer, EDM preconditioning; as bench/nn_torch.py) and the default
bridge adapter step (tweedie, M = 10, both scores in one call of 2B rows), eager and captured in a
CUDA graph, adapter steps/s at each batch. Benchmark only; never a runtime dependency.
usage: python3 bench/torch_cuda.py [--batches 1,64,1024] [--seconds S] [--json]
"""
import argparse, json, math, time
import torch

p = argparse.ArgumentParser()
p.add_argument('--batches', default='1,64,1024')
p.add_argument('--seconds', type=float, default=3.0)
p.add_argument('--json', action='store_true')
a = p.parse_args()
if not torch.cuda.is_available():
    raise SystemExit('torch_cuda.py: no CUDA device (torch.cuda.is_available() is False)')
dev = torch.device('cuda')
torch.manual_seed(0)
D, W, DEPTH, EMB, M = 66, 256, 3, 32, 10


class ScoreMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        n = EMB // 2
        om = [0.5 * (32 / 0.5) ** (k / (n - 1)) for k in range(n)]
        self.register_buffer('om', torch.tensor(om).unsqueeze(0))
        self.w = torch.nn.ModuleList([torch.nn.Linear(D if l == 0 else W, W) for l in range(DEPTH)])
        self.e = torch.nn.ModuleList([torch.nn.Linear(EMB, W, bias=False) for _ in range(DEPTH)])
        self.out = torch.nn.Linear(W, D)

    def score(self, u, sn):
        s = sn.unsqueeze(1)
        s2p1 = s * s + 1
        cin = torch.rsqrt(s2p1)
        ph = (torch.log(s) / 4) * self.om
        emb = torch.cat([torch.sin(ph), torch.cos(ph)], 1)
        h = u * cin
        for lw, le in zip(self.w, self.e):
            h = torch.nn.functional.silu(lw(h) + le(emb))
        return -u / s2p1 + self.out(h) * cin / s


m = ScoreMLP().to(dev).eval()
smin = 0.025
sK = math.sqrt(0.25 + smin ** 2)  # σ_K² = η + σ_min² (docs/science.md "The adapter step")
tau = [sK * (smin / sK) ** (i / M) for i in range(M + 1)]


@torch.no_grad()
def adapter(x):
    B = x.shape[0]
    y = x + math.sqrt(tau[0] ** 2 - tau[M] ** 2) * torch.randn(B, D, device=dev)
    for i in range(M):
        h = tau[i] ** 2 - tau[i + 1] ** 2
        g = math.sqrt(h)
        z = torch.randn(B, D, device=dev)
        s = m.score(torch.cat([y, y + g * z]), torch.full((2 * B,), tau[i], device=dev))
        s0, s1 = s[:B], s[B:]
        y = y + h * s0 + g * z + (h / 2) * (s1 - s0)
    return y


def rate(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 10 == 0:
            torch.cuda.synchronize()
            t = time.perf_counter() - t0
            if t >= a.seconds:
                return n / t


res = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0), 'loop_tweedie10': {}, 'loop_tweedie10_graph': {}}
for B in [int(b) for b in a.batches.split(',')]:
    state = {'x': 0.5 * torch.randn(B, D, device=dev)}

    def eager():
        state['x'] = adapter(state['x'])
    res['loop_tweedie10'][str(B)] = rate(eager)
    # the same step captured once in a CUDA graph (static input/output buffers), replayed per step
    static_x = state['x'].clone()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            adapter(static_x)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_y = adapter(static_x)

    def replay():
        graph.replay()
        static_x.copy_(static_y)
    res['loop_tweedie10_graph'][str(B)] = rate(replay)

if a.json:
    print(json.dumps(res))
else:
    for k in ('loop_tweedie10', 'loop_tweedie10_graph'):
        print(k, {b: round(v, 1) for b, v in res[k].items()})
