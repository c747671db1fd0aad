// CPU conv2d (forward, backward-data, backward-weight) as im2col/col2im + the table's GEMM, with
// stride, padding, dilation and groups; weights K x C/g x R x S. The batch runs in chunks of images so
// the column buffer stays bounded; a chunk's columns are [C/g*R*S] x [images * P*Q].
#include <algorithm>
#include <cstring>
#include <vector>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {
namespace {

// Floats in a chunk's column + GEMM-output buffers. Chunks are small enough to stay in a core's L2 cache from im2col to
// the GEMM (256 KiB; bench/results/2026-12-06-cpu-conv-chunks.md has the measurements), except in a wide
// layer's weight gradient (conv2d_wgrad), whose large chunks (16 MiB) run one after another with their GEMM tiled.
// Both are constants: the chunks, the GEMM shapes and with them the rounding depend on the layer's shape alone. (A CBLAS
// library that threads each product itself gets the large chunks throughout: it needs large products to use them.)
constexpr int64_t kChunkBudget = int64_t{1} << 16;
constexpr int64_t kLargeChunkBudget = int64_t{1} << 22;
// A narrow layer's weight gradient is summed by up to 16 slices of the batch side by side, while their partial
// gradients fit 8 MiB (conv2d_wgrad).
constexpr int64_t kMaxWgradSlices = 16;
constexpr int64_t kWgradPartialBudget = int64_t{1} << 21;
constexpr int64_t kSideBySideScratch = int64_t{1} << 20;  // floats of scratch per thread when chunks run side by side

struct Geom {
    int G, Cg, Kg, P, Q;
    int64_t HW, PQ, CRS;
    explicit Geom(const Conv2dDesc& d)
        : G(d.groups), Cg(d.C / d.groups), Kg(d.K / d.groups), P(d.P()), Q(d.Q()),
          HW(int64_t{d.H} * d.W), PQ(int64_t{P} * Q), CRS(int64_t{Cg} * d.R * d.S) {}
};

// Images per chunk: as many as fit the budget, at least one.
int chunk_images(const Conv2dDesc& d, const Geom& g, int64_t budget) {
    if (gemm_threads_itself()) budget = std::max(budget, kLargeChunkBudget);
    const int64_t per_image = (g.CRS + g.Kg) * g.PQ;
    return static_cast<int>(std::clamp<int64_t>(budget / std::max<int64_t>(per_image, 1), 1, std::max(d.N, 1)));
}

// Whether `items` pieces of work (chunks, or slices of chunks) of `floats` scratch each run side by side, one per
// thread with its im2col loops and GEMM tiles inline: only with a GEMM that several threads may call at once
// (tiles_itself: not a sequential OpenBLAS build, nor another library that threads itself), with at most 4 MiB of
// scratch per thread, and with at least `min_items`. Otherwise they run one after another, each spread over the
// threads. The bits are the same either way: a piece's work does not depend on the thread it runs on.
bool side_by_side(int64_t items, int64_t floats, int64_t min_items) {
    return items >= 2 && items >= min_items && floats <= kSideBySideScratch && tiles_itself();
}

// f(i) for i in [0, n), side by side or one after another.
template <class F>
void run_pieces(int64_t n, bool together, F&& f) {
    if (!together) {
        for (int64_t i = 0; i < n; ++i) f(i);
        return;
    }
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) f(i);
    });
}

// chunk(n0, nc) for the chunks [n0, n0 + nc) of nb images that cover the batch; side by side when there are at least
// as many as threads. Each chunk writes only its own images.
template <class F>
void for_each_chunk(const Conv2dDesc& d, const Geom& g, int nb, F&& chunk) {
    const int64_t chunks = (int64_t{d.N} + nb - 1) / nb;
    run_pieces(chunks, side_by_side(chunks, nb * (g.CRS + g.Kg) * g.PQ, cpu_threads()), [&](int64_t c) {
        const int n0 = static_cast<int>(c * nb);
        chunk(n0, std::min(nb, d.N - n0));
    });
}

