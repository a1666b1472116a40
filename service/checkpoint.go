package service

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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
	"driftwatch/wire"
)

// A checkpoint is one record per partition number holding everything the
// partition's state is — every version's window, every model's join and
// rollout arms, and on partition 0 the alert states and rollout decisions —
// together with the two offsets that state
// covers. One record is written atomically (a file renamed into place, or
// one Kafka record), so state and offsets can never disagree: any
// checkpoint, even one a stale member wrote, is a correct point to resume
// from.
const checkpointMagic = "DWC2"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encodeCheckpoint writes p's checkpoint; alerts may be nil. Partition 0's
// carries the rollout decisions.
func (s *Service) encodeCheckpoint(dst []byte, p *part, alerts []byte) []byte {
	dst = append(dst, checkpointMagic...)
	dst = binary.AppendUvarint(dst, uint64(p.n))
	dst = binary.AppendVarint(dst, p.next[0])
	dst = binary.AppendVarint(dst, p.next[1])
	versions := slices.SortedFunc(maps.Keys(p.states), func(a, b *version) int {
		return cmp.Or(strings.Compare(a.model.name, b.model.name), strings.Compare(a.name, b.name))
	})
	dst = binary.AppendUvarint(dst, uint64(len(versions)))
	for _, v := range versions {
		dst = wire.AppendString(wire.AppendString(dst, v.model.name), v.name)
		dst = wire.AppendFramed(dst, p.states[v].AppendState)
	}
	models := slices.SortedFunc(maps.Keys(p.joins), func(a, b *model) int { return strings.Compare(a.name, b.name) })
	dst = binary.AppendUvarint(dst, uint64(len(models)))
	for _, m := range models {
		dst = wire.AppendString(dst, m.name)
		dst = wire.AppendFramed(dst, p.joins[m].AppendState)
	}
	dst = s.appendRollouts(dst, p)
	dst = wire.AppendBytes(dst, alerts)
	if p.n == 0 {
		dst = s.appendDecisions(dst)
	} else {
		dst = binary.AppendUvarint(dst, 0)
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst, crcTable))
}

// decodeCheckpoint restores a checkpoint into p (fresh, not shared yet)
// and returns its alert states; restoreLeader takes partition 0's rollout
// decisions too (a remote partition's copy leaves them to its owner).
// Versions and models the configuration no longer has are skipped; ones it
// gained start empty.
func (s *Service) decodeCheckpoint(data []byte, p *part, restoreLeader bool) (alerts []byte, err error) {
	if len(data) < len(checkpointMagic)+4 || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return nil, errors.New("not a driftwatch checkpoint")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errors.New("checksum mismatch")
	}
	r := wire.Reader{B: body[len(checkpointMagic):]}
	if n := r.Uvarint(); r.Err == nil && int32(n) != p.n {
		return nil, fmt.Errorf("checkpoint of partition %d", n)
	}
	p.next[0], p.next[1] = r.Varint(), r.Varint()
	for range r.Count() {
		mn, vn, state := r.String(), r.String(), r.Bytes()
		if r.Err != nil {
			break
		}
		m := s.models[mn]
		if m == nil || m.versions[vn] == nil {
			s.log.Warn("service: checkpoint holds a version no longer configured; skipped", "model", mn, "version", vn)
			continue
		}
		if _, err := p.states[m.versions[vn]].RestoreState(state); err != nil {
			return nil, fmt.Errorf("model %q version %q: %w", mn, vn, err)
		}
	}
	for range r.Count() {
		mn, state := r.String(), r.Bytes()
		if r.Err != nil {
			break
		}
		if m := s.models[mn]; m != nil {
			if _, err := p.joins[m].RestoreState(state); err != nil {
				return nil, fmt.Errorf("model %q: %w", mn, err)
			}
		}
	}
	if err := s.readRollouts(&r, p); err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	alerts = r.Bytes()
	if p.n == 0 && restoreLeader {
		s.readDecisions(&r)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return alerts, nil
}

