#!/usr/bin/python3
"""Side-by-side: vqstream's bench CLI and the Python peers of ../shared/anchors on the same
shapes, run alternately (ours, peer, ours, peer, ...) so that both see the same background
load. Writes every raw JSON line to OUT/raw.jsonl and the medians and ratios to OUT/table.md.

usage: python3 bench/side_by_side.py [--reps 3] [--seconds 3] [--out DIR] [--sections assign,cosine,stream,ops]
                                    [--lanes 16,8] [--no-readme]
The table, headed by the CPU model and its vector extensions, also replaces the section between
the side-by-side markers of bench/README.md (unless --no-readme).
Needs: bench/target/vqstream-bench.jar (mvn -B -pl bench -am package -DskipTests) and the
peers (bash ../shared/anchors/install.sh)."""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ANCHORS = os.path.normpath(os.path.join(ROOT, "..", "shared", "anchors"))
JAR = os.path.join(HERE, "target", "vqstream-bench.jar")
JAVA = ["java", "--add-modules", "jdk.incubator.vector", "-Xmx6g",
        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0",
        "-cp", JAR, "io.vqstream.bench.BenchCli"]
SHAPES = [(128, 1024), (256, 1024), (64, 16384), (512, 8192)]


def openblas_env():
    ob = subprocess.run(["bash", os.path.join(ANCHORS, "setup_openblas_whatif.sh")], capture_output=True, text=True,
                        check=True).stdout.strip()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ob
    # one thread means one: Debian's OpenBLAS (pthreads) otherwise runs FAISS's GEMM on every
    # core, since peer_assign.py only sets the OpenMP and torch thread counts
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"
    return env


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def cpu_info():
    """CPU model and its vector extensions (x86 flags of /proc/cpuinfo)."""
    model, flags = "unknown CPU", []
    try:
        for line in open("/proc/cpuinfo"):
            key, _, val = line.partition(":")
            key = key.strip()
            if key == "model name" and model == "unknown CPU":
                model = val.strip()
            elif key == "flags" and not flags:
                flags = val.split()
    except OSError:
        pass
    wanted = [f for f in flags if f in ("sse4_2", "avx", "avx2", "fma") or f.startswith("avx512")]
    return model, wanted


def ours(args, seconds, backend="jvm", lanes=None):
    cmd = JAVA[:1] + ([f"-Dvqstream.lanes={lanes}"] if lanes else []) + JAVA[1:] + args + ["--backend", backend, "--seconds", str(seconds), "--warmup", str(max(1.0, seconds / 2))]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + p.stderr[-3000:])
    return last_json(p.stdout)


