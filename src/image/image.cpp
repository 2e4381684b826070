// The edgecar_image host module: decoding with libjpeg-turbo (TurboJPEG API), libpng
// (simplified API), giflib (first frame, read record by record so that later frames are
// never decoded) and libwebp; BMP by hand. Every size is checked against the input's
// length and the pixel cap before memory is allocated.
#include "edgecar/image.hpp"
#include "edgecar/guest_memory.hpp"

#include <gif_lib.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

namespace edgecar::image {

namespace {

// giflib's message for an error code; GifErrorString returns NULL for codes it does not
// know (a crafted GIF reached one: std::string + NULL crashed the host, found by fuzz_image).
std::string gif_error(int code) {
  const char* m = GifErrorString(code);
  return m ? std::string(m) : "giflib error " + std::to_string(code);
}

// An error for the guest: the code it receives (Errc) and the message for the log.
Error fail(Errc code, std::string message) {
  Error e{ErrorKind::Usage, std::move(message)};
  e.guest_code = static_cast<int32_t>(code);
  return e;
}

// Dimensions from a header, refused before any pixel is decoded when over the cap.
Expected<void> check_size(uint64_t w, uint64_t h) {
  if (w == 0 || h == 0) return fail(Errc::Corrupt, "image has no pixels");
  if (w > 65535 || h > 65535 || w * h > kMaxPixels)
    return fail(Errc::TooLarge, "image of " + std::to_string(w) + "x" + std::to_string(h) +
                                    " pixels is over the limit of " + std::to_string(kMaxPixels) +
                                    " pixels");
  return {};
}

uint32_t le32(const uint8_t* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

// ---- JPEG ----
struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() {
    if (h) tjDestroy(h);
  }
};

// The size to decode a w x h JPEG at for a resize to want_w x want_h: reduced in the DCT
// by 1/2, 1/4 or 1/8, the most that keeps at least twice the wanted size in both
// directions, chosen as Pillow's JPEG draft chooses (draft to twice the size, then an
// antialiased resize: Pillow's thumbnail with reducing_gap 2); the full size otherwise.
std::pair<int, int> jpeg_scaled_size(int w, int h, uint32_t want_w, uint32_t want_h) {
  if (!want_w || !want_h) return {w, h};
  uint64_t scale = std::min(uint64_t(w) / (2ull * want_w), uint64_t(h) / (2ull * want_h));
  for (int a : {8, 4, 2})
    if (scale >= uint64_t(a)) return {(w + a - 1) / a, (h + a - 1) / a};
  return {w, h};
}

Expected<Rgb8> jpeg(std::span<const uint8_t> in, bool pixels, uint32_t want_w = 0,
                    uint32_t want_h = 0) {
  Rgb8 out;
  TjHandle tj;
  if (!tj.h) return fail(Errc::Corrupt, "JPEG decoder unavailable");
  int w = 0, h = 0, sub = 0, cs = 0;
  if (tjDecompressHeader3(tj.h, in.data(), in.size(), &w, &h, &sub, &cs) != 0)
    return fail(Errc::Corrupt, std::string("corrupt JPEG: ") + tjGetErrorStr2(tj.h));
  if (auto r = check_size(static_cast<uint64_t>(w), static_cast<uint64_t>(h)); !r)
    return std::move(r).error();
  std::tie(w, h) = jpeg_scaled_size(w, h, want_w, want_h);
  out.width = static_cast<uint32_t>(w);
  out.height = static_cast<uint32_t>(h);
  if (!pixels) return out;
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  // Warnings (a truncated file, bad data) stop decoding: a partial picture is an error.
  if (tjDecompress2(tj.h, in.data(), in.size(), out.pixels.data(), w, 0, h, TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0)
    return fail(Errc::Corrupt, std::string("corrupt JPEG: ") + tjGetErrorStr2(tj.h));
  return out;
}

// ---- PNG ----
Expected<Rgb8> png(std::span<const uint8_t> in, bool pixels) {
  Rgb8 out;
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, in.data(), in.size()))
    return fail(Errc::Corrupt, std::string("corrupt PNG: ") + img.message);
  struct Free {
    png_image* i;
    ~Free() { png_image_free(i); }
  } guard{&img};
  if (auto r = check_size(img.width, img.height); !r) return std::move(r).error();
  out.width = img.width;
  out.height = img.height;
  if (!pixels) return out;
  // Read as RGBA and drop alpha (as Pillow's convert("RGB") and the Rust image crate's
  // to_rgb8 do); libpng's own RGB output would composite in linear light instead.
  img.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, rgba.data(), 0, nullptr))
    return fail(Errc::Corrupt, std::string("corrupt PNG: ") + img.message);
  out.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (size_t i = 0, n = static_cast<size_t>(img.width) * img.height; i < n; ++i)
    std::memcpy(&out.pixels[i * 3], &rgba[i * 4], 3);
  return out;
}

