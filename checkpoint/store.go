// Package checkpoint keeps `driftwatch serve`'s checkpoints: the stores (a
// directory, or a compacted Kafka topic), each keeping two generations per
// partition number, and the framing of one checkpoint (magic and
// checksum). What a checkpoint holds — the windows, joins and rollout arms
// of a partition — is encoded by its owner with the wire helpers; this
// package never looks inside.
package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/consumer"
)

// Store keeps the latest two checkpoints (generations) per partition
// number: a corrupt latest one costs one interval, not the whole state.
type Store interface {
	Save(ctx context.Context, n int32, data []byte) error
	// Load returns the checkpoints of n, newest first, the first the
	// latest that any save which returned before the call wrote, the
	// second the one before it (empty when there is none).
	Load(ctx context.Context, n int32) ([][]byte, error)
	// Latest returns the latest checkpoints known of every partition, for
	// merging the partitions other members own (nil when unsupported).
	Latest() map[int32][]byte
	Close()
}

// Dir keeps one file per partition in a local directory: written to a
// temporary file, synced, the current file renamed to the previous
// generation's name (PrevSuffix), and the new one renamed into place.
type Dir struct {
	dir   string
	mu    sync.Mutex
	cache map[int32]dirFile // Latest's last reads
}

// NewDir returns the store in dir, which it creates if need be.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: directory %q: %w", dir, err)
	}
	return &Dir{dir: dir}, nil
}

func (d *Dir) path(n int32) string {
	return filepath.Join(d.dir, keyPrefix+strconv.Itoa(int(n))+".ckpt")
}

// Save writes n's checkpoint; the one it replaces becomes the previous
// generation.
func (d *Dir) Save(_ context.Context, n int32, data []byte) error {
	tmp := d.path(n) + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A crash between the renames leaves only the previous
		// generation, which load then returns.
		if err = os.Rename(d.path(n), d.path(n)+PrevSuffix); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = os.Rename(tmp, d.path(n))
	}
	return err
}

// PrevSuffix ends the name of a partition's previous generation file.
const PrevSuffix = ".prev"

// Load returns n's checkpoints, newest first.
func (d *Dir) Load(_ context.Context, n int32) ([][]byte, error) {
	var gens [][]byte
	for _, path := range []string{d.path(n), d.path(n) + PrevSuffix} {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		gens = append(gens, data)
	}
	return gens, nil
}

// Latest reads the directory's current checkpoints, so members sharing
// the directory merge the partitions the others own, as with the topic
// store. A file whose size and modification time did not change is not
// read again: the same slice comes back, and the caller keeps its
// decoding.
func (d *Dir) Latest() map[int32][]byte {
	files, _ := filepath.Glob(filepath.Join(d.dir, keyPrefix+"*.ckpt"))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache == nil {
		d.cache = map[int32]dirFile{}
	}
	out := map[int32][]byte{}
	for _, file := range files {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), keyPrefix), ".ckpt"))
		if err != nil {
			continue
		}
		info, err := os.Stat(file)
		if err != nil {
			continue
		}
		c, ok := d.cache[int32(n)]
		if !ok || c.size != info.Size() || !c.mod.Equal(info.ModTime()) {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			c = dirFile{size: info.Size(), mod: info.ModTime(), data: data}
			d.cache[int32(n)] = c
		}
		out[int32(n)] = c.data
	}
	return out
}

// dirFile is a checkpoint file as last read by Latest.
type dirFile struct {
	size int64
	mod  time.Time
	data []byte
}

// Close releases nothing: a directory holds no connection.
func (d *Dir) Close() {}

// Topic keeps checkpoints in a compacted topic of one partition, key
// "GROUP/partition-N" and "GROUP/partition-N" + altSuffix, in turns, so
// compaction keeps two generations: the state belongs to the consumer group whose
// offsets it covers, so groups can share the topic (a new group starts
// from its own offsets, not from another's checkpoints). A tail reader follows the topic from its start and keeps
// the latest record per key: loads wait until it has read up to the end
// offset seen when they start, so they see every acknowledged save, and
// evaluations merge the partitions other members own from it.
type Topic struct {
	topic  string
	prefix string      // of this group's keys
	cl     *kgo.Client // produces and tails
	adm    *kadm.Client

	mu   sync.Mutex
	cond *sync.Cond
	seen int64 // next offset the tail will read
	last map[int32][]byte
	// prev is the generation before last (the other key's latest record),
	// lastAlt whether last was written under the alternate key.
	prev    map[int32][]byte
	lastAlt map[int32]bool
	done    chan struct{}
	stop    context.CancelFunc
}

// keyPrefix and the partition number name a checkpoint: a file, or after
// the group and a slash a record's key.
const keyPrefix = "partition-"

// altSuffix ends the key of every other checkpoint generation in the
// topic store.
const altSuffix = ".b"

// endRetryMin and endRetryMax bound the backoff of Load's end-offset
// lookup while the topic's metadata settles.
const (
	endRetryMin = 10 * time.Millisecond
	endRetryMax = time.Second
)