// restore loads p's checkpoint, if there is one, into p: the latest
// generation, or, when that one does not decode (a flipped byte fails its
// checksum), the previous one, counted in
// driftwatch_checkpoint_restore_errors_total. The previous generation's
// offsets are older, so the partition replays from them and counts stay
// exact. It returns the part restored (p, or a fresh one for an older
// generation, since a failed decode leaves p half-filled).
func (s *Service) restore(ctx context.Context, p *part) (*part, error) {
	start := time.Now()
	gens, err := s.ckpt.load(ctx, p.n)
	if err != nil || len(gens) == 0 {
		return p, err
	}
	var errs []error
	for i, data := range gens {
		if i > 0 {
			p = s.newPart(p.n)
		}
		alerts, err := s.decodeCheckpoint(data, p, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("partition %d checkpoint generation -%d: %w", p.n, i, err))
			continue
		}
		if len(errs) > 0 {
			s.metrics.GetOrCreateCounter("driftwatch_checkpoint_restore_errors_total").Add(len(errs))
			s.log.Error("service: latest checkpoint not restored; restored the previous generation and replaying from its offsets",
				"partition", p.n, "err", errors.Join(errs...))
		}
		if len(alerts) > 0 && s.alerts != nil {
			if err := s.alerts.Restore(alerts); err != nil {
				s.log.Warn("service: alert states in the checkpoint not restored", "err", err)
			}
		}
		s.restoreDuration.Update(time.Since(start).Seconds())
		s.log.Info("service: partition restored from its checkpoint", "partition", p.n, "bytes", len(data), "generation", -i,
			"predictions_offset", p.next[0], "outcomes_offset", p.next[1])
		return p, nil
	}
	return p, errors.Join(errs...)
}

// checkpoint saves p (when it changed, or always with force) and then
// commits the offsets it covers for the group. Checkpoints are serialised:
// the periodic loop, revocations and the last one at shutdown.
func (s *Service) checkpoint(ctx context.Context, p *part, force bool) error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if s.killed.Load() {
		return errors.New("service killed")
	}
	p.mu.Lock()
	if p.gone || p.broken || (!p.dirty && !force) {
		p.mu.Unlock()
		return nil
	}
	next := p.next
	var data []byte
	if s.ckpt != nil {
		start := time.Now()
		var alerts []byte
		if p.n == 0 && s.alerts != nil {
			alerts, _ = s.alerts.Snapshot()
		}
		data = s.encodeCheckpoint(s.ckptBuf[:0], p, alerts)
		s.ckptBuf = data
		s.ckptEncode.Update(time.Since(start).Seconds())
	}
	p.dirty = false
	p.mu.Unlock()

	if s.ckpt != nil {
		start := time.Now()
		if err := s.ckpt.save(ctx, p.n, data); err != nil {
			p.mu.Lock()
			p.dirty = true
			p.mu.Unlock()
			s.metrics.GetOrCreateCounter("driftwatch_checkpoint_errors_total").Inc()
			return fmt.Errorf("partition %d: %w", p.n, err)
		}
		s.ckptDuration.Update(time.Since(start).Seconds())
		s.metrics.GetOrCreateGauge(fmt.Sprintf(`driftwatch_checkpoint_bytes{partition="%d"}`, p.n), nil).Set(float64(len(data)))
		s.metrics.GetOrCreateCounter("driftwatch_checkpoints_total").Inc()
	}
	offsets := map[string]map[int32]int64{}
	for i, topic := range []string{s.cfg.Topics.Predictions, s.cfg.Topics.Outcomes} {
		if next[i] >= 0 {
			offsets[topic] = map[int32]int64{p.n: next[i]}
		}
	}
	if len(offsets) == 0 || s.cons == nil {
		return nil
	}
	// The commit only serves lag and tools: restores resume from the
	// checkpoint's offsets.
	return s.cons.Commit(ctx, offsets)
}

// checkpointAll checkpoints (and commits) every owned partition and
// returns how many succeeded and failed.
func (s *Service) checkpointAll(ctx context.Context, force bool) (saved, failed int) {
	for _, p := range s.ownedParts() {
		if err := s.checkpoint(ctx, p, force); err != nil {
			failed++
			s.log.Warn("service: checkpoint failed; retried at the next interval", "partition", p.n, "err", err)
			continue
		}
		saved++
	}
	return saved, failed
}

// checkpointLoop checkpoints every interval.
func (s *Service) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Checkpoint.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.checkpointAll(ctx, false)
		}
	}
}

