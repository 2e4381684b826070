// daprd, built from Dapr's own module at the version pinned in go.mod: `go install
// github.com/dapr/dapr/cmd/daprd@VERSION` is refused because Dapr's go.mod has replace
// directives, so this wrapper module repeats them and calls Dapr's entry point.
// Build with -tags allcomponents (as Dapr releases; stablecomponents lacks, e.g., the
// sqlite name resolver): without a tag, daprd has no components at all.
// scripts/install-dapr does this and caches the binary.
package main

import "github.com/dapr/dapr/cmd/daprd/app"

func main() {
	app.Run()
}