// Per-thread scratch that only grows: a column or GEMM buffer of n floats without the zero fill a fresh
// std::vector's resize() does on every call (every entry is written before it is read). The chunk budget or one
// image's columns, whichever is larger, kept for the thread's life; slot 2 holds the weight gradient's partials.
float* scratch(int slot, int64_t n) {
    thread_local std::vector<float> buf[3];
    std::vector<float>& v = buf[slot];
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
    return v.data();
}

// A 1x1, stride-1, unpadded convolution: an image's column matrix is the image itself.
bool im2col_is_identity(const Conv2dDesc& d) {
    return d.R == 1 && d.S == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_h == 0 && d.pad_w == 0;
}

// Output positions o in [lo, hi) whose input index o*stride + off lies in [0, in).
void valid_range(int in, int out, int off, int stride, int& lo, int& hi) {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    hi = (in - 1 - off) < 0 ? 0 : (in - 1 - off) / stride + 1;
    lo = std::min(lo, out);
    hi = std::clamp(hi, lo, out);
}

// Walks every (column row, image, output row) of a chunk and calls f(x_row_or_null, col_row, iw0, q_lo, q_hi):
// x_row is input row ih of the channel (null when ih is padding), col_row the Q outputs of that row. The
// (channel, image) pairs run in parallel: each owns its input plane, and within it the (r, s, p) order is the
// serial one, so col2im's sums do not depend on the thread count.
template <class XPtr, class ColPtr, class F>
void for_each_col_row(const Conv2dDesc& d, const Geom& g, XPtr x, int nc, int group, ColPtr col, F&& f) {
    const int64_t ld = int64_t{nc} * g.PQ;
    parallel_for(int64_t{g.Cg} * nc, grain_for(int64_t{d.R} * d.S * g.PQ), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int c = static_cast<int>(i / nc), nl = static_cast<int>(i % nc);
            XPtr xc = x + (int64_t{nl} * d.C + int64_t{group} * g.Cg + c) * g.HW;
            for (int r = 0; r < d.R; ++r)
                for (int s = 0; s < d.S; ++s) {
                    const int64_t row = (int64_t{c} * d.R + r) * d.S + s;
                    const int iw0 = s * d.dil_w - d.pad_w;
                    int q_lo, q_hi;
                    valid_range(d.W, g.Q, iw0, d.stride_w, q_lo, q_hi);
                    ColPtr dst = col + row * ld + nl * g.PQ;
                    for (int p = 0; p < g.P; ++p) {
                        const int ih = p * d.stride_h - d.pad_h + r * d.dil_h;
                        const bool inside = ih >= 0 && ih < d.H;
                        f(inside ? xc + int64_t{ih} * d.W : nullptr, dst + int64_t{p} * g.Q, iw0, q_lo, q_hi);
                    }
                }
        }
    });
}

