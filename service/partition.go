package service

import (
	"context"
	"slices"
	"sync"

	"driftwatch/join"
	"driftwatch/monitor"
)

// partitionState is the state one input partition number owns: the windows of every
// model version and the join of every model over the records of
// predictions partition n and outcomes partition n (co-partitioned: both
// keyed by prediction id, equal partition counts), and the offsets of the
// two partitions that state covers. The two partitions' workers update it
// under mu, a fetch at a time, and a checkpoint reads it under mu, so a
// checkpoint always holds a state and exactly the offsets it covers.
type partitionState struct {
	n int32

	mu     sync.Mutex
	states map[*version]*monitor.Window
	joins  map[*model]*join.Join
	// Per model with a rollout: its arms, and in shadow mode the join
	// that pairs the candidate's predictions with stable's (rollout.go).
	arms  map[*model]*arms
	pairs map[*model]*join.Join
	// next is the next offset to read of the predictions (0) and outcomes
	// (1) partition; −1 while unknown (nothing read and no checkpoint).
	next [2]int64
	// dirty: changed since the last checkpoint.
	dirty bool
	// broken: a fetch changed the state but its dead letters were never
	// acknowledged, so its offsets cannot advance; no checkpoint is taken
	// any more (a restart re-reads from the last good one).
	broken bool
	// gone: released to another member; late callers leave it alone.
	gone bool
}

func (s *Service) newPartitionState(n int32) *partitionState {
	p := &partitionState{n: n, states: map[*version]*monitor.Window{}, joins: map[*model]*join.Join{}, next: [2]int64{-1, -1},
		arms: map[*model]*arms{}, pairs: map[*model]*join.Join{}}
	for _, m := range s.models {
		p.joins[m] = join.New(s.cfg.Join.MaxPending, s.cfg.Join.TTL, s.cfg.Join.MaxEarly, s.cfg.Join.EarlyTTL)
		if m.ro != nil {
			p.arms[m] = m.ro.newArms()
			p.pairs[m] = join.New(s.cfg.Join.MaxPending, s.cfg.Join.TTL, s.cfg.Join.MaxEarly, s.cfg.Join.EarlyTTL)
		}
		for _, v := range m.versions {
			p.states[v] = v.newState()
		}
	}
	return p
}

// topicIndex is the slot of a topic in partitionState.next.
func (s *Service) topicIndex(topic string) int {
	if topic == s.cfg.Topics.Outcomes {
		return 1
	}
	return 0
}

// owned returns the state of partition number n, if this member owns it.
func (s *Service) owned(n int32) *partitionState {
	s.partMu.Lock()
	defer s.partMu.Unlock()
	return s.parts[n]
}

// ownedParts lists the parts this member owns, by partition number.
func (s *Service) ownedParts() []*partitionState {
	s.partMu.Lock()
	defer s.partMu.Unlock()
	out := make([]*partitionState, 0, len(s.parts))
	for _, p := range s.parts {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *partitionState) int { return int(a.n - b.n) })
	return out
}

// assigned restores the newly assigned partitions from their checkpoints
// before any of their records is fetched, and returns where each topic
// partition resumes: the offsets the restored state covers. A partition
// without a checkpoint starts empty at the group's committed offset (which
// is never past a checkpoint: commits follow checkpoints).
func (s *Service) assigned(ctx context.Context, assigned map[string][]int32) map[string]map[int32]int64 {
	nums := map[int32]bool{}
	for _, ps := range assigned {
		for _, n := range ps {
			nums[n] = true
		}
	}
	out := map[string]map[int32]int64{}
	for n := range nums {
		p := s.owned(n)
		if p == nil {
			p = s.newPartitionState(n)
			if s.ckpt != nil {
				var err error
				p, err = s.restore(ctx, p)
				if ctx.Err() != nil {
					// The group is rebalancing again: the partition is about to
					// be revoked; its next owner restores it. Records fetched
					// meanwhile find no state and are left uncommitted.
					continue
				}
				if err != nil {
					s.metrics.RestoreFailures.Inc()
					s.log.Error("service: checkpoint not restored; the partition starts empty at its committed offset", "partition", n, "err", err)
					p = s.newPartitionState(n)
				}
			}
			s.partMu.Lock()
			s.parts[n] = p
			s.partMu.Unlock()
		}
		for i, topic := range []string{s.cfg.Topics.Predictions, s.cfg.Topics.Outcomes} {
			if p.next[i] >= 0 {
				if out[topic] == nil {
					out[topic] = map[int32]int64{}
				}
				out[topic][n] = p.next[i]
			}
		}
	}
	s.assignedOnce.Store(true)
	return out
}

// released saves the state of revoked partitions (this member still owns
// them until it returns) and forgets them; lost partitions are forgotten
// without a checkpoint, since another member may own them already.
func (s *Service) released(ctx context.Context, parts map[string][]int32, lost bool) {
	nums := map[int32]bool{}
	for _, ps := range parts {
		for _, n := range ps {
			nums[n] = true
		}
	}
	for n := range nums {
		p := s.owned(n)
		if p == nil {
			continue
		}
		if !lost && !s.killed.Load() {
			if err := s.checkpoint(ctx, p, true); err != nil {
				s.log.Warn("service: checkpoint on revoke failed; the next owner re-reads from the previous one", "partition", n, "err", err)
			}
		}
		p.mu.Lock()
		p.gone = true
		p.mu.Unlock()
		s.partMu.Lock()
		delete(s.parts, n)
		s.partMu.Unlock()
	}
}

// leader reports whether this member evaluates the alert rules: the owner
// of partition 0, so exactly one member of the group sends alerts, and its
// alert states travel with partition 0's checkpoint.
func (s *Service) leader() bool { return s.owned(0) != nil }

// merge evaluates a version over every partition: those this member owns
// as they are now, the others (remote, owned by other members) as of
// their latest checkpoints. The caller holds evalMu.
func (s *Service) merge(v *version, remote []*partitionState) monitor.Evaluation {
	states := []*monitor.Window{v.eval}
	parts := s.ownedParts()
	for _, p := range parts {
		p.mu.Lock()
		states = append(states, p.states[v])
	}
	for _, p := range remote {
		states = append(states, p.states[v])
	}
	ev := monitor.Merge(states, v.cfg.Drift.PSIEpsilon)
	for _, p := range parts {
		p.mu.Unlock()
	}
	return ev
}

// remoteParts decodes the latest checkpoints of the partitions other
// members own, reusing the last decoding of a checkpoint that did not
// change. The caller holds evalMu.
func (s *Service) remoteParts() []*partitionState {
	if s.ckpt == nil {
		return nil
	}
	latest := s.ckpt.Latest()
	var out []*partitionState
	for n, data := range latest {
		if s.owned(n) != nil || len(data) == 0 {
			continue
		}
		c := s.remote[n]
		if c == nil || &c.data[0] != &data[0] {
			p := s.newPartitionState(n)
			if _, err := s.decodeCheckpoint(data, p, false); err != nil {
				s.log.Warn("service: another member's checkpoint not merged", "partition", n, "err", err)
				continue
			}
			c = &remotePart{data: data, p: p}
			s.remote[n] = c
		}
		out = append(out, c.p)
	}
	return out
}

// remotePart is a decoded checkpoint of a partition another member owns.
type remotePart struct {
	data []byte
	p    *partitionState
}
