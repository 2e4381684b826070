//! A Rust guest built with `-C target-feature=+simd128`: WebAssembly SIMD through
//! core::arch::wasm32 (integer, float, shuffle, saturating, narrowing, lane and memory
//! operations), checked against plain scalar code computing the same thing. Prints the
//! results and "simd ok", or exits 1 at the first difference.
#[cfg(not(target_feature = "simd128"))]
compile_error!("build with -C target-feature=+simd128");

use core::arch::wasm32::*;

fn lanes_i32(v: v128) -> [i32; 4] {
    [i32x4_extract_lane::<0>(v), i32x4_extract_lane::<1>(v), i32x4_extract_lane::<2>(v), i32x4_extract_lane::<3>(v)]
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) {
    if got != want {
        eprintln!("{}: got {:?}, want {:?}", what, got, want);
        std::process::exit(1);
    }
    println!("{}: {:?}", what, got);
}

fn main() {
    // A dot product of 16-bit vectors, SIMD (i32x4.dot_i16x8_s) against scalar.
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let a: Vec<i16> = (0..n * 8).map(|i| ((i * 7919) % 2001) as i16 - 1000).collect();
    let b: Vec<i16> = (0..n * 8).map(|i| ((i * 104729) % 1999) as i16 - 999).collect();
    let mut acc = i32x4_splat(0);
    for i in 0..n {
        // SAFETY: a and b hold n * 8 elements; v128_load accepts unaligned addresses.
        let (x, y) = unsafe { (v128_load(a.as_ptr().add(8 * i) as *const v128), v128_load(b.as_ptr().add(8 * i) as *const v128)) };
        acc = i32x4_add(acc, i32x4_dot_i16x8(x, y));
    }
    let simd: i32 = lanes_i32(acc).iter().fold(0i32, |s, v| s.wrapping_add(*v));
    let scalar: i32 = a.iter().zip(&b).fold(0i32, |s, (x, y)| s.wrapping_add(*x as i32 * *y as i32));
    check("dot", simd, scalar);

    // Floats: fused lanes of f32x4 (mul, add, sqrt, min with NaN and -0).
    let v = f32x4(1.5, -2.0, 9.0, 0.25);
    let r = f32x4_sqrt(f32x4_add(f32x4_mul(v, v), f32x4_splat(0.0)));
    check("sqrt(v*v)", [f32x4_extract_lane::<0>(r), f32x4_extract_lane::<1>(r), f32x4_extract_lane::<2>(r), f32x4_extract_lane::<3>(r)], [1.5, 2.0, 9.0, 0.25]);
    let m = f32x4_min(f32x4(f32::NAN, -0.0, 3.0, 1.0), f32x4(1.0, 0.0, -3.0, 1.0));
    check("min NaN", f32x4_extract_lane::<0>(m).is_nan(), true);
    check("min -0", f32x4_extract_lane::<1>(m).to_bits(), (-0.0f32).to_bits());
    check("min", [f32x4_extract_lane::<2>(m), f32x4_extract_lane::<3>(m)], [-3.0, 1.0]);

    // Bytes: shuffle, saturating add, narrowing, bitmask, all_true.
    let bytes = u8x16(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 240, 250);
    let rev = i8x16_shuffle::<15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0>(bytes, bytes);
    check("shuffle", u8x16_extract_lane::<0>(rev) as u32 + u8x16_extract_lane::<15>(rev) as u32 * 1000, 250);
    let sat = u8x16_add_sat(bytes, u8x16_splat(20));
    check("add_sat", [u8x16_extract_lane::<0>(sat), u8x16_extract_lane::<13>(sat), u8x16_extract_lane::<14>(sat)], [20, 150, 255]);
    let narrowed = u8x16_narrow_i16x8(i16x8(-5, 0, 100, 255, 256, 1000, -1000, 7), i16x8_splat(300));
    check("narrow", [u8x16_extract_lane::<0>(narrowed), u8x16_extract_lane::<3>(narrowed), u8x16_extract_lane::<4>(narrowed), u8x16_extract_lane::<7>(narrowed), u8x16_extract_lane::<8>(narrowed)], [0, 255, 255, 7, 255]);
    check("bitmask", u8x16_bitmask(bytes), 0b1110_0000_0000_0000);
    check("all_true", u8x16_all_true(bytes), false);
    println!("simd ok");
}