// store keeps the latest two checkpoints (generations) per partition
// number: a corrupt latest one costs one interval, not the whole state.
type store interface {
	save(ctx context.Context, n int32, data []byte) error
	// load returns the checkpoints of n, newest first, the first the
	// latest that any save which returned before the call wrote, the
	// second the one before it (empty when there is none).
	load(ctx context.Context, n int32) ([][]byte, error)
	// latest returns the latest checkpoints known of every partition, for
	// merging the partitions other members own (nil when unsupported).
	latest() map[int32][]byte
	close()
}

// dirStore keeps one file per partition in a local directory: written to a
// temporary file, synced, the current file renamed to the previous
// generation's name (prevSuffix), and the new one renamed into place.
type dirStore struct {
	dir   string
	mu    sync.Mutex
	cache map[int32]dirFile // latest's last reads
}

func newDirStore(dir string) (*dirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("service: checkpoint directory: %w", err)
	}
	return &dirStore{dir: dir}, nil
}

func (d *dirStore) path(n int32) string {
	return filepath.Join(d.dir, keyPrefix+strconv.Itoa(int(n))+".ckpt")
}

func (d *dirStore) save(_ context.Context, n int32, data []byte) error {
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
		if err = os.Rename(d.path(n), d.path(n)+prevSuffix); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = os.Rename(tmp, d.path(n))
	}
	return err
}

// prevSuffix names the previous generation's file.
const prevSuffix = ".prev"

func (d *dirStore) load(_ context.Context, n int32) ([][]byte, error) {
	var gens [][]byte
	for _, path := range []string{d.path(n), d.path(n) + prevSuffix} {
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

// latest reads the directory's current checkpoints, so members sharing
// the directory merge the partitions the others own, as with the topic
// store. A file whose size and modification time did not change is not
// read again: the same slice comes back, and the caller keeps its
// decoding.
func (d *dirStore) latest() map[int32][]byte {
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

// dirFile is a checkpoint file as last read by latest.
type dirFile struct {
	size int64
	mod  time.Time
	data []byte
}

func (d *dirStore) close() {}

// kafkaStore keeps checkpoints in a compacted topic of one partition, key
// "GROUP/partition-N" and "GROUP/partition-N" + altSuffix, in turns, so
// compaction keeps two generations: the state belongs to the consumer group whose
// offsets it covers, so groups can share the topic (a new group starts
// from its own offsets, not from another's checkpoints). A tail reader follows the topic from its start and keeps
// the latest record per key: loads wait until it has read up to the end
// offset seen when they start, so they see every acknowledged save, and
// evaluations merge the partitions other members own from it.
type kafkaStore struct {
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

// maxCheckpointBytes bounds one checkpoint record (the topic's
// max.message.bytes).
const maxCheckpointBytes = 64 << 20

func newKafkaStore(ctx context.Context, brokers []string, topic, group string, extra []kgo.Opt) (*kafkaStore, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.ProducerBatchMaxBytes(maxCheckpointBytes), kgo.FetchMaxBytes(maxCheckpointBytes), kgo.BrokerMaxReadBytes(2 * maxCheckpointBytes),
		kgo.FetchMaxPartitionBytes(maxCheckpointBytes), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(time.Minute),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("service: checkpoint client: %w", err)
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
		return nil, fmt.Errorf("service: checkpoint topic %q: %w", topic, err)
	}
	tctx, cancel := context.WithCancel(context.Background())
	k := &kafkaStore{topic: topic, prefix: group + "/" + keyPrefix, cl: cl, adm: adm, last: map[int32][]byte{},
		prev: map[int32][]byte{}, lastAlt: map[int32]bool{}, done: make(chan struct{}), stop: cancel}
	k.cond = sync.NewCond(&k.mu)
	go k.tail(tctx)
	return k, nil
}

func (k *kafkaStore) tail(ctx context.Context) {
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
func (k *kafkaStore) read(n int32, alt bool, data []byte) {
	if last, ok := k.last[n]; ok && k.lastAlt[n] != alt {
		k.prev[n] = last
	}
	k.last[n], k.lastAlt[n] = data, alt
}

func (k *kafkaStore) save(ctx context.Context, n int32, data []byte) error {
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

func (k *kafkaStore) load(ctx context.Context, n int32) ([][]byte, error) {
	// The end offset, retried while the topic's metadata settles.
	var end kadm.ListedOffset
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
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

func (k *kafkaStore) latest() map[int32][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.last)
}

func (k *kafkaStore) close() {
	k.stop()
	<-k.done
	k.cl.Close()
}
