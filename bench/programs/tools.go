//go:build tools

// Go programs of bench/real_programs.py, built for wasip1 from the Go module proxy at the
// versions pinned in go.mod (go.sum holds their hashes).
package programs

import (
	_ "github.com/evanw/esbuild/cmd/esbuild"
	_ "github.com/google/go-jsonnet/cmd/jsonnet"
)