// ---- GIF ----
struct GifReader {
  std::span<const uint8_t> in;
  size_t at = 0;
  static int read(GifFileType* g, GifByteType* buf, int n) {
    auto* r = static_cast<GifReader*>(g->UserData);
    size_t k = std::min<size_t>(static_cast<size_t>(n), r->in.size() - r->at);
    std::memcpy(buf, r->in.data() + r->at, k);
    r->at += k;
    return static_cast<int>(k);
  }
};

Expected<Rgb8> gif(std::span<const uint8_t> in, bool pixels) {
  Rgb8 out;
  GifReader reader{in};
  int err = 0;
  GifFileType* g = DGifOpen(&reader, GifReader::read, &err);
  if (!g) return fail(Errc::Corrupt, std::string("corrupt GIF: ") + gif_error(err));
  struct Close {
    GifFileType* g;
    ~Close() {
      int e;
      DGifCloseFile(g, &e);
    }
  } guard{g};
  if (auto r = check_size(static_cast<uint64_t>(g->SWidth), static_cast<uint64_t>(g->SHeight)); !r)
    return std::move(r).error();
  out.width = static_cast<uint32_t>(g->SWidth);
  out.height = static_cast<uint32_t>(g->SHeight);
  if (!pixels) return out;
  const uint32_t W = out.width, H = out.height;
  out.pixels.assign(static_cast<size_t>(W) * H * 3, 0);
  if (g->SColorMap && g->SBackGroundColor < g->SColorMap->ColorCount) {
    GifColorType bg = g->SColorMap->Colors[g->SBackGroundColor];
    for (size_t i = 0; i < static_cast<size_t>(W) * H; ++i) {
      out.pixels[i * 3] = bg.Red;
      out.pixels[i * 3 + 1] = bg.Green;
      out.pixels[i * 3 + 2] = bg.Blue;
    }
  }
  int transparent = -1;
  GifRecordType rec;
  do {
    if (DGifGetRecordType(g, &rec) == GIF_ERROR)
      return fail(Errc::Corrupt, std::string("corrupt GIF: ") + gif_error(g->Error));
    if (rec == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(g, &code, &ext) == GIF_ERROR)
        return fail(Errc::Corrupt, "corrupt GIF extension");
      if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1))
        transparent = ext[4];
      while (ext) {
        if (DGifGetExtensionNext(g, &ext) == GIF_ERROR)
          return fail(Errc::Corrupt, "corrupt GIF extension");
      }
    } else if (rec == IMAGE_DESC_RECORD_TYPE) {
      if (DGifGetImageDesc(g) == GIF_ERROR)
        return fail(Errc::Corrupt, std::string("corrupt GIF: ") + gif_error(g->Error));
      const GifImageDesc& d = g->Image;
      ColorMapObject* map = d.ColorMap ? d.ColorMap : g->SColorMap;
      if (!map) return fail(Errc::Corrupt, "GIF without a colour map");
      if (d.Width <= 0 || d.Height <= 0 || d.Left < 0 || d.Top < 0 ||
          static_cast<uint64_t>(d.Width) * static_cast<uint64_t>(d.Height) > kMaxPixels)
        return fail(Errc::Corrupt, "GIF frame outside its canvas");
      std::vector<GifPixelType> line(static_cast<size_t>(d.Width));
      auto put_row = [&](int y) {
        int cy = d.Top + y;
        if (cy >= static_cast<int>(H)) return;
        for (int x = 0; x < d.Width; ++x) {
          int cx = d.Left + x;
          if (cx >= static_cast<int>(W) || line[x] == transparent || line[x] >= map->ColorCount)
            continue;
          uint8_t* p = &out.pixels[(static_cast<size_t>(cy) * W + cx) * 3];
          p[0] = map->Colors[line[x]].Red;
          p[1] = map->Colors[line[x]].Green;
          p[2] = map->Colors[line[x]].Blue;
        }
      };
      const int starts[] = {0, 4, 2, 1}, steps[] = {8, 8, 4, 2};
      for (int pass = 0; pass < (d.Interlace ? 4 : 1); ++pass) {
        for (int y = d.Interlace ? starts[pass] : 0; y < d.Height;
             y += d.Interlace ? steps[pass] : 1) {
          if (DGifGetLine(g, line.data(), d.Width) == GIF_ERROR)
            return fail(Errc::Corrupt, std::string("corrupt GIF: ") + gif_error(g->Error));
          put_row(y);
        }
      }
      return out;  // the first frame only
    }
  } while (rec != TERMINATE_RECORD_TYPE);
  return fail(Errc::Corrupt, "GIF without an image");
}

