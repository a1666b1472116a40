package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// IPC body compression (LZ4 frame or ZSTD) stores each buffer as an 8-byte
// little-endian prefix, the buffer's uncompressed length (-1: stored
// uncompressed), then the compressed bytes. arrow-go reads exactly the
// declared length and drops the rest, so a writer that puts another number
// there (arrow-js up to 21.2.0 writes the compressed length) yields short
// buffers and errors far from the cause: string offsets out of range, or a
// slice-bounds panic. After such an error, CheckCompressedLengths
// decompresses every buffer to name the cause.

// BufferLengthError is a compressed buffer whose declared uncompressed
// length disagrees with its decompressed size.
type BufferLengthError struct {
	Offset   int    // of the message in the stream or file
	Buffer   int    // index in the message's buffers
	Codec    string // "lz4" or "zstd"
	Declared int64
	Actual   int64 // decompressed size; with Over, more than this
	Over     bool
}

func (e *BufferLengthError) Error() string {
	actual := fmt.Sprint(e.Actual)
	if e.Over {
		actual = "more than " + actual
	}
	return fmt.Sprintf("%s-compressed buffer %d of the message at offset %d declares %d uncompressed bytes in its 8-byte prefix but decompresses to %s: "+
		"the writer put another length there (arrow-js up to 21.2.0 writes the compressed length); "+
		"write Arrow IPC without body compression and compress on the Kafka producer instead", e.Codec, e.Buffer, e.Offset, e.Declared, actual)
}

// CheckCompressedLengths walks the messages of an Arrow IPC stream or file
// in data and returns a *BufferLengthError for the first compressed buffer
// whose decompressed size is not the length its prefix declares, or nil.
// Decompression is bounded by limit bytes in all (buffers may overlap, so
// a small input could otherwise ask for any amount of work); messages it
// cannot frame, buffers it cannot decompress and what lies beyond the limit
// are left to the reader's own error.
func CheckCompressedLengths(data []byte, limit int) error {
	left := int64(limit)
	var zd *zstd.Decoder
	defer func() {
		if zd != nil {
			zd.Close()
		}
	}()
	return compressedBuffers(data, func(start, i, codec int, buf []byte) error {
		declared := int64(binary.LittleEndian.Uint64(buf))
		if declared == -1 {
			return nil
		}
		var r io.Reader
		name := "lz4"
		if codec == codecLZ4 {
			r = lz4.NewReader(bytes.NewReader(buf[8:]))
		} else {
			name = "zstd"
			if zstdWindows(buf[8:], uint64(maxZstdWindow)) != nil {
				return nil
			}
			if zd == nil {
				var err error
				if zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow),
					zstd.WithDecoderMaxMemory(uint64(limit)+1)); err != nil {
					return errStop
				}
			}
			if zd.Reset(bytes.NewReader(buf[8:])) != nil {
				return nil
			}
			r = zd
		}
		if declared > left {
			return errStop // the reader refuses to allocate it and says so, or beyond the budget
		}
		got, err := io.Copy(io.Discard, io.LimitReader(r, left+1))
		switch {
		case err != nil && !errors.Is(err, io.EOF):
			return nil // not decompressible: the reader's error says more
		case got != declared:
			e := &BufferLengthError{Offset: start, Buffer: i, Codec: name, Declared: declared, Actual: got}
			if got > left {
				e.Actual, e.Over = left, true
			}
			return e
		}
		left -= got
		return nil
	})
}

var errStop = errors.New("stop")

// compressedBuffers calls fn on every buffer (prefix included) of every
// compressed record or dictionary batch in the Arrow IPC stream or file
// data, with the message's offset, the buffer's index and the codec, until
// fn returns an error, which it returns (errStop as nil). It stops quietly
// at anything it cannot frame.
func compressedBuffers(data []byte, fn func(start, i, codec int, buf []byte) error) error {
	pos := 0
	if bytes.HasPrefix(data, []byte("ARROW1")) {
		pos = 8 // magic and padding; the file's messages follow as a stream
	}
	for pos < len(data) {
		start, rest := pos, data[pos:]
		if len(rest) < 8 {
			return nil
		}
		n, prefix := binary.LittleEndian.Uint32(rest), 4
		if n == ipcContinuation {
			n, prefix = binary.LittleEndian.Uint32(rest[4:]), 8
		}
		if n == 0 || n > maxMetadataLen || int(n) > len(rest)-prefix {
			return nil
		}
		meta := rest[prefix : prefix+int(n)]
		info, err := verifyMessage(meta)
		if err != nil || info.bodyLen < 0 || info.bodyLen > int64(len(rest)-prefix-int(n)) {
			return nil
		}
		body := rest[prefix+int(n) : prefix+int(n)+int(info.bodyLen)]
		pos += prefix + int(n) + int(info.bodyLen)
		if info.codec != codecLZ4 && info.codec != codecZSTD {
			continue
		}
		for i := range info.nbufs {
			at := info.bufs + 16*i
			off, ln := int64(binary.LittleEndian.Uint64(meta[at:])), int64(binary.LittleEndian.Uint64(meta[at+8:]))
			if off < 0 || ln < 8 || off > int64(len(body)) || ln > int64(len(body))-off {
				continue
			}
			if err := fn(start, i, info.codec, body[off:off+ln]); err != nil {
				if err == errStop {
					return nil
				}
				return err
			}
		}
	}
	return nil
}
