// A handler written in Rust with sdk/rust/edgecar: greets with the query and a header,
// echoes POST bodies.
fn handle(req: &edgecar::Request, res: &mut edgecar::Response) -> u16 {
    if req.method == "POST" {
        res.set_header("Content-Type", "application/octet-stream");
        res.write(&req.body);
        return 200;
    }
    res.set_header("Content-Type", "text/plain");
    let who = req.header("x-test").unwrap_or_else(|| "(none)".to_string());
    res.write(format!("hello from Rust: {} {}?{} x-test={}\n", req.method, req.path, req.query, who).as_bytes());
    200
}

edgecar::handler!(handle);
