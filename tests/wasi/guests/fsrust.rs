// A Rust guest: arguments, environment, files in a preopened directory, exit code.
use std::fs;
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let path = format!("{}/rust.txt", dir);
    let mut f = fs::File::create(&path).expect("create");
    writeln!(f, "written by rust").expect("write");
    drop(f);
    let mut s = String::new();
    fs::File::open(&path).expect("open").read_to_string(&mut s).expect("read");
    print!("{}", s);
    let mut names: Vec<String> = fs::read_dir(dir).expect("read_dir")
        .map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    println!("entries: {}", names.join(","));
    fs::remove_file(&path).expect("remove");
    println!("MODE={}", std::env::var("MODE").unwrap_or_default());
    std::process::exit(args.len() as i32);
}
