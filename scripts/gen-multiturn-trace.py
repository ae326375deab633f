#!/usr/bin/env python3
"""Generates a multi-turn, long-context conversation trace in Mooncake's JSONL format (one request per
line: timestamp in ms, input_length, output_length, hash_ids = one id per 512-token prompt block, equal
ids for equal prefixes). Its shape follows what Mooncake's published conversation trace (FAST'25) reports:
prompts of about 12,000 tokens on average with a long tail, about 340 output tokens, conversations whose
next turn re-sends the whole history (so its leading blocks repeat), a few system prompts shared by many
conversations. Deterministic for a seed.

Usage: scripts/gen-multiturn-trace.py [--seed N] [--minutes M] [--rate R] > FILE.jsonl
"""
import argparse
import heapq
import json
import math
import random

BLOCK = 512


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--rate", type=float, default=1.2, help="new conversations per second (mean)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    span = args.minutes * 60
    next_id = 1000

    def new_ids(n):
        nonlocal next_id
        ids = list(range(next_id, next_id + n))
        next_id += n
        return ids

    # System prompts of a handful of applications, 1-4 blocks each, shared by their conversations.
    apps = [list(range(i * 8, i * 8 + rng.randint(1, 4))) for i in range(8)]
    requests = []  # (t_ms, input, output, hash_ids)
    # Conversations start from ten minutes before the trace, so it opens mid-stream (follow-up turns of
    # earlier conversations included) instead of ramping up from its first conversation.
    burn_in = 600.0
    t = -burn_in
    while True:
        # Conversations start as a Poisson process whose rate swings +-30 % over the span.
        rate = args.rate * (1 + 0.3 * math.sin(2 * math.pi * max(t, 0.0) / span))
        t += rng.expovariate(rate)
        if t >= span:
            break
        system = apps[rng.randrange(len(apps))]
        prompt = len(system) * BLOCK + int(min(90000, rng.lognormvariate(math.log(6000), 1.0)))
        blocks = system + new_ids(math.ceil(prompt / BLOCK) - len(system))
        turn_t = t
        while turn_t < span:
            output = max(16, min(1024, int(rng.gauss(343, 120))))
            if turn_t >= 0:
                requests.append((int(turn_t * 1000), prompt, output, list(blocks)))
            if rng.random() < 0.45:  # the conversation ends
                break
            # The next turn re-sends the history (prompt + answer) plus a new message, after the user reads.
            turn_t += output * 0.02 + rng.expovariate(1 / 40)
            grown = prompt + output + int(rng.lognormvariate(math.log(300), 0.8))
            kept = prompt // BLOCK  # full blocks of the last prompt keep their ids; the rest are new
            blocks = blocks[:kept] + new_ids(math.ceil(grown / BLOCK) - kept)
            prompt = grown
    requests.sort(key=lambda r: r[0])
    for t_ms, prompt, output, ids in requests:
        print(json.dumps({"timestamp": t_ms, "input_length": prompt, "output_length": output, "hash_ids": ids},
                         separators=(", ", ": ")))


if __name__ == "__main__":
    main()
