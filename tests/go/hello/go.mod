module github.com/edgecar/edgecar/tests/go/hello

go 1.24

require github.com/edgecar/edgecar/sdk/go v0.0.0

replace github.com/edgecar/edgecar/sdk/go => ../../../sdk/go
