// Package image is the edgecar_image host module for Go guests (manifest:
// host_modules: [image]): the host decodes JPEG, PNG, GIF (first frame), BMP and WebP to
// RGB8 pixels and encodes PNG or GIF, as sdk/c/edgecar_image.h describes.
package image

import (
	"fmt"
	"unsafe"
)

// Formats.
const (
	JPEG = 1
	PNG  = 2
	GIF  = 3
	BMP  = 4
	WEBP = 5
)

// Error is an edgecar_image error code.
type Error int32

const (
	InvalidArgument Error = 1
	Unsupported     Error = 2
	Corrupt         Error = 3
	TooLarge        Error = 4
	BufferTooSmall  Error = 5
)

func (e Error) Error() string {
	switch e {
	case InvalidArgument:
		return "invalid argument"
	case Unsupported:
		return "unsupported image format"
	case Corrupt:
		return "corrupt image"
	case TooLarge:
		return "image too large"
	case BufferTooSmall:
		return "buffer too small"
	}
	return fmt.Sprintf("edgecar_image error %d", int32(e))
}

func check(e int32) error {
	if e == 0 {
		return nil
	}
	return Error(e)
}

//go:wasmimport edgecar_image info
func info(img unsafe.Pointer, n uint32, out unsafe.Pointer) int32

//go:wasmimport edgecar_image decode_rgb8
func decodeRGB8(img unsafe.Pointer, n uint32, out unsafe.Pointer, outSize uint32) int32

//go:wasmimport edgecar_image encode
func encode(pixels unsafe.Pointer, n, width, height, channels, format uint32, out unsafe.Pointer, outSize uint32, outLen unsafe.Pointer) int32

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Info is an image's size and format, read from its header.
type Info struct{ Width, Height, Format uint32 }

// InfoOf reads the header of an encoded image.
func InfoOf(img []byte) (Info, error) {
	var i Info
	err := check(info(ptr(img), uint32(len(img)), unsafe.Pointer(&i)))
	return i, err
}

// DecodeRGB8 decodes an image at its own size: width*height*3 bytes, row by row.
func DecodeRGB8(img []byte) ([]byte, Info, error) {
	i, err := InfoOf(img)
	if err != nil {
		return nil, i, err
	}
	out := make([]byte, int(i.Width)*int(i.Height)*3)
	err = check(decodeRGB8(ptr(img), uint32(len(img)), ptr(out), uint32(len(out))))
	return out, i, err
}

// Encode encodes pixels (1 channel grey, 3 RGB, 4 RGBA; GIF: 1) as PNG or GIF.
func Encode(pixels []byte, width, height, channels, format uint32) ([]byte, error) {
	out := make([]byte, len(pixels)+4096)
	var n uint32
	e := encode(ptr(pixels), uint32(len(pixels)), width, height, channels, format, ptr(out), uint32(len(out)), unsafe.Pointer(&n))
	if Error(e) == BufferTooSmall {
		out = make([]byte, n)
		e = encode(ptr(pixels), uint32(len(pixels)), width, height, channels, format, ptr(out), uint32(len(out)), unsafe.Pointer(&n))
	}
	if err := check(e); err != nil {
		return nil, err
	}
	return out[:n], nil
}
