package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// misdeclareLengths rewrites every compressed buffer's prefix to the
// compressed length, as arrow-js 21.2.0 writes it, and reports how many it
// changed.
func misdeclareLengths(t testing.TB, data []byte) int {
	t.Helper()
	changed := 0
	if err := compressedBuffers(data, func(_, _, _ int, buf []byte) error {
		if int64(binary.LittleEndian.Uint64(buf)) != -1 && int64(binary.LittleEndian.Uint64(buf)) != int64(len(buf)-8) {
			binary.LittleEndian.PutUint64(buf, uint64(len(buf)-8))
			changed++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return changed
}

// compressedEvents is an LZ4- or ZSTD-compressed stream of n events with
// compressible ids and a float feature.
func compressedEvents(t testing.TB, n int, opt ipc.Option) []byte {
	t.Helper()
	var rows []string
	for i := range n {
		rows = append(rows, fmt.Sprintf(`{"id": "prediction-%06d", "model": "credit", "income": %d.5}`, i, i%7))
	}
	return arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("income", f64)}, []string{"[" + strings.Join(rows, ",") + "]"}, opt)
}

// A compressed buffer whose prefix holds its compressed length, not its
// uncompressed one, is malformed with the cause named, for both codecs;
// correctly declared buffers decode.
func TestDecodeArrowMisdeclaredLength(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  ipc.Option
	}{{"lz4", ipc.WithLZ4()}, {"zstd", ipc.WithZstd()}} {
		msg := compressedEvents(t, 500, c.opt)
		b, err := decodeArrow(t, msg)
		if err != nil || b.Rows != 500 || b.ID[499] != "prediction-000499" {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := CheckCompressedLengths(msg, memLimit(len(msg))); err != nil {
			t.Fatalf("%s: a correct stream: %v", c.name, err)
		}
		bad := slices.Clone(msg)
		if n := misdeclareLengths(t, bad); n == 0 {
			t.Fatalf("%s: no buffer changed", c.name)
		}
		_, err = decodeArrow(t, bad)
		var le *BufferLengthError
		if ReasonOf(err) != ReasonMalformed || !errors.As(err, &le) || le.Codec != c.name || le.Declared == le.Actual ||
			!strings.Contains(err.Error(), fmt.Sprintf("declares %d uncompressed bytes in its 8-byte prefix but decompresses to %d", le.Declared, le.Actual)) ||
			!strings.Contains(err.Error(), "compress on the Kafka producer instead") {
			t.Fatalf("%s: got %v", c.name, err)
		}
		t.Logf("%s: %v", c.name, err)
	}
}

// The same from arrow-js 21.2.0 itself (interop/node/producer.mjs lz4): the
// message is malformed with the cause named, not "string offsets out of
// range".
func TestDecodeArrowJSCompressed(t *testing.T) {
	msg, err := os.ReadFile("../testdata/arrowjs/lz4_21.2.0.arrows")
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeArrow(t, msg)
	want := "events: malformed at offset 1672: arrow: lz4-compressed buffer 4 of the message at offset 1672 declares 29 uncompressed bytes in its 8-byte prefix but decompresses to 800"
	if ReasonOf(err) != ReasonMalformed || err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s...", err, want)
	}
}
