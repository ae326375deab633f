#!/usr/bin/env python3
"""Random draws of workloads for scripts/evaluate-random.sh: the policies against the static frontier on
traffic nobody tuned them for.

  evaluation_random.py generate SEED COUNT FLEETS_DIR OUT_DIR   writes OUT_DIR/random-<i>.yaml
  evaluation_random.py warm SCENARIO.yaml REPORT.json           prints the scenario started warm
  evaluation_random.py report OUTPUT.md SEED:RUN_DIR...        docs/evaluation-random.md, one run folder a seed

A draw: the model (Llama-3.1-8B, or Qwen2.5-32B one time in four) on H100 + H200, a traffic shape
(constant, sine, ramps, bursts) and level, lognormal prompt and answer lengths, an SLO (TTFT 1, 2 or 5 s;
ITL 35-100 ms), a pod start-up of 30-180 s, 40 minutes. Each runs twice: started cold (one pod, as a new
Deployment) with the static frontier searched, and started warm at the cheapest fixed fleet reaching 99 %
(the best one when none does), as an autoscaler taking over a fleet already sized. The frontier is the
same for both: fixed fleets start warm whatever the policies start from."""
import glob
import json
import os
import random
import re
import sys

POLICIES = ("capacity", "threshold")
TOL = 0.005
MODELS = {
    "8b": {"model": "meta/llama-3.1-8b", "fleet": "fleet", "prefix": "llama-8b", "profile": "llama-3.1-8b",
           "rate": (3, 45), "itl": (35, 50, 50, 80), "per_pod": 15, "threshold": 48},
    "32b": {"model": "qwen/qwen2.5-32b", "fleet": "fleet-32b", "prefix": "qwen-32b", "profile": "qwen2.5-32b",
            "rate": (1.5, 10), "itl": (50, 80, 100), "per_pod": 3, "threshold": 16},
}


def draw(seed, i):
    """One scenario's parameters, a pure function of (seed, i)."""
    r = random.Random(seed * 100003 + i)
    m = MODELS["32b" if r.random() < 0.25 else "8b"]
    mean = r.uniform(*m["rate"])
    shape = r.choice(["constant", "sine", "ramps", "bursts"])
    minutes = 40
    if shape == "constant":
        rate = f"{{constant: {mean:.1f}}}"
    elif shape == "sine":
        rate = (f"{{sine: {{mean: {mean:.1f}, amplitude: {mean * r.uniform(0.3, 0.8):.1f}, "
                f"period: {r.choice([20, 40, 60, 120])}m, phase: {r.randint(0, 40)}m}}}}")
    elif shape == "ramps":
        points, t = [], 0
        while t < minutes:
            points.append(f"{{at: {t}m, rate: {mean * r.uniform(0.3, 1.6):.1f}}}")
            t += r.randint(3, 12)
        points.append(f"{{at: {minutes}m, rate: {mean * r.uniform(0.3, 1.6):.1f}}}")
        rate = "{ramps: [" + ", ".join(points) + "]}"
    else:
        base = mean / 2
        rate = (f"{{bursts: {{base: {base:.1f}, peak: {base * r.uniform(2, 4):.1f}, every: {r.choice([10, 15, 20])}m, "
                f"duration: {r.randint(2, 6)}m, start: {r.randint(3, 10)}m}}}}")
    prompt, answer = r.choice([200, 500, 1000, 2000, 4000]), r.choice([60, 150, 300, 600])
    return {
        "m": m, "shape": shape, "rate": rate, "minutes": minutes, "mean": mean,
        "prompt": prompt, "prompt_sd": int(prompt * r.uniform(0.3, 0.9)),
        "answer": answer, "answer_sd": int(answer * r.uniform(0.3, 0.9)),
        "ttft": r.choice([1000, 2000, 2000, 5000]), "itl": r.choice(m["itl"]),
        "startup": r.choice([30, 90, 90, 180]), "seed": seed * 1000 + i,
    }