// ---- WebP ----
Expected<Rgb8> webp(std::span<const uint8_t> in, bool pixels) {
  Rgb8 out;
  int w = 0, h = 0;
  if (!WebPGetInfo(in.data(), in.size(), &w, &h)) return fail(Errc::Corrupt, "corrupt WebP");
  if (auto r = check_size(static_cast<uint64_t>(w), static_cast<uint64_t>(h)); !r)
    return std::move(r).error();
  out.width = static_cast<uint32_t>(w);
  out.height = static_cast<uint32_t>(h);
  if (!pixels) return out;
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  if (!WebPDecodeRGBInto(in.data(), in.size(), out.pixels.data(), out.pixels.size(), w * 3))
    return fail(Errc::Corrupt, "corrupt WebP");
  return out;
}

// ---- BMP: uncompressed 8-bit (palette), 24-bit and 32-bit ----
Expected<Rgb8> bmp(std::span<const uint8_t> in, bool pixels) {
  Rgb8 out;
  if (in.size() < 54) return fail(Errc::Corrupt, "truncated BMP header");
  const uint8_t* p = in.data();
  uint32_t offset = le32(p + 10), dib = le32(p + 14);
  if (dib < 40 || 14ull + dib > in.size()) return fail(Errc::Corrupt, "unsupported BMP header");
  int32_t w = static_cast<int32_t>(le32(p + 18)), h = static_cast<int32_t>(le32(p + 22));
  uint16_t bpp = le16(p + 28);
  uint32_t compression = le32(p + 30), colors = le32(p + 46);
  bool top_down = h < 0;
  int64_t hh = top_down ? -static_cast<int64_t>(h) : h;
  if (w <= 0 || hh <= 0) return fail(Errc::Corrupt, "BMP with no pixels");
  if (auto r = check_size(static_cast<uint64_t>(w), static_cast<uint64_t>(hh)); !r)
    return std::move(r).error();
  if (!(bpp == 8 || bpp == 24 || bpp == 32) ||
      !(compression == 0 || (compression == 3 && bpp == 32)))
    return fail(Errc::Unsupported,
                "BMP with " + std::to_string(bpp) + " bits per pixel and compression " +
                    std::to_string(compression) + " (8, 24 or 32-bit uncompressed only)");
  out.width = static_cast<uint32_t>(w);
  out.height = static_cast<uint32_t>(hh);
  if (!pixels) return out;
  uint64_t stride = (static_cast<uint64_t>(w) * bpp + 31) / 32 * 4;
  if (offset > in.size() || stride * static_cast<uint64_t>(hh) > in.size() - offset)
    return fail(Errc::Corrupt, "truncated BMP pixel data");
  const uint8_t* palette = p + 14 + dib;
  uint32_t ncolors = bpp == 8 ? (colors ? colors : 256) : 0;
  if (ncolors > 256 || 14ull + dib + ncolors * 4ull > offset)
    return fail(Errc::Corrupt, "BMP palette out of bounds");
  out.pixels.resize(static_cast<size_t>(w) * hh * 3);
  for (int64_t y = 0; y < hh; ++y) {
    const uint8_t* row = p + offset + stride * static_cast<uint64_t>(top_down ? y : hh - 1 - y);
    uint8_t* dst = &out.pixels[static_cast<size_t>(y) * w * 3];
    for (int32_t x = 0; x < w; ++x, dst += 3) {
      if (bpp == 8) {
        uint8_t i = row[x];
        if (i >= ncolors) return fail(Errc::Corrupt, "BMP palette index out of range");
        dst[0] = palette[i * 4 + 2], dst[1] = palette[i * 4 + 1], dst[2] = palette[i * 4];
      } else {
        const uint8_t* s = row + static_cast<size_t>(x) * (bpp / 8);
        dst[0] = s[2], dst[1] = s[1], dst[2] = s[0];
      }
    }
  }
  return out;
}

