package chunk

import (
	"reflect"
	"testing"
)

func TestBySize(t *testing.T) {
	f := func(n, size int, want []Range) {
		t.Helper()
		got, err := BySize(n, size)
		if err != nil {
			t.Fatalf("BySize(%d, %d): %v", n, size, err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("BySize(%d, %d) = %v, want %v", n, size, got, want)
		}
	}
	// NannyML's California housing analysis set with chunk_size=5000.
	f(8232, 5000, []Range{{0, 0, 4999}, {1, 5000, 8231}})
	f(5832, 5000, []Range{{0, 0, 4999}, {1, 5000, 5831}})
	f(10, 5, []Range{{0, 0, 4}, {1, 5, 9}})
	f(3, 5, []Range{{0, 0, 2}})
	f(0, 5, nil)
	if _, err := BySize(10, 0); err == nil {
		t.Fatal("BySize with size 0: no error")
	}
}

func TestByCount(t *testing.T) {
	got, err := ByCount(8232, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || got[0].Rows() != 823 || got[10].Rows() != 2 || got[10].End != 8231 {
		t.Fatalf("ByCount(8232, 10) = %v", got)
	}
	got, _ = ByCount(100, 4)
	if len(got) != 4 || got[3] != (Range{3, 75, 99}) {
		t.Fatalf("ByCount(100, 4) = %v", got)
	}
	if _, err := ByCount(3, 4); err == nil {
		t.Fatal("ByCount(3, 4): no error")
	}
	if w := Whole(7); len(w) != 1 || w[0].Rows() != 7 {
		t.Fatalf("Whole(7) = %v", w)
	}
}
