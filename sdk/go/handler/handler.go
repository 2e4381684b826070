// Package handler writes an HTTP handler for `edgecar serve` (manifest `abi: handler`)
// in Go:
//
//	func init() {
//		handler.Handle(func(r *handler.Request) int {
//			handler.SetHeader("Content-Type", "text/plain")
//			handler.Write([]byte("hello\n"))
//			return 200
//		})
//	}
//	func main() {}
//
// Build a reactor: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o f.wasm
//
// The ABI, as sdk/c/edgecar.h implements it for C: the module exports edgecar_alloc(size)
// -> pointer (memory for the request body) and edgecar_handle(pointer, length) -> HTTP
// status, and imports module "edgecar_http" (request_method, request_path,
// request_query, request_header, response_set_header, response_write).
package handler

import "unsafe"

// Request is what the handler gets: method, path, query (undecoded) and body.
type Request struct {
	Method, Path, Query string
	Body                []byte
}

// Header is the first value of a request header, and whether the request has one.
func (r *Request) Header(name string) (string, bool) {
	buf := make([]byte, 256)
	for {
		n := requestHeader(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)), unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n < 0 {
			return "", false
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), true
		}
		buf = make([]byte, n)
	}
}

var handle func(*Request) int

// Handle sets the function that answers every request (call it from init).
func Handle(f func(*Request) int) { handle = f }

// SetHeader sets a response header.
func SetHeader(name, value string) {
	responseSetHeader(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)),
		unsafe.Pointer(unsafe.StringData(value)), int32(len(value)))
}

// Write appends to the response body.
func Write(b []byte) {
	if len(b) > 0 {
		responseWrite(unsafe.Pointer(&b[0]), int32(len(b)))
	}
}

//go:wasmimport edgecar_http request_method
func requestMethod(buf unsafe.Pointer, cap int32) int32

//go:wasmimport edgecar_http request_path
func requestPath(buf unsafe.Pointer, cap int32) int32

//go:wasmimport edgecar_http request_query
func requestQuery(buf unsafe.Pointer, cap int32) int32

//go:wasmimport edgecar_http request_header
func requestHeader(name unsafe.Pointer, nameLen int32, buf unsafe.Pointer, cap int32) int32

//go:wasmimport edgecar_http response_set_header
func responseSetHeader(name unsafe.Pointer, nameLen int32, value unsafe.Pointer, valueLen int32)

//go:wasmimport edgecar_http response_write
func responseWrite(data unsafe.Pointer, n int32)

// field reads one of the request's strings, growing the buffer until it fits.
func field(get func(unsafe.Pointer, int32) int32) string {
	buf := make([]byte, 1024)
	for {
		n := get(unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n < 0 {
			return ""
		}
		if int(n) <= len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, n)
	}
}

// The body edgecar writes before edgecar_handle: kept reachable until then.
var pending []byte

//go:wasmexport edgecar_alloc
func edgecarAlloc(size int32) int32 {
	if size < 1 {
		size = 1
	}
	pending = make([]byte, size)
	return int32(uintptr(unsafe.Pointer(&pending[0])))
}

//go:wasmexport edgecar_handle
func edgecarHandle(ptr, n int32) int32 {
	if handle == nil {
		SetHeader("Content-Type", "text/plain")
		Write([]byte("no handler: call handler.Handle in init\n"))
		return 500
	}
	var body []byte
	if n > 0 && pending != nil && int32(uintptr(unsafe.Pointer(&pending[0]))) == ptr {
		body = pending[:n]
	}
	pending = nil
	r := &Request{Method: field(requestMethod), Path: field(requestPath), Query: field(requestQuery), Body: body}
	return int32(handle(r))
}
