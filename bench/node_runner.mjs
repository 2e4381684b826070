// Runs a kernel's run(n) in Node's V8 and prints the checksum.
import { readFileSync } from "node:fs";
const [path, n] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(path), {});
console.log(instance.exports.run(Number(n)) >>> 0);