def scenario_text(d, name, fleets_dir):
    m, p = d["m"], d["m"]["prefix"]
    traffic = "bursty" if d["shape"] == "bursts" else "smooth"
    variant = ("    {p}-{acc}: {{namespace: llm, model: {model}, profile: {prof}/{ACC}, startupDelay: {s}s,\n"
               "                    terminationGracePeriod: 30s, costPerGpuHour: {cost}, minReplicas: {lo}, "
               "maxReplicas: {hi}}}\n")
    variants = "".join(
        variant.format(p=p, acc=acc.lower(), ACC=acc, model=m["model"], prof=m["profile"], s=d["startup"], cost=cost,
                       lo=lo, hi=hi) for acc, cost, lo, hi in (("H100", 3.0, 1, 10), ("H200", 3.9, 0, 5)))
    slo = f"{{ttftMs: {d['ttft']}, itlMs: {d['itl']}}}"
    return f"""# A random draw ({d['shape']}): scripts/evaluation_random.py, seed {d['seed']}.
name: {name}
traffic: {traffic}
duration: {d['minutes']}m
manifests: {os.path.join(os.path.abspath(fleets_dir), m['fleet'])}
initialReplicas: {{{p}-h100: 1, {p}-h200: 0}}
emulator:
  variants:
{variants}  client: {{ttftTimeout: 60s}}
  hpa: {{syncPeriod: 15s, tolerance: 0.1}}
  workloads:
    - namespace: llm
      model: {m['model']}
      rate: {d['rate']}
      inputTokens: {{lognormal: {{mean: {d['prompt']}, stddev: {d['prompt_sd']}}}, max: {d['prompt'] * 8}}}
      outputTokens: {{lognormal: {{mean: {d['answer']}, stddev: {d['answer_sd']}}}, max: {d['answer'] * 8}}}
      slo: {slo}
      seed: {d['seed']}
analyzers:
  capacity: {{plugin: capacity, startupDelay: {d['startup']}s, defaultSlo: {slo}}}
  threshold: {{plugin: threshold, signal: concurrency, target: {m['threshold']}}}
pipelines:
  capacity: {{interval: 30s, analyzers: [capacity]}}
  threshold: {{interval: 30s, analyzers: [threshold]}}
"""