Expected<Rgb8> read(std::span<const uint8_t> in, bool pixels, uint32_t want_w = 0,
                    uint32_t want_h = 0) {
  Format format = sniff(in);
  Expected<Rgb8> r =
      fail(Errc::Unsupported, "not an image edgecar can read (JPEG, PNG, GIF, BMP or WebP)");
  switch (format) {
    case Format::Jpeg:
      r = jpeg(in, pixels, want_w, want_h);
      break;
    case Format::Png:
      r = png(in, pixels);
      break;
    case Format::Gif:
      r = gif(in, pixels);
      break;
    case Format::Bmp:
      r = bmp(in, pixels);
      break;
    case Format::WebP:
      r = webp(in, pixels);
      break;
    case Format::Unknown:
      break;
  }
  if (r) r->format = format;
  return r;
}

}  // namespace

Format sniff(std::span<const uint8_t> b) {
  auto starts = [&](const char* sig, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, sig, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return Format::Jpeg;
  if (starts("\x89PNG\r\n\x1a\n", 8)) return Format::Png;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return Format::Gif;
  if (starts("BM", 2)) return Format::Bmp;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return Format::WebP;
  return Format::Unknown;
}

Expected<Rgb8> probe(std::span<const uint8_t> bytes) {
  return read(bytes, false);
}
Expected<Rgb8> decode(std::span<const uint8_t> bytes) {
  return read(bytes, true);
}
Expected<Rgb8> probe_for_resize(std::span<const uint8_t> bytes, uint32_t width, uint32_t height) {
  return read(bytes, false, width, height);
}
Expected<Rgb8> decode_for_resize(std::span<const uint8_t> bytes, uint32_t width, uint32_t height) {
  return read(bytes, true, width, height);
}

namespace {

// Pillow's resampling with its bilinear (triangle) filter, widened by the reduction
// factor when shrinking so every source pixel counts (an antialiased resize, what
// classifiers are trained on through Pillow), in Pillow's own fixed point: 22-bit
// coefficients, rounded, each pass clipped to 8 bits, horizontal pass first. The same
// input gives the same bytes as Pillow's Image.resize(size, Image.BILINEAR).
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Taps {
  std::vector<uint32_t> first;   // per output pixel: the first source pixel
  std::vector<uint32_t> count;   // how many source pixels
  std::vector<int32_t> weights;  // max_taps per output pixel
  uint32_t max_taps = 0;
};

Taps taps(uint32_t in_size, uint32_t out_size) {
  double scale = static_cast<double>(in_size) / out_size;
  double filter_scale = std::max(scale, 1.0);
  double support = 1.0 * filter_scale;
  Taps t;
  t.max_taps = static_cast<uint32_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.max_taps, 0);
  std::vector<double> k(t.max_taps);
  for (uint32_t x = 0; x < out_size; ++x) {
    double center = (x + 0.5) * scale;
    int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    int xmax = std::min(static_cast<int>(center + support + 0.5), static_cast<int>(in_size)) - xmin;
    xmax = std::clamp(xmax, 0, static_cast<int>(t.max_taps));
    double total = 0;
    for (int i = 0; i < xmax; ++i) {
      double d = std::abs((i + xmin - center + 0.5) / filter_scale);
      k[static_cast<size_t>(i)] = d < 1.0 ? 1.0 - d : 0.0;
      total += k[static_cast<size_t>(i)];
    }
    for (int i = 0; i < xmax; ++i) {
      double w = total != 0.0 ? k[static_cast<size_t>(i)] / total : 0.0;  // never negative
      t.weights[static_cast<size_t>(x) * t.max_taps + static_cast<size_t>(i)] =
          static_cast<int32_t>(0.5 + w * (1 << kPrecisionBits));
    }
    t.first[x] = static_cast<uint32_t>(xmin);
    t.count[x] = static_cast<uint32_t>(xmax);
  }
  return t;
}

// Sums fit 32 bits as in Pillow: at most 255 times weights summing to 2^22 (plus rounding),
// the triangle filter having no negative lobes.
uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(std::clamp<int32_t>(v, 0, 255));
}

}  // namespace