// maxCheckpointBytes bounds one checkpoint record (the topic's
// max.message.bytes).
const maxCheckpointBytes = 64 << 20

// NewTopic creates the compacted topic if it does not exist and starts
// reading it from its start.
func NewTopic(ctx context.Context, brokers []string, topic, group string, extra []kgo.Opt) (*Topic, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.ProducerBatchMaxBytes(maxCheckpointBytes), kgo.FetchMaxBytes(maxCheckpointBytes), kgo.BrokerMaxReadBytes(2 * maxCheckpointBytes),
		kgo.FetchMaxPartitionBytes(maxCheckpointBytes), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(time.Minute),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: client: %w", err)
	}
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{
		"cleanup.policy":    kadm.StringPtr("compact"),
		"max.message.bytes": kadm.StringPtr(strconv.Itoa(maxCheckpointBytes)),
	}, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		err = nil
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("checkpoint: topic %q: %w", topic, err)
	}
	tctx, cancel := context.WithCancel(context.Background())
	k := &Topic{topic: topic, prefix: group + "/" + keyPrefix, cl: cl, adm: adm, last: map[int32][]byte{},
		prev: map[int32][]byte{}, lastAlt: map[int32]bool{}, done: make(chan struct{}), stop: cancel}
	k.cond = sync.NewCond(&k.mu)
	go k.tail(tctx)
	return k, nil
}

func (k *Topic) tail(ctx context.Context) {
	defer close(k.done)
	for ctx.Err() == nil {
		fs := k.cl.PollFetches(ctx)
		k.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if n, ok := strings.CutPrefix(string(r.Key), k.prefix); ok {
				n, alt := strings.CutSuffix(n, altSuffix)
				if n, err := strconv.Atoi(n); err == nil {
					k.read(int32(n), alt, r.Value)
				}
			}
			k.seen = r.Offset + 1
		})
		k.cond.Broadcast()
		k.mu.Unlock()
	}
	k.mu.Lock()
	k.cond.Broadcast()
	k.mu.Unlock()
}

// read notes a checkpoint record of n in offset order. The key the
// latest record did not use holds the previous generation; the same key
// again replaces the latest (compaction would drop the older one).
func (k *Topic) read(n int32, alt bool, data []byte) {
	if last, ok := k.last[n]; ok && k.lastAlt[n] != alt {
		k.prev[n] = last
	}
	k.last[n], k.lastAlt[n] = data, alt
}

// Save produces n's checkpoint under the key the latest record did not
// use and waits for the acknowledgement.
func (k *Topic) Save(ctx context.Context, n int32, data []byte) error {
	// The other key than the latest record's, so the latest stays as the
	// previous generation.
	k.mu.Lock()
	key := k.prefix + strconv.Itoa(int(n))
	if _, ok := k.last[n]; ok && !k.lastAlt[n] {
		key += altSuffix
	}
	k.mu.Unlock()
	// The buffer is reused by the next checkpoint: the record gets a copy.
	r := &kgo.Record{Topic: k.topic, Partition: 0, Key: []byte(key), Value: slices.Clone(data)}
	if err := consumer.ProduceWait(ctx, k.cl, r); err != nil {
		return err
	}
	// Noted at once, so the next save alternates even before the tail
	// reads this record back (it notes it again then, harmlessly).
	k.mu.Lock()
	k.read(n, strings.HasSuffix(key, altSuffix), r.Value)
	k.mu.Unlock()
	return nil
}

// Load waits until the reader has caught up with the topic's end, then
// returns n's checkpoints, newest first.
func (k *Topic) Load(ctx context.Context, n int32) ([][]byte, error) {
	// The end offset, retried while the topic's metadata settles.
	var end kadm.ListedOffset
	for wait := endRetryMin; ; wait = min(2*wait, endRetryMax) {
		ends, err := k.adm.ListEndOffsets(ctx, k.topic)
		var ok bool
		if err == nil {
			end, ok = ends.Lookup(k.topic, 0)
			err = end.Err
		}
		if err == nil && ok {
			break
		}
		if err == nil {
			err = errors.New("no partition 0")
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("end offset of %s: %w", k.topic, err)
		case <-time.After(wait):
		}
	}
	stop := context.AfterFunc(ctx, func() {
		k.mu.Lock()
		k.cond.Broadcast()
		k.mu.Unlock()
	})
	defer stop()
	k.mu.Lock()
	defer k.mu.Unlock()
	for k.seen < end.Offset {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-k.done:
			return nil, errors.New("checkpoint reader stopped")
		default:
		}
		k.cond.Wait()
	}
	var gens [][]byte
	for _, data := range [][]byte{k.last[n], k.prev[n]} {
		if data != nil {
			gens = append(gens, data)
		}
	}
	return gens, nil
}

// Latest returns the latest checkpoint read of every partition.
func (k *Topic) Latest() map[int32][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.last)
}

// Close stops the reader and the client.
func (k *Topic) Close() {
	k.stop()
	<-k.done
	k.cl.Close()
}