// col[CRS][nc*PQ] from images x[nc][C][H][W], channels of `group`.
// im2col when the output rows are as wide as the input's and both strides are 1 (a 'same'-padded convolution): a
// tap's valid output rows then read consecutive input rows, so they are one block copy, after which the columns that
// fall into the padding are zeroed.
void im2col_same_width(const Conv2dDesc& d, const Geom& g, const float* x, int nc, int group, float* col) {
    const int64_t ld = int64_t{nc} * g.PQ;
    const int W = d.W;
    parallel_for(int64_t{g.Cg} * nc, grain_for(int64_t{d.R} * d.S * g.PQ), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int c = static_cast<int>(i / nc), nl = static_cast<int>(i % nc);
            const float* xc = x + (int64_t{nl} * d.C + int64_t{group} * g.Cg + c) * g.HW;
            for (int r = 0; r < d.R; ++r) {
                const int ih0 = r * d.dil_h - d.pad_h;  // input row of output row 0
                int p_lo, p_hi;
                valid_range(d.H, g.P, ih0, 1, p_lo, p_hi);
                for (int s = 0; s < d.S; ++s) {
                    const int iw0 = s * d.dil_w - d.pad_w;
                    int q_lo, q_hi;
                    valid_range(W, g.Q, iw0, 1, q_lo, q_hi);
                    float* dst = col + ((int64_t{c} * d.R + r) * d.S + s) * ld + nl * g.PQ;
                    if (p_lo >= p_hi || q_lo >= q_hi) {
                        std::fill(dst, dst + g.PQ, 0.f);
                        continue;
                    }
                    std::fill(dst, dst + int64_t{p_lo} * W, 0.f);
                    // dst[p * W + q] = x[(p + ih0) * W + q + iw0], from the first valid entry to the last.
                    const int64_t first = int64_t{p_lo} * W + q_lo, last = int64_t{p_hi - 1} * W + q_hi;
                    std::copy(xc + first + int64_t{ih0} * W + iw0, xc + last + int64_t{ih0} * W + iw0, dst + first);
                    for (int p = p_lo; p < p_hi; ++p) {
                        float* row = dst + int64_t{p} * W;
                        std::fill(row, row + q_lo, 0.f);
                        std::fill(row + q_hi, row + W, 0.f);
                    }
                    std::fill(dst + int64_t{p_hi} * W, dst + g.PQ, 0.f);
                }
            }
        }
    });
}

void im2col(const Conv2dDesc& d, const Geom& g, const float* x, int nc, int group, float* col) {
    if (d.stride_h == 1 && d.stride_w == 1 && g.Q == d.W) {
        im2col_same_width(d, g, x, nc, group, col);
        return;
    }
    const int sw = d.stride_w;
    for_each_col_row(d, g, x, nc, group, col, [&](const float* xr, float* out, int iw0, int lo, int hi) {
        if (!xr) {
            std::fill(out, out + g.Q, 0.f);
            return;
        }
        std::fill(out, out + lo, 0.f);
        if (sw == 1)
            std::copy(xr + lo + iw0, xr + hi + iw0, out + lo);
        else
            for (int q = lo; q < hi; ++q) out[q] = xr[q * sw + iw0];
        std::fill(out + hi, out + g.Q, 0.f);
    });
}

// dx[nc][C][H][W] += scatter of col[CRS][nc*PQ] (channels of `group`); padding positions are dropped.
void col2im(const Conv2dDesc& d, const Geom& g, const float* col, int nc, int group, float* dx) {
    const int sw = d.stride_w;
    for_each_col_row(d, g, dx, nc, group, col, [&](float* xr, const float* in, int iw0, int lo, int hi) {
        if (!xr) return;
        if (sw == 1) {
            for (int q = lo; q < hi; ++q) xr[q + iw0] += in[q];
        } else {
            for (int q = lo; q < hi; ++q) xr[q * sw + iw0] += in[q];
        }
    });
}

// dst[Kg][nc*PQ] from t[nc][K][PQ], channels of `group` (dy of a chunk, laid out as a GEMM operand).
void gather_group(const Geom& g, int K, const float* t, int nc, int group, float* dst) {
    const int64_t ld = int64_t{nc} * g.PQ;
    parallel_for(int64_t{g.Kg} * nc, grain_for(g.PQ), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t k = i / nc, nl = i % nc;
            std::memcpy(dst + k * ld + nl * g.PQ, t + (nl * K + int64_t{group} * g.Kg + k) * g.PQ,
                        sizeof(float) * g.PQ);
        }
    });
}

// The inverse for the forward's output: y[nc][K][PQ] (channels of `group`) from out[Kg][nc*PQ].
void scatter_group(const Geom& g, int K, const float* out, int nc, int group, float* y) {
    const int64_t ld = int64_t{nc} * g.PQ;
    parallel_for(int64_t{g.Kg} * nc, grain_for(g.PQ), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t k = i / nc, nl = i % nc;
            std::memcpy(y + (nl * K + int64_t{group} * g.Kg + k) * g.PQ, out + k * ld + nl * g.PQ,
                        sizeof(float) * g.PQ);
        }
    });
}

