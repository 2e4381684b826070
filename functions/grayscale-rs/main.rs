//! grayscale, in Rust: the same function as functions/grayscale (C++), selectable in
//! demo/grayscale.yaml. Reads an image on stdin, writes its grey version (BT.601 luma) as
//! PNG, or GIF for a GIF input; under edgecar serve it answers with CGI headers, records
//! an event and applies the optional rate limit through Dapr (sdk/rust/edgecar).
use std::env;
use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use edgecar::{dapr, image};

/// BT.601 luma in fixed point: (77 R + 150 G + 29 B + 128) / 256.
fn luma(p: &[u8]) -> u8 {
    ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8) as u8
}

/// Built with `-C target-feature=+simd128` (functions/CMakeLists.txt): 16 pixels per step
/// with WebAssembly SIMD (core::arch::wasm32), the same arithmetic as luma(), which does
/// the remaining pixels.
#[cfg(target_feature = "simd128")]
fn to_grey(rgb: &[u8]) -> Vec<u8> {
    use core::arch::wasm32::*;
    let count = rgb.len() / 3;
    let mut grey = vec![0u8; count];
    let (kr, kg, kb, round) = (u16x8_splat(77), u16x8_splat(150), u16x8_splat(29), u16x8_splat(128));
    let mut i = 0;
    while i + 16 <= count {
        let p = &rgb[3 * i..3 * i + 48];
        // SAFETY: p holds 48 bytes; v128_load/v128_store accept unaligned addresses, and
        // grey[i..i + 16] is in bounds.
        unsafe {
            let a = v128_load(p.as_ptr() as *const v128);
            let b = v128_load(p.as_ptr().add(16) as *const v128);
            let c = v128_load(p.as_ptr().add(32) as *const v128);
            let r = i8x16_shuffle::<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29>(
                i8x16_shuffle::<0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0>(a, b), c);
            let g = i8x16_shuffle::<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30>(
                i8x16_shuffle::<1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0>(a, b), c);
            let bl = i8x16_shuffle::<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31>(
                i8x16_shuffle::<2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0>(a, b), c);
            let sum = |r: v128, g: v128, b: v128| u16x8_add(u16x8_add(u16x8_mul(r, kr), u16x8_mul(g, kg)), u16x8_add(u16x8_mul(b, kb), round));
            let lo = u16x8_shr(sum(u16x8_extend_low_u8x16(r), u16x8_extend_low_u8x16(g), u16x8_extend_low_u8x16(bl)), 8);
            let hi = u16x8_shr(sum(u16x8_extend_high_u8x16(r), u16x8_extend_high_u8x16(g), u16x8_extend_high_u8x16(bl)), 8);
            v128_store(grey.as_mut_ptr().add(i) as *mut v128, u8x16_narrow_i16x8(lo, hi));
        }
        i += 16;
    }
    for j in i..count {
        grey[j] = luma(&rgb[3 * j..3 * j + 3]);
    }
    grey
}

#[cfg(not(target_feature = "simd128"))]
fn to_grey(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3).map(luma).collect()
}

fn cgi() -> bool {
    env::var_os("GATEWAY_INTERFACE").is_some()
}

fn var(name: &str, default: &str) -> String {
    env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

fn fail(status: u16, reason: &str, message: &str) -> ! {
    if cgi() {
        print!("Status: {}\nContent-Type: application/json\n\n{{\"error\":\"{}\",\"message\":\"{}\"}}\n", status, reason, message.replace('"', "'"));
        std::process::exit(0);
    }
    eprintln!("{}", message);
    std::process::exit(1);
}

fn client() -> String {
    match env::var("HTTP_X_FORWARDED_FOR") {
        Ok(v) if !v.is_empty() => v.split(',').next().unwrap_or("").trim().to_string(),
        _ => var("REMOTE_ADDR", "local"),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// RATE_LIMIT_PER_MINUTE per client, counted in the state store with ETags.
fn rate_limit() {
    let limit: i64 = var("RATE_LIMIT_PER_MINUTE", "0").parse().unwrap_or(0);
    if !cgi() || limit <= 0 {
        return;
    }
    let store = var("STATE_STORE", "statestore");
    let key = format!("ratelimit|grayscale|{}|{}", client(), now() / 60);
    for _ in 0..8 {
        let got = dapr::state_get(&store, &key);
        if got.status != 200 && got.status != 204 {
            return;
        }
        let count: i64 = if got.status == 200 { got.text().trim().parse().unwrap_or(0) } else { 0 };
        if count >= limit {
            fail(429, "rate_limited", &format!("more than {} grayscale requests this minute from {}", limit, client()));
        }
        let saved = dapr::state_save(&store, &key, &(count + 1).to_string(), got.etag.as_deref().unwrap_or(""), true);
        if saved.ok() || saved.status != 409 {
            return;
        }
    }
}

/// Civil date and time (UTC) of a Unix time, for the event record.
fn rfc3339(t: u64) -> String {
    let (days, secs) = ((t / 86400) as i64, t % 86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

fn record(bytes: usize) {
    if !cgi() || var("RECORD_EVENTS", "off") != "on" {
        return;
    }
    let event = format!("{{\"operation\":\"grayscale\",\"bytes\":{},\"time\":\"{}\",\"caller\":\"{}\"}}", bytes, rfc3339(now()), client().replace('"', ""));
    let r = dapr::publish(&var("PUBSUB", "pubsub"), &var("EVENTS_TOPIC", "events"), event.as_bytes(), "application/json");
    if !r.ok() {
        eprintln!("recording the event failed: {} {}", r.status, r.text());
    }
}

fn main() {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() || input.is_empty() {
        fail(400, "empty", "no image in the request body");
    }
    rate_limit();
    let (info, rgb) = match image::decode_rgb8(&input) {
        Ok(v) => v,
        Err(image::Error::Unsupported) => fail(415, "unsupported", "not an image (JPEG, PNG, GIF, BMP or WebP expected)"),
        Err(image::Error::TooLarge) => fail(413, "too_large", "the image has too many pixels"),
        Err(_) => fail(400, "corrupt", "the image could not be decoded"),
    };
    let grey = to_grey(&rgb);
    let gif = info.format == Some(image::Format::Gif);
    let out = match image::encode(&grey, info.width, info.height, 1, if gif { image::Format::Gif } else { image::Format::Png }) {
        Ok(v) => v,
        Err(_) => fail(500, "encode", "encoding the grey image failed"),
    };
    record(input.len());
    let mut stdout = std::io::stdout();
    if cgi() {
        let _ = write!(stdout, "Content-Type: {}\n\n", if gif { "image/gif" } else { "image/png" });
    }
    let _ = stdout.write_all(&out);
}
