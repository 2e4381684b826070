// WASI conformance guest in Rust: what std::fs, std::io and std::env do on WASI, in their
// successful and failing cases, one line per operation (the result, or the error's raw
// WASI errno), for tests/wasi/test_wasi_vs_wasmtime.py to compare between edgecar and
// wasmtime. Runs with a preopen "/sandbox" holding file.txt ("hello conformance\n") and
// dir/inner.txt ("inner\n"), env FOO=bar.
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

fn show<T: std::fmt::Debug>(label: &str, r: io::Result<T>) {
    match r {
        Ok(v) => println!("{}: ok {:?}", label, v),
        Err(e) => println!("{}: err {}", label, e.raw_os_error().unwrap_or(-1)),
    }
}

fn read_string(path: &str) -> io::Result<String> {
    let mut s = String::new();
    fs::File::open(path)?.read_to_string(&mut s)?;
    Ok(s)
}

fn listing(path: &str) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in fs::read_dir(path)? {
        let e = e?;
        let kind = e.file_type()?;
        let k = if kind.is_dir() { "dir" } else if kind.is_symlink() { "link" } else { "file" };
        names.push(format!("{}:{}", e.file_name().to_string_lossy(), k));
    }
    names.sort();
    Ok(names)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {:?}", args);
    println!("FOO: {:?}", std::env::var("FOO"));
    println!("MISSING: {:?}", std::env::var("MISSING").is_err());
    let d = "/sandbox";

    show("read file.txt", read_string("/sandbox/file.txt"));
    show("read missing", read_string("/sandbox/missing"));
    show("read a directory", read_string("/sandbox/dir"));
    show("read outside", read_string("/sandbox/../etc/passwd"));
    show("read absolute outside", read_string("/etc/passwd"));
    show("metadata file", fs::metadata("/sandbox/file.txt").map(|m| (m.is_file(), m.len())));
    show("metadata dir", fs::metadata("/sandbox/dir").map(|m| m.is_dir()));
    show("metadata missing", fs::metadata("/sandbox/nope"));
    show("listing", listing(d));
    show("listing a file", listing("/sandbox/file.txt"));

    show("create_dir", fs::create_dir("/sandbox/made"));
    show("create_dir again", fs::create_dir("/sandbox/made"));
    show("create_dir_all", fs::create_dir_all("/sandbox/made/a/b/c"));
    show("remove_dir not empty", fs::remove_dir("/sandbox/made"));
    show("remove_dir_all", fs::remove_dir_all("/sandbox/made"));
    show("remove_dir a file", fs::remove_dir("/sandbox/file.txt"));
    show("remove_file a dir", fs::remove_file("/sandbox/dir"));

    let w = "/sandbox/w.txt";
    show("write", fs::write(w, b"0123456789"));
    show("append", OpenOptions::new().append(true).open(w).and_then(|mut f| f.write_all(b"AB")));
    show("read back", read_string(w));
    show("create_new existing", OpenOptions::new().write(true).create_new(true).open(w));
    show("truncate", OpenOptions::new().write(true).truncate(true).open(w).map(|_| ()));
    show("size after truncate", fs::metadata(w).map(|m| m.len()));
    show("set_len", fs::OpenOptions::new().write(true).open(w).and_then(|f| f.set_len(5)));
    show("size after set_len", fs::metadata(w).map(|m| m.len()));
    show("set_len read-only", fs::File::open(w).and_then(|f| f.set_len(1)));
    show("write read-only", fs::File::open(w).and_then(|mut f| f.write_all(b"x")));
    show("read write-only", OpenOptions::new().write(true).open(w).and_then(|mut f| {
        let mut b = [0u8; 4];
        f.read(&mut b)
    }));
    show("seek and read", fs::File::open("/sandbox/file.txt").and_then(|mut f| {
        f.seek(SeekFrom::Start(6))?;
        let mut b = [0u8; 11];
        f.read_exact(&mut b)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }));
    show("seek before start", fs::File::open(w).and_then(|mut f| f.seek(SeekFrom::Current(-10))));
    show("rename", fs::rename(w, "/sandbox/renamed.txt"));
    show("rename missing", fs::rename(w, "/sandbox/renamed2.txt"));
    show("rename out", fs::rename("/sandbox/renamed.txt", "/sandbox/../renamed.txt"));
    show("hard_link", fs::hard_link("/sandbox/renamed.txt", "/sandbox/hard.txt"));
    show("nlink via metadata", fs::metadata("/sandbox/hard.txt").map(|m| m.len()));
    show("copy", fs::copy("/sandbox/file.txt", "/sandbox/copy.txt"));
    show("read_link a file", fs::read_link("/sandbox/file.txt"));
    show("canonicalize", fs::canonicalize("/sandbox/file.txt"));
    show("readonly permissions", fs::metadata("/sandbox/file.txt").map(|m| m.permissions().readonly()));
    show("listing after", listing(d));
    for f in ["renamed.txt", "hard.txt", "copy.txt"] {
        show(&format!("remove {}", f), fs::remove_file(format!("/sandbox/{}", f)));
    }
    show("stdout write", io::stdout().write_all(b"to stdout\n"));
    show("stderr write", io::stderr().write_all(b""));
    let mut input = String::new();
    show("stdin read", io::stdin().read_to_string(&mut input));
    println!("stdin: {:?}", input);
    std::process::exit(7);
}
