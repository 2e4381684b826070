//! edgecar guest SDK for Rust: HTTP handlers for `edgecar serve` (manifest `abi: handler`),
//! the same ABI as `sdk/c/edgecar.h`.
//!
//! ```ignore
//! fn hello(req: &edgecar::Request, res: &mut edgecar::Response) -> u16 {
//!     res.set_header("Content-Type", "text/plain");
//!     res.write(format!("hello from {}\n", req.path).as_bytes());
//!     200
//! }
//! edgecar::handler!(hello);
//! ```
//! Build as a `cdylib` for `wasm32-wasi`.
//!
//! Also: [`image`] (the edgecar_image host module) and [`dapr`] (Dapr's building blocks),
//! usable from handlers and from WASI commands alike.

pub mod dapr;
pub mod image;

#[link(wasm_import_module = "edgecar_http")]
extern "C" {
    fn request_method(buf: *mut u8, cap: i32) -> i32;
    fn request_path(buf: *mut u8, cap: i32) -> i32;
    fn request_query(buf: *mut u8, cap: i32) -> i32;
    fn request_header(name: *const u8, name_len: i32, buf: *mut u8, cap: i32) -> i32;
    fn response_set_header(name: *const u8, name_len: i32, value: *const u8, value_len: i32);
    fn response_write(data: *const u8, len: i32);
}

/// The request as the handler sees it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
}

impl Request {
    /// A request header's value (names are case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let n = unsafe { request_header(name.as_ptr(), name.len() as i32, std::ptr::null_mut(), 0) };
        if n < 0 {
            return None;
        }
        let mut buf = vec![0u8; n as usize];
        unsafe { request_header(name.as_ptr(), name.len() as i32, buf.as_mut_ptr(), n) };
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// The response under construction: headers and body go straight to the host.
pub struct Response {
    _private: (),
}

impl Response {
    pub fn set_header(&mut self, name: &str, value: &str) {
        unsafe { response_set_header(name.as_ptr(), name.len() as i32, value.as_ptr(), value.len() as i32) }
    }
    pub fn write(&mut self, data: &[u8]) {
        unsafe { response_write(data.as_ptr(), data.len() as i32) }
    }
}

fn field(get: unsafe extern "C" fn(*mut u8, i32) -> i32) -> String {
    let n = unsafe { get(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n.max(0) as usize];
    unsafe { get(buf.as_mut_ptr(), n.max(0)) };
    String::from_utf8_lossy(&buf).into_owned()
}

#[doc(hidden)]
pub fn alloc(size: i32) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity((size.max(1)) as usize);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

#[doc(hidden)]
pub fn handle(ptr: *mut u8, len: i32, f: fn(&Request, &mut Response) -> u16) -> i32 {
    let len = len.max(0) as usize;
    // The host filled the buffer edgecar_alloc returned: take ownership of it.
    let body = unsafe { Vec::from_raw_parts(ptr, len, len.max(1)) };
    let req = Request { method: field(request_method), path: field(request_path), query: field(request_query), body };
    let mut res = Response { _private: () };
    f(&req, &mut res) as i32
}

/// Exports `edgecar_alloc` and `edgecar_handle` for a handler function
/// `fn(&Request, &mut Response) -> u16` (the HTTP status).
#[macro_export]
macro_rules! handler {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn edgecar_alloc(size: i32) -> *mut u8 {
            $crate::alloc(size)
        }
        #[no_mangle]
        pub extern "C" fn edgecar_handle(ptr: *mut u8, len: i32) -> i32 {
            $crate::handle(ptr, len, $f)
        }
    };
}