std::vector<uint8_t> resize(const Rgb8& in, uint32_t width, uint32_t height) {
  // Horizontal pass: in.height rows of `width` pixels.
  std::vector<uint8_t> mid;
  const std::vector<uint8_t>* rows = &in.pixels;
  if (width != in.width) {
    Taps h = taps(in.width, width);
    mid.resize(static_cast<size_t>(width) * in.height * 3);
    for (uint32_t y = 0; y < in.height; ++y) {
      const uint8_t* src = in.pixels.data() + static_cast<size_t>(y) * in.width * 3;
      uint8_t* dst = mid.data() + static_cast<size_t>(y) * width * 3;
      for (uint32_t x = 0; x < width; ++x) {
        const int32_t* w = h.weights.data() + static_cast<size_t>(x) * h.max_taps;
        const uint8_t* p = src + static_cast<size_t>(h.first[x]) * 3;
        int32_t r = 1 << (kPrecisionBits - 1), g = r, b = r;
        for (uint32_t i = 0; i < h.count[x]; ++i, p += 3) {
          r += p[0] * w[i];
          g += p[1] * w[i];
          b += p[2] * w[i];
        }
        dst[x * 3] = clip8(r);
        dst[x * 3 + 1] = clip8(g);
        dst[x * 3 + 2] = clip8(b);
      }
    }
    rows = &mid;
  }
  if (height == in.height) return rows == &mid ? mid : in.pixels;
  // Vertical pass.
  Taps v = taps(in.height, height);
  std::vector<uint8_t> out(static_cast<size_t>(width) * height * 3);
  const size_t stride = static_cast<size_t>(width) * 3;
  std::vector<int32_t> acc(stride);  // a row at a time, source rows read in order
  for (uint32_t y = 0; y < height; ++y) {
    const int32_t* w = v.weights.data() + static_cast<size_t>(y) * v.max_taps;
    std::fill(acc.begin(), acc.end(), int32_t{1} << (kPrecisionBits - 1));
    for (uint32_t i = 0; i < v.count[y]; ++i) {
      const uint8_t* row = rows->data() + (static_cast<size_t>(v.first[y]) + i) * stride;
      const int32_t wi = w[i];
      for (size_t c = 0; c < stride; ++c) acc[c] += row[c] * wi;
    }
    uint8_t* dst = out.data() + y * stride;
    for (size_t c = 0; c < stride; ++c) dst[c] = clip8(acc[c]);
  }
  return out;
}

