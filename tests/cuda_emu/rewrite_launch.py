#!/usr/bin/env python3
"""CUDA emulation (tests only): rewrite kernel<<<grid, block[, smem[, stream]]>>>(args) in a .cu file into
::lrp_emu::launch(grid, block, smem, stream, kernel, args) so the host compiler can build it; line numbers
are kept (#line names the original file). Usage: rewrite_launch.py IN.cu OUT.cpp"""
import re
import sys


def split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def kernel_start(src, end):
    """Start index of the kernel expression (qualified name, optional template arguments) ending at end."""
    i = end
    while i > 0 and src[i - 1].isspace():
        i -= 1
    if src[i - 1] == ">":
        depth = 0
        while True:
            i -= 1
            if src[i] == ">":
                depth += 1
            elif src[i] == "<":
                depth -= 1
                if depth == 0:
                    break
    while i > 0 and (src[i - 1].isalnum() or src[i - 1] in "_:"):
        i -= 1
    return i


def matching(src, i, open_ch, close_ch):
    depth = 0
    for j in range(i, len(src)):
        if src[j] == open_ch:
            depth += 1
        elif src[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j
    raise SystemExit("rewrite_launch: unbalanced %s at offset %d" % (open_ch, i))


def rewrite(src):
    out, pos = [], 0
    for m in re.finditer(r"<<<", src):
        if m.start() < pos:
            continue
        k0 = kernel_start(src, m.start())
        kernel = src[k0:m.start()].strip()
        cfg_end = src.index(">>>", m.end())
        cfg = split_top(src[m.end():cfg_end])
        if not 2 <= len(cfg) <= 4:
            raise SystemExit("rewrite_launch: bad launch configuration near offset %d" % m.start())
        cfg += ["0"] * (4 - len(cfg))
        p = cfg_end + 3
        while src[p].isspace():
            p += 1
        if src[p] != "(":
            raise SystemExit("rewrite_launch: no argument list after >>> near offset %d" % m.start())
        close = matching(src, p, "(", ")")
        empty = src[p + 1:close].strip() == ""
        newlines = src[k0:p + 1].count("\n")
        head = "::lrp_emu::launch(dim3(%s), dim3(%s), static_cast<size_t>(%s), static_cast<cudaStream_t>(%s), %s%s" % (
            cfg[0].strip(), cfg[1].strip(), cfg[2].strip(), cfg[3].strip(), kernel, "" if empty else ", ")
        out.append(src[pos:k0])
        out.append(head.replace("\n", " ") + "\n" * newlines)
        pos = p + 1
    out.append(src[pos:])
    return "".join(out)


def main():
    src_path, out_path = sys.argv[1], sys.argv[2]
    with open(src_path) as f:
        src = f.read()
    text = '#line 1 "%s"\n' % src_path + rewrite(src)
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
