//! Dapr's building blocks (manifest `host_modules: [dapr]`): every call is a request to
//! Dapr's HTTP API, answered by the app's daprd or by edgecar's embedded Dapr. Same ABI as
//! `sdk/c/dapr.h`.

#[link(wasm_import_module = "dapr")]
extern "C" {
    #[link_name = "invoke"]
    fn raw_invoke(app: *const u8, al: i32, method: *const u8, ml: i32, verb: *const u8, vl: i32, body: *const u8, bl: i32, ct: *const u8, cl: i32, hd: *const u8, hl: i32) -> i32;
    #[link_name = "state_get"]
    fn raw_state_get(store: *const u8, sl: i32, key: *const u8, kl: i32) -> i32;
    #[link_name = "state_save"]
    fn raw_state_save(store: *const u8, sl: i32, key: *const u8, kl: i32, value: *const u8, vl: i32, etag: *const u8, el: i32, first_write: i32) -> i32;
    #[link_name = "state_delete"]
    fn raw_state_delete(store: *const u8, sl: i32, key: *const u8, kl: i32, etag: *const u8, el: i32, first_write: i32) -> i32;
    #[link_name = "publish"]
    fn raw_publish(pubsub: *const u8, pl: i32, topic: *const u8, tl: i32, data: *const u8, dl: i32, ct: *const u8, cl: i32) -> i32;
    #[link_name = "secret_get"]
    fn raw_secret_get(store: *const u8, sl: i32, key: *const u8, kl: i32) -> i32;
    #[link_name = "binding_invoke"]
    fn raw_binding_invoke(name: *const u8, nl: i32, op: *const u8, ol: i32, data: *const u8, dl: i32, meta: *const u8, ml: i32) -> i32;
    #[link_name = "response_status"]
    fn raw_response_status(h: i32) -> i32;
    #[link_name = "response_read"]
    fn raw_response_read(h: i32, buf: *mut u8, cap: i32) -> i32;
    #[link_name = "response_header"]
    fn raw_response_header(h: i32, name: *const u8, nl: i32, buf: *mut u8, cap: i32) -> i32;
    #[link_name = "response_close"]
    fn raw_response_close(h: i32) -> i32;
}

/// Dapr's answer: the HTTP status (503 when the sidecar is unreachable), ETag and body.
/// `status` is negative for guest mistakes (-1 bad buffer, -2 too many open responses,
/// -3 the dapr module not granted).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: i32,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn header(h: i32, name: &str) -> Option<String> {
    let n = unsafe { raw_response_header(h, name.as_ptr(), name.len() as i32, std::ptr::null_mut(), 0) };
    if n < 0 {
        return None;
    }
    let mut buf = vec![0u8; n as usize];
    unsafe { raw_response_header(h, name.as_ptr(), name.len() as i32, buf.as_mut_ptr(), n) };
    String::from_utf8(buf).ok()
}

fn take(h: i32) -> Response {
    if h < 0 {
        return Response { status: h, etag: None, content_type: None, body: Vec::new() };
    }
    let status = unsafe { raw_response_status(h) };
    let n = unsafe { raw_response_read(h, std::ptr::null_mut(), 0) }.max(0);
    let mut body = vec![0u8; n as usize];
    unsafe { raw_response_read(h, body.as_mut_ptr(), n) };
    let r = Response { status, etag: header(h, "ETag"), content_type: header(h, "Content-Type"), body };
    unsafe { raw_response_close(h) };
    r
}

macro_rules! s {
    ($x:expr) => {
        ($x.as_ptr(), $x.len() as i32)
    };
}

/// Service invocation: `method` is a path with an optional query; `headers` are
/// "Name: value" lines.
pub fn invoke(app: &str, method: &str, verb: &str, body: &[u8], content_type: &str, headers: &str) -> Response {
    let (a, al) = s!(app);
    let (m, ml) = s!(method);
    let (v, vl) = s!(verb);
    let (b, bl) = s!(body);
    let (c, cl) = s!(content_type);
    let (h, hl) = s!(headers);
    take(unsafe { raw_invoke(a, al, m, ml, v, vl, b, bl, c, cl, h, hl) })
}

/// 200 with the value and ETag, or 204 when the key has none.
pub fn state_get(store: &str, key: &str) -> Response {
    let (s, sl) = s!(store);
    let (k, kl) = s!(key);
    take(unsafe { raw_state_get(s, sl, k, kl) })
}

/// `value` is JSON text; `etag` "" for none. 204 on success, 409 on an ETag conflict.
pub fn state_save(store: &str, key: &str, value: &str, etag: &str, first_write: bool) -> Response {
    let (s, sl) = s!(store);
    let (k, kl) = s!(key);
    let (v, vl) = s!(value);
    let (e, el) = s!(etag);
    take(unsafe { raw_state_save(s, sl, k, kl, v, vl, e, el, first_write as i32) })
}

pub fn state_delete(store: &str, key: &str, etag: &str, first_write: bool) -> Response {
    let (s, sl) = s!(store);
    let (k, kl) = s!(key);
    let (e, el) = s!(etag);
    take(unsafe { raw_state_delete(s, sl, k, kl, e, el, first_write as i32) })
}

pub fn publish(pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> Response {
    let (p, pl) = s!(pubsub);
    let (t, tl) = s!(topic);
    let (d, dl) = s!(data);
    let (c, cl) = s!(content_type);
    take(unsafe { raw_publish(p, pl, t, tl, d, dl, c, cl) })
}

pub fn secret_get(store: &str, key: &str) -> Response {
    let (s, sl) = s!(store);
    let (k, kl) = s!(key);
    take(unsafe { raw_secret_get(s, sl, k, kl) })
}

pub fn binding_invoke(name: &str, operation: &str, data: &[u8], metadata_json: &str) -> Response {
    let (n, nl) = s!(name);
    let (o, ol) = s!(operation);
    let (d, dl) = s!(data);
    let (m, ml) = s!(metadata_json);
    take(unsafe { raw_binding_invoke(n, nl, o, ol, d, dl, m, ml) })
}
