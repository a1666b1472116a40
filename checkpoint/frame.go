package checkpoint

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A checkpoint is one record per partition number holding everything the
// partition's state is, together with the two offsets that state covers,
// between a magic and a CRC-32C of all that precedes it. One record is
// written atomically (a file renamed into place, or one Kafka record), so
// state and offsets can never disagree: any checkpoint, even one a stale
// member wrote, is a correct point to resume from.
const magic = "DWC2"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Begin appends the magic that opens a checkpoint.
func Begin(dst []byte) []byte { return append(dst, magic...) }

// Seal appends the checksum of dst, which Begin opened.
func Seal(dst []byte) []byte {
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst, crcTable))
}

// Open checks a checkpoint's magic and checksum and returns its body,
// between the two.
func Open(data []byte) ([]byte, error) {
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != magic {
		return nil, errors.New("checkpoint: not a driftwatch checkpoint")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errors.New("checkpoint: checksum mismatch")
	}
	return body[len(magic):], nil
}
