// A Go handler (abi: handler) for tests/go: echoes the request, counts visits in the
// state store through the dapr host module, and reads a header.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello-go.wasm
package main

import (
	"fmt"
	"strconv"

	"github.com/edgecar/edgecar/sdk/go/dapr"
	"github.com/edgecar/edgecar/sdk/go/handler"
)

func init() {
	handler.Handle(func(r *handler.Request) int {
		visits := 0
		if got, err := dapr.StateGet("statestore", "visits"); err == nil && got.Status == 200 {
			visits, _ = strconv.Atoi(string(got.Body))
		}
		visits++
		saved, err := dapr.StateSave("statestore", "visits", []byte(strconv.Itoa(visits)))
		if err != nil || saved.Status != 204 {
			handler.SetHeader("Content-Type", "text/plain")
			handler.Write([]byte(fmt.Sprintf("state save failed: %v %d %s\n", err, saved.Status, saved.Body)))
			return 500
		}
		agent, _ := r.Header("X-Test")
		handler.SetHeader("Content-Type", "text/plain")
		handler.Write([]byte(fmt.Sprintf("%s %s?%s body=%q x-test=%s visits=%d\n", r.Method, r.Path, r.Query, r.Body, agent, visits)))
		return 200
	})
}

func main() {}