namespace {

struct GifWriter {
  std::string* out;
  static int write(GifFileType* g, const GifByteType* buf, int n) {
    static_cast<GifWriter*>(g->UserData)
        ->out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
    return n;
  }
};

Expected<std::string> encode_gif(std::span<const uint8_t> px, uint32_t w, uint32_t h) {
  std::string out;
  GifWriter writer{&out};
  int err = 0;
  GifFileType* g = EGifOpen(&writer, GifWriter::write, &err);
  if (!g) return fail(Errc::InvalidArgument, std::string("GIF encoder: ") + gif_error(err));
  GifColorType grey[256];
  for (int i = 0; i < 256; ++i)
    grey[i] = {static_cast<GifByteType>(i), static_cast<GifByteType>(i),
               static_cast<GifByteType>(i)};
  ColorMapObject* map = GifMakeMapObject(256, grey);
  bool ok =
      map &&
      EGifPutScreenDesc(g, static_cast<int>(w), static_cast<int>(h), 8, 0, map) != GIF_ERROR &&
      EGifPutImageDesc(g, 0, 0, static_cast<int>(w), static_cast<int>(h), false, nullptr) !=
          GIF_ERROR;
  for (uint32_t y = 0; ok && y < h; ++y)
    ok = EGifPutLine(g, const_cast<GifPixelType*>(px.data() + static_cast<size_t>(y) * w),
                     static_cast<int>(w)) != GIF_ERROR;
  if (map) GifFreeMapObject(map);
  EGifCloseFile(g, &err);
  if (!ok) return fail(Errc::InvalidArgument, "GIF encoding failed");
  return out;
}

}  // namespace

Expected<std::string> encode(std::span<const uint8_t> px, uint32_t w, uint32_t h, uint32_t channels,
                             Format format) {
  if (w == 0 || h == 0 || w > 65535 || h > 65535 || static_cast<uint64_t>(w) * h > kMaxPixels)
    return fail(Errc::InvalidArgument,
                "cannot encode an image of " + std::to_string(w) + "x" + std::to_string(h));
  if (!(channels == 1 || channels == 3 || channels == 4))
    return fail(Errc::InvalidArgument, "channels must be 1, 3 or 4");
  if (px.size() != static_cast<size_t>(w) * h * channels)
    return fail(Errc::InvalidArgument,
                "pixel buffer size does not match width x height x channels");
  if (format == Format::Gif) {
    if (channels != 1) return fail(Errc::Unsupported, "GIF output takes grey pixels (1 channel)");
    return encode_gif(px, w, h);
  }
  if (format != Format::Png) return fail(Errc::Unsupported, "output formats: PNG (2) and GIF (3)");
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  std::string out;
  if (!png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr))
    return fail(Errc::InvalidArgument, std::string("PNG encoder: ") + img.message);
  out.resize(size);
  if (!png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr))
    return fail(Errc::InvalidArgument, std::string("PNG encoder: ") + img.message);
  out.resize(size);
  return out;
}

// ---- the host functions ----
namespace {

// Guest memory as a span, or empty with ok=false when out of bounds.
std::span<uint8_t> guest(HostCall& c, uint32_t ptr, uint32_t len, bool& ok) {
  auto s = GuestMemory(c).span(ptr, len);
  ok = ok && s.has_value();
  return s.value_or(std::span<uint8_t>());
}

int32_t code(Errc e) {
  return static_cast<int32_t>(e);
}

}  // namespace