decltype(OpTable::gemm) gemm_entry() { return require_op(cpu_ops().gemm, "gemm", cpu_ops()); }

void conv2d_fwd(const Ctx& ctx, const Conv2dDesc& d, const float* x, const float* w, const float* b, float* y) {
    const Geom g(d);
    const auto gemm = gemm_entry();
    const bool identity = im2col_is_identity(d);
    for_each_chunk(d, g, chunk_images(d, g, kChunkBudget), [&](int n0, int nc) {
        const int64_t ld = nc * g.PQ;
        const float* xn = x + int64_t{n0} * d.C * g.HW;
        float* yn = y + int64_t{n0} * d.K * g.PQ;
        for (int grp = 0; grp < g.G; ++grp) {
            const float* wg = w + int64_t{grp} * g.Kg * g.CRS;
            const float* bmat = xn + int64_t{grp} * g.Cg * g.HW;  // identity im2col, one image
            if (!(identity && nc == 1)) {
                float* col = scratch(0, g.CRS * ld);
                im2col(d, g, xn, nc, grp, col);
                bmat = col;
            }
            if (nc == 1) {  // one image: the group's output block is a contiguous Kg x PQ matrix
                gemm(ctx, false, false, g.Kg, static_cast<int>(g.PQ), static_cast<int>(g.CRS), 1.f, wg,
                     static_cast<int>(g.CRS), bmat, static_cast<int>(g.PQ), 0.f, yn + int64_t{grp} * g.Kg * g.PQ,
                     static_cast<int>(g.PQ));
                continue;
            }
            float* out = scratch(1, g.Kg * ld);
            gemm(ctx, false, false, g.Kg, static_cast<int>(ld), static_cast<int>(g.CRS), 1.f, wg,
                 static_cast<int>(g.CRS), bmat, static_cast<int>(ld), 0.f, out, static_cast<int>(ld));
            scatter_group(g, d.K, out, nc, grp, yn);
        }
    });
    if (!b) return;
    parallel_for(int64_t{d.N} * d.K, grain_for(g.PQ), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* p = y + i * g.PQ;
            const float bk = b[i % d.K];
            for (int64_t j = 0; j < g.PQ; ++j) p[j] += bk;
        }
    });
}

void conv2d_dgrad(const Ctx& ctx, const Conv2dDesc& d, const float* dy, const float* w, float* dx) {
    const Geom g(d);
    const auto gemm = gemm_entry();
    const bool identity = im2col_is_identity(d);
    // Input positions that no output reads (e.g. the last row of an even input under stride 2) stay 0.
    parallel_fill(dx, int64_t{d.N} * d.C * g.HW, 0.f);
    for_each_chunk(d, g, chunk_images(d, g, kChunkBudget), [&](int n0, int nc) {
        const int64_t ld = nc * g.PQ;
        const float* dyn = dy + int64_t{n0} * d.K * g.PQ;
        float* dxn = dx + int64_t{n0} * d.C * g.HW;
        for (int grp = 0; grp < g.G; ++grp) {
            const float* wg = w + int64_t{grp} * g.Kg * g.CRS;
            const float* amat = dyn + int64_t{grp} * g.Kg * g.PQ;  // one image: contiguous Kg x PQ
            if (nc > 1) {
                float* dyg = scratch(1, g.Kg * ld);
                gather_group(g, d.K, dyn, nc, grp, dyg);
                amat = dyg;
            }
            // col[CRS][ld] = w_g^T [CRS x Kg] * dy_g [Kg x ld]
            const bool direct = identity && nc == 1;  // 1x1 stride 1, one image: the columns are dx itself
            float* cmat = direct ? dxn + int64_t{grp} * g.Cg * g.HW : scratch(0, g.CRS * ld);
            gemm(ctx, true, false, static_cast<int>(g.CRS), static_cast<int>(ld), g.Kg, 1.f, wg,
                 static_cast<int>(g.CRS), amat, static_cast<int>(ld), 0.f, cmat, static_cast<int>(ld));
            if (!direct) col2im(d, g, cmat, nc, grp, dxn);
        }
    });
}

