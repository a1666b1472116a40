//go:build unix

package dataset

import (
	"os"
	"syscall"
)

// mapFile maps a file read-only, so a large CSV is parsed in place by every
// core instead of first being copied by one. The caller unmaps it once the
// table no longer refers to its bytes (CSV parsing copies every string).
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	if size == 0 {
		return nil, func() {}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() { syscall.Munmap(data) }, nil
}
