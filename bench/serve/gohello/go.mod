module edgecar.dev/bench/gohello

go 1.21
