"""bench/RESULTS.md holds one marked section per benchmark script; each script
replaces only its own."""

import os


def replace_section(path, name, text):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    old = open(path).read() if os.path.exists(path) else ""
    block = f"{begin}\n{text}{end}\n"
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end) + 1 :]
    else:
        new = old + ("\n" if old else "") + block
    with open(path, "w") as f:
        f.write(new)
