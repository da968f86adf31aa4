#!/usr/bin/python3
"""Cosine peers for one assignment shape, one thread, one JSON line (companion of the anchors'
peer_assign.py, same timing): FAISS IndexFlatIP (queries normalised in the call, codebook once)
and oneDNN (torch mkldnn_linear, both sides normalised as in kernels.onednn_cos).
usage: peer_cos.py DIM K N SECONDS   (run with ../shared/anchors on PYTHONPATH or next to it)"""
import json, os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "anchors"))
import numpy as np, faiss, torch
import kernels
d, k, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
faiss.omp_set_num_threads(1); torch.set_num_threads(1)
rng = np.random.default_rng(7)
x = rng.standard_normal((n, d), dtype=np.float32); c = rng.standard_normal((k, d), dtype=np.float32)
def rate(fn, work):
    fn(); fn(); samples = []; end = time.perf_counter() + secs
    while time.perf_counter() < end or len(samples) < 5:
        t = time.perf_counter(); fn(); samples.append(time.perf_counter() - t)
    samples.sort(); return work / samples[len(samples) // 2]
print(json.dumps({"dim": d, "codebook_size": k, "batch": n, "threads": 1,
                  "faiss_ip_vectors_per_s": rate(kernels.faiss_ip(x, c), n),
                  "onednn_cos_vectors_per_s": rate(kernels.onednn_cos(x, c), n),
                  "blas": "openblas" if "openblas" in os.environ.get("LD_LIBRARY_PATH", "") else "system"}))
