"""PyTorch reference for tsf's LSTM bench: same sizes, same synthetic data, same harness shape."""
import json, os, sys, time
import torch
from torch import nn

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
SEQ, FEAT, HIDDEN, LAYERS, BATCH = 12, 3, 64, 2, 32

def data(n):
    x = torch.tensor([((i * 2654435761) % 1000) / 1000.0 for i in range(n * SEQ * FEAT)], dtype=torch.float32).reshape(n, SEQ, FEAT)
    y = torch.tensor([((i * 40503) % 1000) / 1000.0 for i in range(n)], dtype=torch.float32).reshape(n, 1)
    return x, y

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(FEAT, HIDDEN, LAYERS, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)
    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1, :])

def median(v):
    v = sorted(v); return v[len(v) // 2]

def run(name, n, epochs, reps):
    torch.manual_seed(1)
    x, y = data(n)
    m = Net(); opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    def epoch():
        t0 = time.perf_counter()
        for s in range(0, n, BATCH):
            xb, yb = x[s:s + BATCH], y[s:s + BATCH]
            opt.zero_grad(); loss = ((m(xb) - yb) ** 2).mean(); loss.backward(); opt.step()
        return time.perf_counter() - t0
    epoch()
    ms = median([epoch() for _ in range(epochs)]) * 1e3
    m.eval(); out = {"model": "pytorch", "case": name, "train_windows": n, "ms_per_epoch": ms, "threads": torch.get_num_threads(), "torch": torch.__version__}
    n_inf = min(n, 20000)
    with torch.no_grad():
        for b in (1, 32, 256):
            k = min(300, n_inf) if b == 1 else n_inf
            def inf():
                t0 = time.perf_counter()
                for s in range(0, k, b):
                    m(x[s:s + b])
                return k / (time.perf_counter() - t0)
            warm = time.perf_counter()
            while time.perf_counter() - warm < 0.3:  # the same warm-up rule as the Rust bench
                inf()
            out[f"inference_windows_per_s_batch{b}"] = median([inf() for _ in range(reps)])
    print(json.dumps(out), flush=True)

quick = os.environ.get("TSF_BENCH_QUICK")
run("seed", 338, 5 if quick else 15, 3 if quick else 7)
if os.environ.get("TSF_BENCH_CASE", "") != "seed":
    run("50k-rows", 40000 - SEQ, 1 if quick else 3, 3)
