#!/usr/bin/python3
"""The Python program a user would write instead of `vqstream quantize` with a frozen codebook:
confluent-kafka consumer, ujson, nearest code by oneDNN inner products in torch (one thread),
one batch per poll (up to 500 records), codes produced as JSON in vqstream's code format,
offsets committed per poll (at-least-once) or in one transaction per poll (exactly-once).

usage: /usr/bin/python3 bench/peer_kafka_quantize.py BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC CODEBOOK.npy N
           [--exactly-once] [--group G] [--poll 500]
Prints one JSON line (records, seconds from first poll to last produce acknowledged) to stdout.
Run with /usr/bin/python3 (Debian's torch, confluent_kafka, ujson)."""
import argparse, json, sys, time
import numpy as np
import torch
import ujson
from confluent_kafka import Consumer, Producer, TopicPartition

a = argparse.ArgumentParser()
a.add_argument("bootstrap"); a.add_argument("input"); a.add_argument("output"); a.add_argument("codebook"); a.add_argument("n", type=int)
a.add_argument("--exactly-once", action="store_true"); a.add_argument("--group", default="peer"); a.add_argument("--poll", type=int, default=500)
o = a.parse_args()

torch.set_num_threads(1)
C = torch.from_numpy(np.load(o.codebook).astype(np.float32))
Cm = C.to_mkldnn()
c2 = C.pow(2).sum(1)[None, :]
lin = torch._C._nn.mkldnn_linear

consumer = Consumer({"bootstrap.servers": o.bootstrap, "group.id": o.group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "isolation.level": "read_committed"})
pconf = {"bootstrap.servers": o.bootstrap, "linger.ms": 5}
if o.exactly_once:
    pconf.update({"transactional.id": o.group + "-tx", "enable.idempotence": True})
producer = Producer(pconf)
if o.exactly_once:
    producer.init_transactions()
consumer.subscribe([o.input])

done = 0
t0 = None
while done < o.n:
    msgs = consumer.consume(num_messages=o.poll, timeout=1.0)
    msgs = [m for m in msgs if m.error() is None]
    if not msgs:
        continue
    if t0 is None:
        t0 = time.perf_counter()
    recs = [ujson.loads(m.value()) for m in msgs]
    x = torch.tensor([r["vector"] for r in recs], dtype=torch.float32)
    with torch.no_grad():
        s = lin(x.to_mkldnn(), Cm, None).to_dense()
        idx = (x.pow(2).sum(1, keepdim=True) - 2 * s + c2).argmin(1).tolist()
    if o.exactly_once:
        producer.begin_transaction()
    for r, m, c in zip(recs, msgs, idx):
        producer.produce(o.output, key=m.key(), value=ujson.dumps(
            {"key": r["key"], "seq": r["seq"], "ts": r["ts"], "codes": [c], "codebook_version": 1}))
        producer.poll(0)
    if o.exactly_once:
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata())
        producer.commit_transaction()
    else:
        consumer.commit(asynchronous=True)
    done += len(msgs)
producer.flush()
t1 = time.perf_counter()
consumer.close()
print(json.dumps({"peer": "python-confluent-kafka-ujson-torch-onednn", "records": done, "seconds": t1 - t0,
                  "exactly_once": o.exactly_once, "torch": torch.__version__}))
