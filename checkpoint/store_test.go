package checkpoint

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/broker"
)

// A corrupt latest record in the checkpoint topic falls back to the
// generation before it, which compaction keeps under the other key.
func TestTopicKeepsTwoGenerations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k, err := NewTopic(ctx, b.Addrs(), "ckpt-gen", "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, v := range []string{"one", "two", "three"} {
		if err := k.Save(ctx, 1, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh reader of the topic sees the last two, newest first.
	k2, err := NewTopic(ctx, b.Addrs(), "ckpt-gen", "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	gens, err := k2.Load(ctx, 1)
	if err != nil || len(gens) != 2 || string(gens[0]) != "three" || string(gens[1]) != "two" {
		t.Fatalf("generations %q, %v; want three, two", gens, err)
	}
	// Records of the old single-key layout and of other groups do not
	// confuse it.
	pr, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.ProduceSync(ctx, &kgo.Record{Topic: "ckpt-gen", Key: []byte("other/partition-1"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := k2.Save(ctx, 1, []byte("four")); err != nil {
		t.Fatal(err)
	}
	if gens, err := k.Load(ctx, 1); err != nil || len(gens) != 2 || string(gens[0]) != "four" || string(gens[1]) != "three" {
		t.Fatalf("generations %q, %v; want four, three", gens, err)
	}
}

// The directory keeps the latest two generations, newest first, and Latest
// hands back the same slice while the file is unchanged.
func TestDirKeepsTwoGenerations(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if gens, err := d.Load(ctx, 3); err != nil || len(gens) != 0 {
		t.Fatalf("generations %q, %v before any save; want none", gens, err)
	}
	for _, v := range []string{"one", "two", "three"} {
		if err := d.Save(ctx, 3, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	gens, err := d.Load(ctx, 3)
	if err != nil || len(gens) != 2 || string(gens[0]) != "three" || string(gens[1]) != "two" {
		t.Fatalf("generations %q, %v; want three, two", gens, err)
	}
	a, b := d.Latest(), d.Latest()
	if len(a) != 1 || string(a[3]) != "three" || &a[3][0] != &b[3][0] {
		t.Fatalf("latest %q then %q; want partition 3's latest, read once", a, b)
	}
}

// Open accepts what Begin and Seal framed and names a flipped byte or a
// foreign record.
func TestFrame(t *testing.T) {
	data := Seal(append(Begin(nil), "body"...))
	if body, err := Open(data); err != nil || string(body) != "body" {
		t.Fatalf("Open = %q, %v; want body", body, err)
	}
	data[len(data)/2] ^= 1
	if _, err := Open(data); err == nil || err.Error() != "checkpoint: checksum mismatch" {
		t.Fatalf("flipped byte: %v", err)
	}
	if _, err := Open([]byte("DWC1xxxxxxxx")); err == nil || err.Error() != "checkpoint: not a driftwatch checkpoint" {
		t.Fatalf("foreign record: %v", err)
	}
}
