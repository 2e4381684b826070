//! Classifies a 224x224 RGB8 tensor (stdin) with the model at /m/model.tflite through the
//! `wasi-nn` crate, and writes the output scores to stdout.
use std::io::{Read, Write};

fn main() {
    let model = std::fs::read("/m/model.tflite").expect("reading /m/model.tflite");
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("reading stdin");
    let dims = [1u32, 224, 224, 3];
    let mut out = vec![0u8; 1001];
    let n = unsafe {
        let graph = wasi_nn::load(&[&model], wasi_nn::GRAPH_ENCODING_TENSORFLOWLITE, wasi_nn::EXECUTION_TARGET_CPU).expect("load");
        let ctx = wasi_nn::init_execution_context(graph).expect("init_execution_context");
        let tensor = wasi_nn::Tensor { dimensions: &dims, type_: wasi_nn::TENSOR_TYPE_U8, data: &input };
        wasi_nn::set_input(ctx, 0, tensor).expect("set_input");
        wasi_nn::compute(ctx).expect("compute");
        wasi_nn::get_output(ctx, 0, out.as_mut_ptr(), out.len() as u32).expect("get_output")
    };
    std::io::stdout().write_all(&out[..n as usize]).expect("writing stdout");
}