// dw [K x CRS] (+)= the weight gradient of images [n0, n0 + nc): beta 0 writes it, beta 1 adds to it.
void wgrad_chunk(const Ctx& ctx, const Conv2dDesc& d, const Geom& g, const float* x, const float* dy, int n0, int nc,
                 float beta, float* dw) {
    const auto gemm = gemm_entry();
    const int64_t ld = nc * g.PQ;
    const float* xn = x + int64_t{n0} * d.C * g.HW;
    const float* dyn = dy + int64_t{n0} * d.K * g.PQ;
    for (int grp = 0; grp < g.G; ++grp) {
        const float* amat = dyn + int64_t{grp} * g.Kg * g.PQ;
        const float* bmat = xn + int64_t{grp} * g.Cg * g.HW;
        if (nc > 1) {
            float* dyg = scratch(1, g.Kg * ld);
            gather_group(g, d.K, dyn, nc, grp, dyg);
            amat = dyg;
        }
        if (!(im2col_is_identity(d) && nc == 1)) {
            float* col = scratch(0, g.CRS * ld);
            im2col(d, g, xn, nc, grp, col);
            bmat = col;
        }
        // dw_g [Kg x CRS] (+)= dy_g [Kg x ld] * col^T [ld x CRS]
        gemm(ctx, false, true, g.Kg, static_cast<int>(g.CRS), static_cast<int>(ld), 1.f, amat, static_cast<int>(ld),
             bmat, static_cast<int>(ld), beta, dw + int64_t{grp} * g.Kg * g.CRS, static_cast<int>(g.CRS));
    }
}

// The weight gradient sums over the images. A narrow layer (its gradient small) splits the batch into slices that run
// side by side, each summing its small, cache-sized chunks into a gradient of its own; the slices' gradients are then
// added in slice order. A wide layer runs large chunks one after another, each spread over the threads with its GEMM
// tiled. The choice and the slices follow from the shape alone, so the sums' order does too.
void conv2d_wgrad(const Ctx& ctx, const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
    const Geom g(d);
    const int64_t wsize = int64_t{d.K} * g.CRS;
    if (d.N <= 0) {
        std::fill(dw, dw + wsize, 0.f);
        return;
    }
    const int nb = chunk_images(d, g, kChunkBudget);
    const int64_t chunks = (int64_t{d.N} + nb - 1) / nb;
    const int64_t slices = std::min({chunks, kMaxWgradSlices, kWgradPartialBudget / std::max<int64_t>(wsize, 1)});
    if (slices < 2) {
        const int nbw = chunk_images(d, g, kLargeChunkBudget);
        for (int n0 = 0; n0 < d.N; n0 += nbw)
            wgrad_chunk(ctx, d, g, x, dy, n0, std::min(nbw, d.N - n0), n0 ? 1.f : 0.f, dw);
        return;
    }
    float* partial = scratch(2, (slices - 1) * wsize);  // slice 0 sums into dw itself
    run_pieces(slices, side_by_side(slices, nb * (g.CRS + g.Kg) * g.PQ, 2), [&](int64_t s) {
        float* out = s == 0 ? dw : partial + (s - 1) * wsize;
        for (int64_t c = s * chunks / slices; c < (s + 1) * chunks / slices; ++c) {
            const int n0 = static_cast<int>(c * nb);
            wgrad_chunk(ctx, d, g, x, dy, n0, std::min(nb, d.N - n0), c == s * chunks / slices ? 0.f : 1.f, out);
        }
    });
    parallel_for(wsize, grain_for(slices), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            float sum = dw[i];
            for (int64_t s = 1; s < slices; ++s) sum += partial[(s - 1) * wsize + i];
            dw[i] = sum;
        }
    });
}

}  // namespace

void register_conv2d(OpTable& t) {
    t.conv2d_fwd = conv2d_fwd;
    t.conv2d_dgrad = conv2d_dgrad;
    t.conv2d_wgrad = conv2d_wgrad;
}

}  // namespace lrp::kernels::cpu
