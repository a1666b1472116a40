package wire

import (
	"bytes"
	"testing"
)

// AppendFramed writes what AppendBytes writes, for bodies whose length
// takes one to three varint bytes.
func TestAppendFramed(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		body := bytes.Repeat([]byte{0xab}, n)
		enc := func(dst []byte) []byte { return append(dst, body...) }
		prefix := []byte("head")
		want := AppendBytes(append([]byte(nil), prefix...), body)
		got := AppendFramed(append([]byte(nil), prefix...), enc)
		if !bytes.Equal(got, want) {
			t.Fatalf("body of %d bytes: framed %d bytes, want %d", n, len(got), len(want))
		}
		r := Reader{B: got[len(prefix):]}
		if b := r.Bytes(); r.Err != nil || !bytes.Equal(b, body) || len(r.B) != 0 {
			t.Fatalf("body of %d bytes does not read back: %v", n, r.Err)
		}
	}
}