const HostFunctions& shared_functions() {
  static const HostFunctions* fns = [] {
    auto* h = new HostFunctions;
    using V = ValType;
    // Each function returns an Errc; the reason goes to the log.
    // `why` is a failure's reason for the log.
    auto add = [&](const char* name, std::vector<ValType> params,
                   std::function<Errc(HostCall&, std::string & why)> body) {
      h->add("edgecar_image", name, FuncType{std::move(params), {V::I32}},
             [name, body = std::move(body)](HostCall& c) -> Expected<void> {
               std::string why;
               Errc e = body(c, why);
               if (e != Errc::Ok && !why.empty())
                 std::fprintf(stderr, "edgecar: edgecar_image.%s: %s\n", name, why.c_str());
               c.set_i32(0, code(e));
               return {};
             });
    };
    auto failed = [](const Error& e, std::string& why) {
      why = e.message;
      return static_cast<Errc>(e.guest_code);
    };
    // The image from guest memory; with a target size (resizes), a JPEG is decoded at
    // the smallest DCT scale that keeps twice that size.
    auto input = [failed](HostCall& c, std::string& why, Rgb8& img, bool pixels,
                          uint32_t want_w = 0, uint32_t want_h = 0) -> Errc {
      bool ok = true;
      auto in = guest(c, c.u32(0), c.u32(1), ok);
      if (!ok) return Errc::InvalidArgument;
      auto r = probe_for_resize(in, want_w, want_h);
      if (!r) return failed(r.error(), why);
      if (pixels) {
        // The host decodes on the guest's behalf, so it spends no more than the guest
        // could hold itself: a small image declaring a large canvas (or a resize to a
        // few pixels of a large one) is refused past the function's memory limit.
        uint64_t need = uint64_t{r->width} * r->height * 3;
        uint64_t budget = uint64_t{c.store().limits().max_memory_pages} * 65536;
        if (need > budget) {
          why = "decoding " + std::to_string(r->width) + "x" + std::to_string(r->height) +
                " pixels takes " + std::to_string(need >> 20) +
                " MiB, more than the function's memory limit (" + std::to_string(budget >> 20) +
                " MiB)";
          return Errc::TooLarge;
        }
        r = decode_for_resize(in, want_w, want_h);
        if (!r) return failed(r.error(), why);
      }
      img = std::move(*r);
      return Errc::Ok;
    };
    // info(buf, len, out) -> out = {u32 width, u32 height, u32 format}
    add("info", {V::I32, V::I32, V::I32}, [input](HostCall& c, std::string& why) {
      Rgb8 img;
      if (Errc e = input(c, why, img, false); e != Errc::Ok) return e;
      bool ok = true;
      auto out = guest(c, c.u32(2), 12, ok);
      if (!ok) return Errc::InvalidArgument;
      uint32_t v[3] = {img.width, img.height, static_cast<uint32_t>(img.format)};
      std::memcpy(out.data(), v, 12);
      return Errc::Ok;
    });
    // decode_rgb8(buf, len, dst, dst_len): the image at its own size
    add("decode_rgb8", {V::I32, V::I32, V::I32, V::I32}, [input](HostCall& c, std::string& why) {
      Rgb8 probe_only;
      if (Errc e = input(c, why, probe_only, false); e != Errc::Ok) return e;
      if (static_cast<uint64_t>(probe_only.width) * probe_only.height * 3 > c.u32(3))
        return Errc::BufferTooSmall;
      Rgb8 img;
      if (Errc e = input(c, why, img, true); e != Errc::Ok) return e;
      bool ok = true;
      auto out = guest(c, c.u32(2), static_cast<uint32_t>(img.pixels.size()), ok);
      if (!ok) return Errc::InvalidArgument;
      std::memcpy(out.data(), img.pixels.data(), img.pixels.size());
      return Errc::Ok;
    });
    auto resized = [input](HostCall& c, std::string& why, std::vector<uint8_t>& px) -> Errc {
      uint32_t w = c.u32(2), hh = c.u32(3);
      if (w == 0 || hh == 0 || w > 16384 || hh > 16384) return Errc::InvalidArgument;
      Rgb8 img;
      if (Errc e = input(c, why, img, true, w, hh); e != Errc::Ok) return e;
      px = resize(img, w, hh);
      return Errc::Ok;
    };
    // resize_rgb8(buf, len, width, height, dst, dst_len): RGB8, width x height
    add("resize_rgb8", {V::I32, V::I32, V::I32, V::I32, V::I32, V::I32},
        [resized](HostCall& c, std::string& why) {
          if (static_cast<uint64_t>(c.u32(2)) * c.u32(3) * 3 > c.u32(5))
            return Errc::BufferTooSmall;
          std::vector<uint8_t> px;
          if (Errc e = resized(c, why, px); e != Errc::Ok) return e;
          bool ok = true;
          auto out = guest(c, c.u32(4), static_cast<uint32_t>(px.size()), ok);
          if (!ok) return Errc::InvalidArgument;
          std::memcpy(out.data(), px.data(), px.size());
          return Errc::Ok;
        });
    // resize_f32(buf, len, width, height, norm, dst, dst_len): float32 RGB, with
    // norm 0: [0, 1], 1: [-1, 1], 2: [0, 255]
    add("resize_f32", {V::I32, V::I32, V::I32, V::I32, V::I32, V::I32, V::I32},
        [resized](HostCall& c, std::string& why) {
          if (c.u32(4) > 2) return Errc::InvalidArgument;
          if (static_cast<uint64_t>(c.u32(2)) * c.u32(3) * 12 > c.u32(6))
            return Errc::BufferTooSmall;
          std::vector<uint8_t> px;
          if (Errc e = resized(c, why, px); e != Errc::Ok) return e;
          bool ok = true;
          auto out = guest(c, c.u32(5), static_cast<uint32_t>(px.size() * 4), ok);
          if (!ok) return Errc::InvalidArgument;
          uint32_t norm = c.u32(4);
          for (size_t i = 0; i < px.size(); ++i) {
            float v = norm == 0   ? px[i] / 255.0f
                      : norm == 1 ? px[i] / 127.5f - 1.0f
                                  : static_cast<float>(px[i]);
            std::memcpy(out.data() + i * 4, &v, 4);
          }
          return Errc::Ok;
        });
    // encode(pixels, pixels_len, width, height, channels, format, out, out_cap, out_len_ptr)
    // writes the encoded length to *out_len_ptr even when out_cap is too small.
    add("encode", {V::I32, V::I32, V::I32, V::I32, V::I32, V::I32, V::I32, V::I32, V::I32},
        [failed](HostCall& c, std::string& why) {
          bool ok = true;
          auto px = guest(c, c.u32(0), c.u32(1), ok);
          auto len_out = guest(c, c.u32(8), 4, ok);
          if (!ok) return Errc::InvalidArgument;
          auto r = encode(px, c.u32(2), c.u32(3), c.u32(4), static_cast<Format>(c.u32(5)));
          if (!r) return failed(r.error(), why);
          const std::string& encoded = *r;
          uint32_t n = static_cast<uint32_t>(encoded.size());
          std::memcpy(len_out.data(), &n, 4);
          if (n > c.u32(7)) return Errc::BufferTooSmall;
          auto out = guest(c, c.u32(6), n, ok);
          if (!ok) return Errc::InvalidArgument;
          std::memcpy(out.data(), encoded.data(), n);
          return Errc::Ok;
        });
    return h;
  }();
  return *fns;
}

}  // namespace edgecar::image
