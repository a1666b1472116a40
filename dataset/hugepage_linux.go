package dataset

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on amd64 and arm64.
const hugePage = 2 << 20

// MakeFloats returns a zeroed slice of n float64s for column data (columns
// here, a profile's samples in package profile). A large one starts on a
// huge page boundary and is advised for transparent huge pages before
// anything touches it: the Go heap does not ask for them, and with THP in
// "madvise" mode a 100 MB column set otherwise takes one page fault per 4 KiB,
// which on a virtual machine cost more system time than parsing took.
func MakeFloats(n int) []float64 {
	if n*8 < 4*hugePage {
		return make([]float64, n)
	}
	buf := make([]float64, n+hugePage/8)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	skip := int((hugePage-addr%hugePage)%hugePage) / 8
	buf = buf[skip : skip+n : skip+n]
	// Whole huge pages only; the tail stays on small pages. A hint: without
	// THP the memory is just ordinary.
	size := n * 8 &^ (hugePage - 1)
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), size), syscall.MADV_HUGEPAGE)
	return buf
}

// makeBytes is MakeFloats for bytes.
func makeBytes(n int) []byte {
	f := MakeFloats((n + 7) / 8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), n)
}
