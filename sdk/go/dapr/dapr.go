// Package dapr is Dapr's building blocks for Go guests of edgecar (manifest:
// host_modules: [dapr]), as sdk/c/dapr.h gives them to C: each call is one request to
// Dapr's HTTP API, answered by the app's daprd or, without one, by edgecar's embedded
// Dapr. Status is that answer's HTTP status (503 when the sidecar cannot be reached).
package dapr

import (
	"fmt"
	"unsafe"
)

// Response is Dapr's answer: its HTTP status and body.
type Response struct {
	Status int
	Body   []byte
}

//go:wasmimport dapr invoke
func rawInvoke(app unsafe.Pointer, appLen int32, method unsafe.Pointer, methodLen int32, verb unsafe.Pointer, verbLen int32,
	body unsafe.Pointer, bodyLen int32, ctype unsafe.Pointer, ctypeLen int32, headers unsafe.Pointer, headersLen int32) int32

//go:wasmimport dapr state_get
func rawStateGet(store unsafe.Pointer, storeLen int32, key unsafe.Pointer, keyLen int32) int32

//go:wasmimport dapr state_save
func rawStateSave(store unsafe.Pointer, storeLen int32, key unsafe.Pointer, keyLen int32, value unsafe.Pointer, valueLen int32,
	etag unsafe.Pointer, etagLen int32, firstWrite int32) int32

//go:wasmimport dapr publish
func rawPublish(pubsub unsafe.Pointer, pubsubLen int32, topic unsafe.Pointer, topicLen int32, data unsafe.Pointer, dataLen int32,
	ctype unsafe.Pointer, ctypeLen int32) int32

//go:wasmimport dapr secret_get
func rawSecretGet(store unsafe.Pointer, storeLen int32, key unsafe.Pointer, keyLen int32) int32

//go:wasmimport dapr response_status
func rawStatus(h int32) int32

//go:wasmimport dapr response_read
func rawRead(h int32, buf unsafe.Pointer, cap int32) int32

//go:wasmimport dapr response_close
func rawClose(h int32) int32

func s(v string) (unsafe.Pointer, int32) {
	if v == "" {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(v)), int32(len(v))
}

func b(v []byte) (unsafe.Pointer, int32) {
	if len(v) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&v[0]), int32(len(v))
}

// answer turns a response handle into a Response (and closes it); a negative handle is
// a guest mistake (-1 a buffer outside memory, -2 too many open responses, -3 the
// function was not granted the dapr module).
func answer(h int32) (Response, error) {
	if h < 0 {
		return Response{}, fmt.Errorf("dapr: call refused (%d)", h)
	}
	defer rawClose(h)
	r := Response{Status: int(rawStatus(h))}
	n := rawRead(h, nil, 0)
	if n > 0 {
		r.Body = make([]byte, n)
		rawRead(h, unsafe.Pointer(&r.Body[0]), n)
	}
	return r, nil
}

// Invoke calls method of app through service invocation.
func Invoke(app, method, verb string, body []byte, contentType string) (Response, error) {
	ap, al := s(app)
	mp, ml := s(method)
	vp, vl := s(verb)
	bp, bl := b(body)
	cp, cl := s(contentType)
	return answer(rawInvoke(ap, al, mp, ml, vp, vl, bp, bl, cp, cl, nil, 0))
}

// StateGet reads key from a state store (status 204 when there is none).
func StateGet(store, key string) (Response, error) {
	sp, sl := s(store)
	kp, kl := s(key)
	return answer(rawStateGet(sp, sl, kp, kl))
}

// StateSave writes value under key (status 204 on success).
func StateSave(store, key string, value []byte) (Response, error) {
	sp, sl := s(store)
	kp, kl := s(key)
	vp, vl := b(value)
	return answer(rawStateSave(sp, sl, kp, kl, vp, vl, nil, 0, 0))
}

// Publish sends data to a pub/sub topic.
func Publish(pubsub, topic string, data []byte, contentType string) (Response, error) {
	pp, pl := s(pubsub)
	tp, tl := s(topic)
	dp, dl := b(data)
	cp, cl := s(contentType)
	return answer(rawPublish(pp, pl, tp, tl, dp, dl, cp, cl))
}

// SecretGet reads a secret (the body is Dapr's JSON object).
func SecretGet(store, key string) (Response, error) {
	sp, sl := s(store)
	kp, kl := s(key)
	return answer(rawSecretGet(sp, sl, kp, kl))
}