def generate(seed, count, fleets_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        with open(os.path.join(out_dir, f"random-{i}.yaml"), "w") as f:
            f.write(scenario_text(draw(seed, i), f"random-{i}", fleets_dir))


def start_fleet(report):
    """The cheapest fixed fleet reaching 99 %, else the fixed fleet of the highest attainment."""
    levels = [lv for lv in report["frontier"]["levels"] if abs(lv["level"] - 0.99) < 1e-9 and lv.get("fleet")]
    if levels:
        return levels[0]["fleet"]
    return max(report["frontier"]["pareto"], key=lambda p: (p["attainment"], -p["cost"]))["fleet"]


def warm(scenario_path, report_path):
    with open(scenario_path) as f:
        text = f.read()
    with open(report_path) as f:
        fleet = start_fleet(json.load(f))
    start = "{" + ", ".join(f"{k}: {v}" for k, v in sorted(fleet.items())) + "}"
    return re.sub(r"(?m)^initialReplicas: \{[^}]*\}", "initialReplicas: " + start, text, count=1)


def position(run, pareto):
    """(attainment, cost, dominated, cost over the cheapest 99 % fixed fleet or None)."""
    t = run["totals"]
    a, c = t["sloAttainment"], t["cost"]
    best = max([p["attainment"] for p in pareto if p["cost"] <= c + 1e-9] or [0.0])
    reach = [p["cost"] for p in pareto if p["attainment"] >= 0.99]
    return a, c, best > a + TOL, (c / min(reach) if reach else None)


def load_rows(run_dir):
    """Per draw of one seed's run folder: (name, shape, model, slo, startup, cold report, warm report)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(run_dir, "random-*.cold.json")),
                       key=lambda p: int(re.search(r"random-(\d+)", p).group(1))):
        name = os.path.basename(path)[:-len(".cold.json")]
        scenario = open(os.path.join(run_dir, name + ".yaml")).read()
        shape = re.search(r"random draw \((\w+)\)", scenario).group(1)
        model = "32B" if "qwen" in scenario else "8B"
        slo = re.search(r"slo: \{ttftMs: (\d+), itlMs: (\d+)\}", scenario).groups()
        startup = re.search(r"startupDelay: (\d+)s", scenario).group(1)
        cold = json.load(open(path)) if os.path.getsize(path) else None
        warm_path = os.path.join(run_dir, name + ".warm.json")
        warm_rep = json.load(open(warm_path)) if os.path.exists(warm_path) and os.path.getsize(warm_path) else None
        rows.append((name, shape, model, slo, startup, cold, warm_rep))
    return rows


def tally(rows, pol, start):
    """(runs, failed, not dominated, reach 99 %, where a fixed fleet does, ratios) of one policy."""
    n = ok = reach = reachable = failed = 0
    ratios = []
    for _, _, _, _, _, cold, warm_rep in rows:
        rep = cold if start == "cold" else warm_rep
        run = next((r for r in rep["runs"] if r["pipeline"] == pol), None) if rep else None
        if run is None or cold is None:
            failed += 1
            continue
        a, c, dom, ratio = position(run, cold["frontier"]["pareto"])
        n += 1
        ok += not dom
        if ratio is not None:
            reachable += 1
            reach += a >= 0.99
            ratios.append(ratio)
    return n, failed, ok, reach, reachable, sorted(ratios)


def report(out_md, seed_dirs):
    """seed_dirs: [(seed, run folder)], one per seed, each of generate's draws with their reports."""
    by_seed = [(seed, load_rows(d)) for seed, d in seed_dirs]
    seeds = ", ".join(str(seed) for seed, _ in by_seed)
    lines = []
    w = lines.append
    w("# Evaluation on random draws")
    w("")
    w(f"Generated by `bash scripts/evaluate-random.sh` (seeds {seeds}; do not edit by hand). "
      "`scripts/evaluation_random.py` draws each workload: Llama-3.1-8B (Qwen2.5-32B one time in four) on H100 "
      "($3.0/h, at most 10) and H200 ($3.9/h, at most 5), a traffic shape (constant, sine, ramps, bursts) and "
      "level, lognormal prompt and answer lengths, an SLO (TTFT 1, 2 or 5 s; mean ITL 35-100 ms), a pod "
      "start-up of 30-180 s, 40 minutes, the Kubernetes HPA model, clients that give up after 60 s. Nothing "
      "in the policies was tuned on these draws: they measure how the curated suite (`docs/evaluation.md`) "
      "generalizes. Each draw runs started **cold** (one pod: a new Deployment under a load it has not seen) "
      "and started **warm** at the cheapest fixed fleet reaching 99 % (an autoscaler taking over a sized "
      "fleet); fixed fleets start warm either way, so one frontier judges both. Each seed draws its own set.")
    w("")
    w("*dominated*: a fixed fleet of equal or lower cost has an attainment more than 0.5 point higher. "
      "*ratio*: cost over the cheapest fixed fleet reaching 99 % (- when none does).")
    w("")

    def summary(start):
        w(f"| policy ({start}) | seed | runs | not dominated | reach 99 % where a fixed fleet does | median ratio |")
        w("|---|---|---|---|---|---|")
        pooled = [row for _, rows in by_seed for row in rows]
        sets = [(str(seed), rows) for seed, rows in by_seed] + ([("all", pooled)] if len(by_seed) > 1 else [])
        for pol in POLICIES:
            for label, rows in sets:
                n, failed, ok, reach, reachable, ratios = tally(rows, pol, start)
                med = f"{ratios[len(ratios) // 2]:.2f}x" if ratios else "-"
                note = f" ({failed} **failed**)" if failed else ""
                bold = "**" if label == "all" else ""
                w(f"| {pol} | {bold}{label}{bold} | {n}{note} | {ok} of {n} | {reach} of {reachable} | {med} |")
        w("")

    summary("cold")
    summary("warm")
    for seed, rows in by_seed:
        w(f"## Seed {seed}")
        w("")
        w("| draw | traffic | model | SLO TTFT / ITL ms | start-up s | fixed 99 % fleet (cost) | "
          + " | ".join(f"{p} cold | {p} warm" for p in POLICIES) + " |")
        w("|---|---|---|---|---|---|" + "---|---|" * len(POLICIES))
        for name, shape, model, slo, startup, cold, warm_rep in rows:
            if cold is None:
                w(f"| {name} | {shape} | {model} | {slo[0]} / {slo[1]} | {startup} | **failed** |"
                  + " |" * 2 * len(POLICIES))
                continue
            pareto = cold["frontier"]["pareto"]
            reach = sorted((p["cost"], p["fleet"]) for p in pareto if p["attainment"] >= 0.99)
            fixed = "-" if not reach else (
                " + ".join(f"{n}x{v.split('-')[-1].upper()}" for v, n in sorted(reach[0][1].items()) if n)
                + f" ({reach[0][0]:.2f})")
            cells = []
            for pol in POLICIES:
                for rep in (cold, warm_rep):
                    run = next((r for r in rep["runs"] if r["pipeline"] == pol), None) if rep else None
                    if run is None:
                        cells.append("**failed**")
                        continue
                    a, c, dom, ratio = position(run, pareto)
                    cells.append(f"{100 * a:.2f}% / {c:.2f}" + (" **dom**" if dom else "")
                                 + (f" ({ratio:.2f}x)" if ratio is not None else ""))
            w(f"| {name} | {shape} | {model} | {slo[0]} / {slo[1]} | {startup} | {fixed} | " + " | ".join(cells) + " |")
        w("")
    with open(out_md, "w") as f:
        f.write("\n".join(lines))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "generate" and len(sys.argv) == 6:
        generate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "warm" and len(sys.argv) == 4:
        sys.stdout.write(warm(sys.argv[2], sys.argv[3]))
    elif cmd == "report" and len(sys.argv) >= 4 and all(re.fullmatch(r"\d+:.+", a) for a in sys.argv[3:]):
        report(sys.argv[2], [(int(a.split(":", 1)[0]), a.split(":", 1)[1]) for a in sys.argv[3:]])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