def python(script_args, env, timeout=1800):
    p = subprocess.run(["/usr/bin/python3"] + script_args, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(" ".join(script_args) + "\n" + p.stderr[-3000:])
    return p.stdout


def loadavg():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--out", default="/tmp/vqstream-side-by-side-" + time.strftime("%Y%m%d-%H%M%S"))
    ap.add_argument("--sections", default="assign,cosine,stream,ops")
    ap.add_argument("--batches", default="256,4096")
    ap.add_argument("--nd4j", action="store_true", help="also run --backend nd4j in the assign section")
    ap.add_argument("--shapes", default=",".join(f"{d}x{k}" for d, k in SHAPES), help="DxK list for assign/cosine")
    ap.add_argument("--lanes", default="", help="also run the assign section with -Dvqstream.lanes=L for each L listed (e.g. 8)")
    ap.add_argument("--no-readme", action="store_true", help="do not write the table into bench/README.md")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    raw = open(os.path.join(a.out, "raw.jsonl"), "a")
    env = openblas_env()
    sections = a.sections.split(",")
    batches = [int(v) for v in a.batches.split(",")]
    shapes = [tuple(int(v) for v in s.split("x")) for s in a.shapes.split(",")]
    rec = []

    def keep(kind, d):
        d = dict(d)
        d["kind"] = kind
        d["load1"] = loadavg()
        d["time"] = time.time()
        raw.write(json.dumps(d) + "\n")
        raw.flush()
        rec.append(d)
        print(kind, json.dumps(d), flush=True)

    for rep in range(a.reps):
        if "assign" in sections:
            for d, k in shapes:
                for n in batches:
                    keep("ours_l2", ours(["assign", "--dim", str(d), "--codebook-size", str(k), "--batch", str(n)], a.seconds))
                    keep("peer_l2", last_json(python([os.path.join(ANCHORS, "peer_assign.py"), str(d), str(k), str(n),
                                                      str(a.seconds)], env)))
                    for lanes in [v for v in a.lanes.split(",") if v]:
                        keep(f"ours_l2_lanes{lanes}", ours(["assign", "--dim", str(d), "--codebook-size", str(k), "--batch", str(n)],
                                                           a.seconds, lanes=lanes))
                    if a.nd4j:
                        keep("ours_l2_nd4j", ours(["assign", "--dim", str(d), "--codebook-size", str(k), "--batch", str(n)],
                                                  a.seconds, "nd4j"))
        if "cosine" in sections:
            for d, k in shapes:
                for n in batches:
                    keep("ours_cos", ours(["assign", "--metric", "cosine", "--dim", str(d), "--codebook-size", str(k),
                                           "--batch", str(n)], a.seconds))
                    keep("peer_cos", last_json(python([os.path.join(HERE, "peer_cos.py"), str(d), str(k), str(n),
                                                       str(a.seconds)], env)))
        if "stream" in sections:
            for n in [1, 2, 4, 8, 16, 32, 64]:
                keep("ours_stream", ours(["assign", "--dim", "128", "--codebook-size", "1024", "--batch", str(n)],
                                         min(a.seconds, 2.0)))
            jl = os.path.join(a.out, f"stream-{rep}.jsonl")
            python([os.path.join(ANCHORS, "bench_stream.py"), "--impls", "faiss_l2,onednn_l2", "--json", jl], env)
            for line in open(jl):
                keep("peer_stream", json.loads(line))
            os.remove(jl)
        if "ops" in sections:
            keep("ours_ema", ours(["ema", "--dim", "256", "--codebook-size", "1024", "--batch", "4096"], a.seconds))
            keep("ours_rvq", ours(["rvq", "--dim", "128", "--codebook-size", "1024", "--batch", "4096", "--quantizers", "8"],
                                  a.seconds))
            keep("ours_fsq", ours(["fsq", "--levels", "8,5,5,5", "--batch", "65536"], a.seconds))
            keep("ours_lfq", ours(["lfq", "--codebook-size", "65536", "--batch", "65536"], a.seconds))
            jl = os.path.join(a.out, f"ops-{rep}.jsonl")
            python([os.path.join(ANCHORS, "bench_vq_ops.py"), "--json", jl], env)
            for line in open(jl):
                keep("peer_ops", json.loads(line))
            os.remove(jl)
            jl = os.path.join(a.out, f"ceiling-{rep}.jsonl")
            python([os.path.join(ANCHORS, "bench_ceiling.py"), "--json", jl], env)
            for line in open(jl):
                keep("peer_ceiling", json.loads(line))
            os.remove(jl)
    raw.close()
    model, ext = cpu_info()
    head = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {model} "
            f"({os.cpu_count()} logical CPUs; vector extensions: {' '.join(ext) or 'none listed'}), one thread each, "
            f"by `python3 bench/side_by_side.py {' '.join(sys.argv[1:])}`.\n\n")
    table = head + summarize(rec)
    open(os.path.join(a.out, "table.md"), "w").write(table)
    print(table)
    if not a.no_readme:
        write_readme(table)
    print("raw:", os.path.join(a.out, "raw.jsonl"))


BEGIN = "<!-- side-by-side:begin (written by bench/side_by_side.py) -->"
END = "<!-- side-by-side:end -->"


def write_readme(table):
    """Replaces the marked section of bench/README.md (appends one when missing)."""
    path = os.path.join(HERE, "README.md")
    text = open(path).read()
    block = BEGIN + "\n" + table.rstrip() + "\n" + END
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Latest side-by-side run\n\n" + block + "\n"
    open(path, "w").write(text)
    print("table written to", path)


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else float("nan")


