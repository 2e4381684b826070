#!/usr/bin/env python3
"""Generates the start-up benchmark modules: big.wasm (~5 MB of code, no imports) and
mem1m.wasm (1 MiB of initial memory filled by data segments)."""

import os
import random
import sys


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def section(i, body):
    return bytes([i]) + leb(len(body)) + body


def vec(items):
    return leb(len(items)) + b"".join(items)


def name(s):
    return leb(len(s)) + s.encode()


HEADER = b"\0asm\x01\0\0\0"


def big(path, funcs=5000, stmts=85):
    rnd = random.Random(1)
    types = section(1, vec([b"\x60\x01\x7f\x01\x7f"]))
    fsec = section(3, vec([leb(0)] * funcs))
    exports = section(7, vec([name("f0") + b"\x00" + leb(0)]))
    bodies = []
    for i in range(funcs):
        code = bytearray(b"\x01\x01\x7f")  # one extra i32 local
        for s in range(stmts):
            k = rnd.randrange(-1000, 1000)
            code += b"\x20\x00\x41" + sleb(k) + b"\x6a\x21\x01"  # l1 = p0 + k
            code += b"\x20\x01\x20\x00\x6c\x21\x00"  # p0 = l1 * p0
            if s % 20 == 0 and i > 0:
                code += b"\x20\x00\x10" + leb(i - 1) + b"\x21\x00"  # p0 = f[i-1](p0)
            if s % 30 == 0:
                code += (
                    b"\x02\x40\x20\x00\x45\x0d\x00\x20\x01\x21\x00\x0b"  # block; br_if on p0 == 0
                )
        code += b"\x20\x00\x0b"
        bodies.append(leb(len(code)) + bytes(code))
    codesec = section(10, vec(bodies))
    with open(path, "wb") as f:
        f.write(HEADER + types + fsec + exports + codesec)


def mem1m(path):
    rnd = random.Random(2)
    types = section(1, vec([b"\x60\x01\x7f\x01\x7f"]))
    fsec = section(3, vec([leb(0)]))
    mem = section(5, vec([b"\x00" + leb(17)]))  # 17 pages: 1 MiB of data + a page of heap
    exports = section(7, vec([name("load") + b"\x00" + leb(0), name("memory") + b"\x02" + leb(0)]))
    body = b"\x00\x20\x00\x2d\x00\x00\x0b"  # i32.load8_u
    codesec = section(10, vec([leb(len(body)) + body]))
    segs = []
    for s in range(16):  # sixteen 64 KiB segments
        data = bytes(rnd.getrandbits(8) for _ in range(65536))
        segs.append(b"\x00\x41" + sleb(s * 65536) + b"\x0b" + leb(len(data)) + data)
    datasec = section(11, vec(segs))
    with open(path, "wb") as f:
        f.write(HEADER + types + fsec + mem + exports + codesec + datasec)


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    big(os.path.join(out, "big.wasm"))
    mem1m(os.path.join(out, "mem1m.wasm"))
