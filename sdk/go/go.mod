// edgecar's guest SDK for Go (GOOS=wasip1 GOARCH=wasm, Go 1.24 or later for
// //go:wasmexport). Not published: use it with a replace directive, as
// functions/grayscale-go does.
module github.com/edgecar/edgecar/sdk/go

go 1.24