def fmt(v):
    if v != v:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def summarize(rec):
    out = []
    loads = [r["load1"] for r in rec]
    out.append(f"Medians over repetitions; load average (1 min) during the run: "
               f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}.\n")
    by = lambda kind: [r for r in rec if r["kind"] == kind]
    if by("ours_l2"):
        out.append("### Assignment, L2, one thread (vectors/s)\n")
        lane_kinds = sorted({r["kind"] for r in rec if r["kind"].startswith("ours_l2_lanes")})
        tiles = sorted({f"{r.get('lanes')} lanes, tile {r.get('tile')}" for r in by("ours_l2") if r.get("tile")})
        if tiles:
            out.append("vqstream kernels: " + "; ".join(tiles) + ".\n")
        out.append("| D | K | N | vqstream jvm | FAISS IndexFlatL2 (OpenBLAS) | oneDNN L2 | ours/FAISS | ours/oneDNN "
                   "| ours/faster peer | ours GF/s | oneDNN sgemm ceiling GF/s | share of ceiling | rows rescored |"
                   + "".join(f" {k[len('ours_l2_'):]} | {k[len('ours_l2_'):]}/faster peer |" for k in lane_kinds)
                   + (" nd4j | nd4j/ours |" if by("ours_l2_nd4j") else ""))
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|---|" * len(lane_kinds)
                   + ("---|---|" if by("ours_l2_nd4j") else ""))
        keys = sorted({(r["dim"], r["codebook_size"], r["batch"]) for r in by("ours_l2")}, key=lambda t: (SHAPES.index(t[:2]) if t[:2] in SHAPES else 9, t[2]))
        for d, k, n in keys:
            m = lambda kind, f: [r[f] for r in by(kind) if (r["dim"], r["codebook_size"], r["batch"]) == (d, k, n)]
            o = m("ours_l2", "vectors_per_s")
            fa = m("peer_l2", "faiss_vectors_per_s")
            on = m("peer_l2", "onednn_vectors_per_s")
            ce = m("peer_l2", "sgemm_ceiling_gflops")
            # ratios per interleaved pair, then the median
            r_fa = med([x / y for x, y in zip(o, fa)])
            r_on = med([x / y for x, y in zip(o, on)])
            gf = med(m("ours_l2", "gflops"))
            share = med([g / c for g, c in zip(m("ours_l2", "gflops"), ce)])
            r_best = med([x / max(y, z) for x, y, z in zip(o, fa, on)])
            resc = med(m("ours_l2", "rescored_share")) if all("rescored_share" in r for r in by("ours_l2")) else float("nan")
            row = (f"| {d} | {k} | {n} | {fmt(med(o))} | {fmt(med(fa))} | {fmt(med(on))} | {r_fa:.2f} | {r_on:.2f} | {r_best:.2f} "
                   f"| {gf:.1f} | {med(ce):.1f} | {share:.0%} | {resc:.3%} |")
            for lk in lane_kinds:
                lv = m(lk, "vectors_per_s")
                row += f" {fmt(med(lv))} | {med([x / max(y, z) for x, y, z in zip(lv, fa, on)]):.2f} |"
            if by("ours_l2_nd4j"):
                nd = m("ours_l2_nd4j", "vectors_per_s")
                row += f" {fmt(med(nd))} | {med([x / y for x, y in zip(nd, o)]):.2f} |"
            out.append(row)
        out.append("")
    if by("ours_cos"):
        out.append("### Assignment, cosine, one thread (vectors/s)\n")
        out.append("| D | K | N | vqstream jvm | FAISS IndexFlatIP | oneDNN cos | ours/FAISS | ours/oneDNN | cosine/L2 (ours) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        keys = sorted({(r["dim"], r["codebook_size"], r["batch"]) for r in by("ours_cos")}, key=lambda t: (SHAPES.index(t[:2]) if t[:2] in SHAPES else 9, t[2]))
        for d, k, n in keys:
            m = lambda kind, f: [r[f] for r in by(kind) if (r["dim"], r["codebook_size"], r["batch"]) == (d, k, n)]
            o = m("ours_cos", "vectors_per_s")
            fa = m("peer_cos", "faiss_ip_vectors_per_s")
            on = m("peer_cos", "onednn_cos_vectors_per_s")
            l2 = m("ours_l2", "vectors_per_s")
            out.append(f"| {d} | {k} | {n} | {fmt(med(o))} | {fmt(med(fa))} | {fmt(med(on))} | "
                       f"{med([x / y for x, y in zip(o, fa)]):.2f} | {med([x / y for x, y in zip(o, on)]):.2f} | "
                       f"{(med(o) / med(l2)) if l2 else float('nan'):.2f} |")
        out.append("")
    if by("ours_stream"):
        out.append("### Small batches, D=128, K=1024, one thread (µs per call, median)\n")
        out.append("| N | vqstream jvm | FAISS IndexFlatL2 | oneDNN L2 | ours/FAISS speed | ours/oneDNN speed |")
        out.append("|---|---|---|---|---|---|")
        for n in sorted({r["batch"] for r in by("ours_stream")}):
            o = med([r["p50_us"] for r in by("ours_stream") if r["batch"] == n])
            fa = med([r["us_call"] for r in by("peer_stream") if r.get("N") == n and r.get("impl") == "faiss_l2" and r.get("threads") == 1])
            on = med([r["us_call"] for r in by("peer_stream") if r.get("N") == n and r.get("impl") == "onednn_l2" and r.get("threads") == 1])
            out.append(f"| {n} | {o:.1f} | {fa:.1f} | {on:.1f} | {fa / o:.2f} | {on / o:.2f} |")
        out.append("")
    if by("ours_ema"):
        out.append("### Training and elementwise ops, one thread\n")
        ema = by("ours_ema")
        out.append(f"- EMA step (VectorQuantize train forward, D=256, K=1024, N=4096): {fmt(med([r['p50_us'] for r in ema]) / 1e3)} ms; "
                   f"assignment alone in the same loop {fmt(med([r['assign_p50_us'] for r in ema]) / 1e3)} ms; "
                   f"ratio {med([r['ema_over_assign'] for r in ema]):.2f} (target ≤ 1.0).")
        peer = lambda op, f: med([r.get(f) for r in by("peer_ops") if r.get("op") == op and r.get("threads") == 1])
        rvq = by("ours_rvq")
        out.append(f"- RVQ 8×1024, D=128, N=4096: vqstream {fmt(med([r['vectors_per_s'] for r in rvq]))} vectors/s "
                   f"({fmt(med([r['gflops'] for r in rvq]))} GF/s); torch+oneDNN matmul {fmt(peer('rvq torch+oneDNN matmul', 'vec_s'))} "
                   f"vectors/s; ratio {med([r['vectors_per_s'] for r in rvq]) / peer('rvq torch+oneDNN matmul', 'vec_s'):.2f}.")
        out.append(f"- EMA update alone (torch index_add, indices given): {fmt(peer('ema index_add', 'sec_median') * 1e3)} ms per call.")
        copy = [r for r in by("peer_ceiling") if r.get("op") == "copy" and r.get("threads") == 1]
        for name, op in (("FSQ [8,5,5,5]", "fsq core"), ("LFQ 16 bits", "lfq core")):
            o = by("ours_" + name.split()[0].lower())
            out.append(f"- {name}, N=65536: vqstream {fmt(med([r['vectors_per_s'] for r in o]))} vectors/s = "
                       f"{med([r['gbytes_per_s'] for r in o]):.3f} GB/s of minimum traffic; torch {fmt(peer(op, 'vec_s'))} vectors/s = "
                       f"{peer(op, 'gbytes_s'):.2f} GB/s.")
        if copy:
            sizes = sorted({r.get("mib") for r in copy})
            out.append("- Copy bandwidth, one thread (anchors' bench_ceiling, bytes read + written): " + ", ".join(
                f"{sz} MiB {med([r['gbytes_s'] for r in copy if r.get('mib') == sz]):.1f} GB/s" for sz in sizes) + ".")
        out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
