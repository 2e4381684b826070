//! The edgecar_image host module (manifest `host_modules: [image]`): decoding JPEG, PNG,
//! GIF (first frame), BMP and WebP, resizing, and PNG/GIF encoding on the host. Same ABI
//! as `sdk/c/edgecar_image.h`.

#[link(wasm_import_module = "edgecar_image")]
extern "C" {
    #[link_name = "info"]
    fn raw_info(img: *const u8, len: u32, out: *mut u32) -> i32;
    #[link_name = "decode_rgb8"]
    fn raw_decode_rgb8(img: *const u8, len: u32, out: *mut u8, out_len: u32) -> i32;
    #[link_name = "resize_rgb8"]
    fn raw_resize_rgb8(img: *const u8, len: u32, w: u32, h: u32, out: *mut u8, out_len: u32) -> i32;
    #[link_name = "encode"]
    fn raw_encode(px: *const u8, len: u32, w: u32, h: u32, channels: u32, format: u32, out: *mut u8, cap: u32, out_len: *mut u32) -> i32;
}

/// Why an image operation failed (the host's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    InvalidArgument,
    Unsupported,
    Corrupt,
    TooLarge,
    BufferTooSmall,
    Other(i32),
}

fn check(code: i32) -> Result<(), Error> {
    match code {
        0 => Ok(()),
        1 => Err(Error::InvalidArgument),
        2 => Err(Error::Unsupported),
        3 => Err(Error::Corrupt),
        4 => Err(Error::TooLarge),
        5 => Err(Error::BufferTooSmall),
        c => Err(Error::Other(c)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg = 1,
    Png = 2,
    Gif = 3,
    Bmp = 4,
    WebP = 5,
}

/// Width, height and format, from the header.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    pub format: Option<Format>,
}

pub fn info(image: &[u8]) -> Result<Info, Error> {
    let mut out = [0u32; 3];
    check(unsafe { raw_info(image.as_ptr(), image.len() as u32, out.as_mut_ptr()) })?;
    let format = match out[2] {
        1 => Some(Format::Jpeg),
        2 => Some(Format::Png),
        3 => Some(Format::Gif),
        4 => Some(Format::Bmp),
        5 => Some(Format::WebP),
        _ => None,
    };
    Ok(Info { width: out[0], height: out[1], format })
}

/// The image at its own size as RGB8 rows.
pub fn decode_rgb8(image: &[u8]) -> Result<(Info, Vec<u8>), Error> {
    let i = info(image)?;
    let mut px = vec![0u8; i.width as usize * i.height as usize * 3];
    check(unsafe { raw_decode_rgb8(image.as_ptr(), image.len() as u32, px.as_mut_ptr(), px.len() as u32) })?;
    Ok((i, px))
}

/// Resized to width x height (antialiased bilinear, as Pillow's `resize(size, BILINEAR)`), RGB8.
pub fn resize_rgb8(image: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Error> {
    let mut px = vec![0u8; width as usize * height as usize * 3];
    check(unsafe { raw_resize_rgb8(image.as_ptr(), image.len() as u32, width, height, px.as_mut_ptr(), px.len() as u32) })?;
    Ok(px)
}

/// Encodes 1 (grey), 3 (RGB) or 4 (RGBA) channel pixels as PNG, or grey pixels as GIF.
pub fn encode(pixels: &[u8], width: u32, height: u32, channels: u32, format: Format) -> Result<Vec<u8>, Error> {
    let mut need = 0u32;
    let code = unsafe { raw_encode(pixels.as_ptr(), pixels.len() as u32, width, height, channels, format as u32, std::ptr::null_mut(), 0, &mut need) };
    if code != 5 {
        check(code)?;
    }
    let mut out = vec![0u8; need as usize];
    check(unsafe { raw_encode(pixels.as_ptr(), pixels.len() as u32, width, height, channels, format as u32, out.as_mut_ptr(), need, &mut need) })?;
    out.truncate(need as usize);
    Ok(out)
}
