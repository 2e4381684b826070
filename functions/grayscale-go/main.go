// grayscale in Go: the demo's grayscale function (functions/grayscale is the C++ one, the
// article's was a Go program), as a WASI command: the image on stdin (JPEG, PNG, GIF,
// BMP or WebP), the grey image out as PNG (GIF for a GIF), R = G = B = the ITU-R BT.601
// luma of each pixel. Decoding and encoding by the host's edgecar_image module.
//
//	GOOS=wasip1 GOARCH=wasm go build -o grayscale-go.wasm
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/edgecar/edgecar/sdk/go/image"
)

// fail ends the request: an HTTP status with a JSON error under edgecar serve (CGI), a
// message and exit code 1 under edgecar run.
func fail(status int, reason, message string) {
	if os.Getenv("GATEWAY_INTERFACE") != "" {
		fmt.Printf("Status: %d\nContent-Type: application/json\n\n{\"error\":%q,\"message\":%q}\n", status, reason, message)
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil || len(in) == 0 {
		fail(400, "empty", "no image in the request body")
	}
	rgb, info, err := image.DecodeRGB8(in)
	var e image.Error
	switch {
	case errors.As(err, &e) && e == image.Unsupported:
		fail(415, "unsupported", "not an image (JPEG, PNG, GIF, BMP or WebP expected)")
	case errors.As(err, &e) && e == image.TooLarge:
		fail(413, "too_large", "the image has too many pixels")
	case err != nil:
		fail(400, "corrupt", "the image could not be decoded")
	}
	grey := make([]byte, len(rgb)/3)
	for i := range grey {
		p := rgb[3*i : 3*i+3]
		// (77 R + 150 G + 29 B + 128) / 256: 0.299, 0.587, 0.114 in fixed point.
		grey[i] = byte((77*uint32(p[0]) + 150*uint32(p[1]) + 29*uint32(p[2]) + 128) >> 8)
	}
	format, ctype := uint32(image.PNG), "image/png"
	if info.Format == image.GIF {
		format, ctype = image.GIF, "image/gif"
	}
	out, err := image.Encode(grey, info.Width, info.Height, 1, format)
	if err != nil {
		fail(500, "encode", "encoding the grey image failed")
	}
	if os.Getenv("GATEWAY_INTERFACE") != "" {
		fmt.Printf("Content-Type: %s\n\n", ctype)
	}
	os.Stdout.Write(out)
}
