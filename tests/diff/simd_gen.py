"""Random SIMD modules for the differential test: each exported function is one random
expression tree of WebAssembly SIMD instructions over its parameters and constants, with
v128 stores into memory before it. `wasm-tools smith` rarely produces code whose v128
results come back to the caller; these modules do, for every SIMD instruction.

Instructions, immediates and signatures come from the product's table
(src/binary/opcodes.def); wasmtime validates each module, so a wrong row there shows up
as a disagreement, not as a blind spot. Float results are canonicalised (a NaN lane
becomes the canonical NaN) since NaN payloads may differ between engines.
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPS_ROW = re.compile(
    r'^OP\((0xFD[0-9A-F]{2}), (\w+), "([^"]+)", (\w+), (\w*), (-?\d+), (\w+), (\w+)\)'
)
LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}
PARAMS = "(param v128 v128 i32 f32 f64 i64)"
SCALAR_PARAM = {"i": 2, "f": 3, "F": 4, "I": 5}
CANON = {
    "f32x4": ("0x7fc00000", "f32x4.ne", "i32x4"),
    "f64x2": ("0x7ff8000000000000", "f64x2.ne", "i64x2"),
}
COMPARISONS = ("eq", "ne", "lt", "gt", "le", "ge")


def load_ops():
    ops = []
    with open(os.path.join(ROOT, "src", "binary", "opcodes.def")) as f:
        for line in f:
            m = OPS_ROW.match(line.strip())
            if not m or m.group(2) == "V128Const":
                continue
            _, _, name, imm, sig, align, _, _ = m.groups()
            pops, _, push = sig.partition("_")
            ops.append({"name": name, "imm": imm, "pops": pops, "push": push, "align": int(align)})
    return ops


class Generator:
    def __init__(self, rng):
        self.rng = rng
        self.ops = load_ops()
        self.by_result = {}
        for op in self.ops:
            self.by_result.setdefault(op["push"], []).append(op)

    def const_v128(self):
        r = self.rng
        pick = r.choice(["i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"])
        n = LANES[pick]
        if pick.startswith("f"):
            special = ["nan", "-nan", "inf", "-inf", "0", "-0", "1", "-1.5", "0x1p-149", "3.4e38"]
            lanes = [
                r.choice(special) if r.random() < 0.4 else repr(r.uniform(-1e6, 1e6))
                for _ in range(n)
            ]
        else:
            bits = int(pick[1:].split("x")[0])
            edge = [0, 1, (1 << bits) - 1, 1 << (bits - 1), (1 << (bits - 1)) - 1]
            lanes = [
                str(r.choice(edge) if r.random() < 0.4 else r.getrandbits(bits)) for _ in range(n)
            ]
        return f"(v128.const {pick} {' '.join(lanes)})"

    def scalar(self, t, depth):
        r = self.rng
        if depth > 0 and r.random() < 0.3 and t in self.by_result:
            return self.apply(r.choice(self.by_result[t]), depth - 1)
        if r.random() < 0.5:
            return f"(local.get {SCALAR_PARAM[t]})"
        if t == "i":
            return f"(i32.const {r.choice([0, 1, 7, 8, 15, 16, 31, 32, 63, 64, -1, r.getrandbits(31)])})"
        if t == "I":
            return f"(i64.const {r.choice([0, 1, -1, r.getrandbits(63)])})"
        return f"({'f32' if t == 'f' else 'f64'}.const {r.choice(['nan', 'inf', '-0', '1.5', repr(r.uniform(-1e9, 1e9))])})"

    def address(self):
        return f"(i32.const {self.rng.randrange(0, 65536 - 16)})"

    def memarg(self, op):
        offset = self.rng.choice([0, 0, 1, 3, 16, 100])
        align = 1 << self.rng.randint(0, op["align"]) if op["align"] >= 0 else 1
        return f"offset={offset} align={align}"

    def lane(self, op):
        return str(self.rng.randrange(LANES[op["name"].split(".")[0]]))

    def v128(self, depth):
        r = self.rng
        if depth <= 0 or r.random() < 0.15:
            return f"(local.get {r.randint(0, 1)})" if r.random() < 0.6 else self.const_v128()
        return self.apply(r.choice(self.by_result["V"]), depth - 1)

    def apply(self, op, depth):
        """op applied to random operands (depth bounds the tree), as a folded expression."""
        name, imm = op["name"], op["imm"]
        args = []
        for i, t in enumerate(op["pops"]):
            if op["imm"] in ("Memarg", "MemargLane") and i == 0:
                args.append(self.address())
            elif t == "V":
                args.append(self.v128(depth))
            else:
                args.append(self.scalar(t, depth))
        imms = []
        if imm in ("Memarg", "MemargLane"):
            imms.append(self.memarg(op))
        if imm in ("Lane", "MemargLane"):
            imms.append(
                self.lane(op)
                if imm == "Lane"
                else str(self.rng.randrange(16 // (1 << op["align"])))
            )
        if imm == "Shuffle":
            imms.append(" ".join(str(self.rng.randrange(32)) for _ in range(16)))
        expr = f"({name} {' '.join(imms)} {' '.join(args)})"
        shape, _, what = name.partition(".")
        if op["push"] == "V" and shape in CANON and not what.startswith(COMPARISONS):
            nan, ne, ishape = CANON[shape]
            n = LANES[shape]
            expr = (
                f"(v128.bitselect (v128.const {ishape} {' '.join([nan] * n)}) (local.tee 6 {expr}) "
                f"({ne} (local.get 6) (local.get 6)))"
            )
        return expr

    def module(self, functions=6, depth=5):
        r = self.rng
        data = "".join("\\%02x" % r.getrandbits(8) for _ in range(256))
        lines = ["(module", '  (memory (export "mem") 1)', f'  (data (i32.const 0) "{data}")']
        stores = [op for op in self.ops if op["push"] == "" and op["pops"] == "iV"]
        for i in range(functions):
            result = r.choice(["V", "V", "V", "i"])
            body = []
            for _ in range(r.randint(0, 2)):
                body.append(self.apply(r.choice(stores), depth - 2))
            body.append(
                self.v128(depth)
                if result == "V"
                else self.apply(r.choice(self.by_result["i"]), depth - 1)
            )
            lines.append(
                f'  (func (export "f{i}") {PARAMS} (result {"v128" if result == "V" else "i32"}) (local v128)'
            )
            lines += ["    " + b for b in body]
            lines.append("  )")
        lines.append(")")
        return "\n".join(lines)
