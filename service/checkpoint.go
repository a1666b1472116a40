package service

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"driftwatch/checkpoint"
	"driftwatch/metrics"
	"driftwatch/rollout"
	"driftwatch/wire"
)

// A partition's checkpoint record, inside the checkpoint package's frame,
// holds in order: the partition number, the next offsets of predictions
// and outcomes, each model version's window state, each model's join
// state, the rollouts' arms and pairing joins (appendRollouts), the alert
// states, and on partition 0 the latched rollout decisions
// (appendDecisions). This file is the whole format.

// encodeCheckpoint writes p's checkpoint; alerts may be nil. Partition 0's
// carries the rollout decisions.
func (s *Service) encodeCheckpoint(dst []byte, p *partitionState, alerts []byte) []byte {
	dst = checkpoint.Begin(dst)
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
	return checkpoint.Seal(dst)
}

// decodeCheckpoint restores a checkpoint into p (fresh, not shared yet)
// and returns its alert states; restoreLeader takes partition 0's rollout
// decisions too (a remote partition's copy leaves them to its owner).
// Versions and models the configuration no longer has are skipped; ones it
// gained start empty.
func (s *Service) decodeCheckpoint(data []byte, p *partitionState, restoreLeader bool) (alerts []byte, err error) {
	body, err := checkpoint.Open(data)
	if err != nil {
		return nil, err
	}
	r := wire.Reader{B: body}
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
// exact. It returns the partition state restored (p, or a fresh one for an older
// generation, since a failed decode leaves p half-filled).
func (s *Service) restore(ctx context.Context, p *partitionState) (*partitionState, error) {
	start := time.Now()
	gens, err := s.ckpt.Load(ctx, p.n)
	if err != nil || len(gens) == 0 {
		return p, err
	}
	var errs []error
	for i, data := range gens {
		if i > 0 {
			p = s.newPartitionState(p.n)
		}
		alerts, err := s.decodeCheckpoint(data, p, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("partition %d checkpoint generation -%d: %w", p.n, i, err))
			continue
		}
		if len(errs) > 0 {
			s.metrics.RestoreFailures.Add(len(errs))
			s.log.Error("service: latest checkpoint not restored; restored the previous generation and replaying from its offsets",
				"partition", p.n, "err", errors.Join(errs...))
		}
		if len(alerts) > 0 && s.alerts != nil {
			if err := s.alerts.Restore(alerts); err != nil {
				s.log.Warn("service: alert states in the checkpoint not restored", "err", err)
			}
		}
		s.metrics.RestoreTime.Update(time.Since(start).Seconds())
		s.log.Info("service: partition restored from its checkpoint", "partition", p.n, "bytes", len(data), "generation", -i,
			"predictions_offset", p.next[0], "outcomes_offset", p.next[1])
		return p, nil
	}
	return p, errors.Join(errs...)
}

// checkpoint saves p (when it changed, or always with force) and then
// commits the offsets it covers for the group. Checkpoints are serialised:
// the periodic loop, revocations and the last one at shutdown.
func (s *Service) checkpoint(ctx context.Context, p *partitionState, force bool) error {
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
		s.metrics.EncodeTime.Update(time.Since(start).Seconds())
	}
	p.dirty = false
	p.mu.Unlock()

	if s.ckpt != nil {
		start := time.Now()
		if err := s.ckpt.Save(ctx, p.n, data); err != nil {
			p.mu.Lock()
			p.dirty = true
			p.mu.Unlock()
			s.metrics.CheckpointFailures.Inc()
			return fmt.Errorf("partition %d: %w", p.n, err)
		}
		s.metrics.CheckpointTime.Update(time.Since(start).Seconds())
		s.metrics.CheckpointBytes.Gauge(metrics.Labels("partition", strconv.Itoa(int(p.n)))).Set(float64(len(data)))
		s.metrics.Checkpoints.Inc()
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

// appendRollouts appends a partition's arms and pairing joins, per model
// with a rollout, keyed by the versions they compare.
func (s *Service) appendRollouts(dst []byte, p *partitionState) []byte {
	models := s.rolloutModels()
	dst = binary.AppendUvarint(dst, uint64(len(models)))
	for _, m := range models {
		a := p.arms[m]
		dst = wire.AppendString(dst, rolloutKey(m.ro))
		dst = binary.AppendVarint(dst, a.start)
		dst = binary.AppendVarint(dst, a.last)
		dst = append(dst, boolByte(a.started))
		dst = a.cand.AppendState(a.stable.AppendState(dst))
		dst = wire.AppendFramed(dst, p.pairs[m].AppendState)
	}
	return dst
}

// readRollouts restores what appendRollouts wrote into p; a rollout the
// config no longer has, or with other versions or start, is skipped.
func (s *Service) readRollouts(r *wire.Reader, p *partitionState) error {
	keys := s.rolloutsByKey()
	for range r.Count() {
		key, start, last, started := r.String(), r.Varint(), r.Varint(), r.Byte() == 1
		var stable, cand rollout.Arm
		rest, err := stable.RestoreState(r.B)
		if err == nil {
			rest, err = cand.RestoreState(rest)
		}
		if err != nil {
			return err
		}
		r.B = rest
		pairs := r.Bytes()
		if r.Err != nil {
			return r.Err
		}
		m := keys[key]
		if m == nil {
			continue
		}
		if _, err := p.pairs[m].RestoreState(pairs); err != nil {
			return fmt.Errorf("rollout of %q: %w", m.name, err)
		}
		*p.arms[m] = arms{start: start, last: last, started: started, stable: stable, cand: cand}
	}
	return r.Err
}

// appendDecisions appends the latched rollout decisions (partition 0's
// checkpoint carries them, as it carries the alert states).
func (s *Service) appendDecisions(dst []byte) []byte {
	models := s.rolloutModels()
	dst = binary.AppendUvarint(dst, uint64(len(models)))
	for _, m := range models {
		m.ro.mu.Lock()
		d := m.ro.decided
		m.ro.mu.Unlock()
		dst = wire.AppendString(dst, rolloutKey(m.ro))
		dst = wire.AppendString(dst, string(d.Decision))
		dst = binary.AppendVarint(dst, d.At.UnixNano())
		dst = wire.AppendString(dst, d.Reason)
	}
	return dst
}

// readDecisions restores latched decisions of rollouts still configured.
func (s *Service) readDecisions(r *wire.Reader) {
	keys := s.rolloutsByKey()
	for range r.Count() {
		key, dec, at, reason := r.String(), r.String(), r.Varint(), r.String()
		if m := keys[key]; m != nil && r.Err == nil && dec != "" {
			m.ro.mu.Lock()
			m.ro.decided = decision{Decision: rollout.Decision(dec), At: time.Unix(0, at), Reason: reason}
			m.ro.mu.Unlock()
		}
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
